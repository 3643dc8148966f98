package server

import (
	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

func stringCommands() []*Command {
	return []*Command{
		{Name: "get", Arity: 2, Flags: FlagReadOnly | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdGet, Group: "string", Since: "1.0.0", Categories: []string{"read", "string", "fast"}},
		{Name: "set", Arity: -3, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSet, Group: "string", Since: "1.0.0", Categories: []string{"write", "string", "slow"}},
	}
}

func cmdGet(c *Ctx) {
	o := c.Lookup(c.Args[1])
	if o == nil {
		c.S.Stats.KeyspaceMisses.Add(1)
		c.W.Null()
		return
	}
	c.S.Stats.KeyspaceHits.Add(1)
	if o.Type != store.TypeString {
		c.Error(resp.ErrWrongType)
		return
	}
	c.W.Bulk(o.Str)
}

// cmdSet is a placeholder handling plain SET key value; options come with the strings work.
func cmdSet(c *Ctx) {
	if len(c.Args) != 3 {
		c.Error(resp.ErrSyntax)
		return
	}
	c.DB.Set(c.Args[1], store.NewString(append([]byte(nil), c.Args[2]...)))
	c.Modified(c.Args[1])
	c.W.OK()
}
