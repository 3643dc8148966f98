package server

import (
	"strconv"
)

func connectionCommands() []*Command {
	return []*Command{
		{Name: "ping", Arity: -1, Flags: FlagFast | FlagSentinel, Handler: cmdPing, Group: "connection", Since: "1.0.0", Categories: []string{"fast", "connection"}},
		{Name: "echo", Arity: 2, Flags: FlagLoading | FlagStale | FlagFast, Handler: cmdEcho, Group: "connection", Since: "1.0.0", Categories: []string{"fast", "connection"}},
		{Name: "quit", Arity: -1, Flags: FlagAllowBusy | FlagNoAuth | FlagLoading | FlagStale | FlagFast | FlagNoScript, Handler: cmdQuit, Group: "connection", Since: "1.0.0", Categories: []string{"fast", "connection"}},
		{Name: "select", Arity: 2, Flags: FlagLoading | FlagStale | FlagFast, Handler: cmdSelect, Group: "connection", Since: "1.0.0", Categories: []string{"fast", "connection"}},
	}
}

func cmdPing(c *Ctx) {
	if len(c.Args) > 2 {
		c.ArityError()
		return
	}
	if c.C.hasSubscriptions() && c.W.Proto == 2 {
		c.W.Array(2)
		c.W.BulkString("pong")
		if len(c.Args) == 2 {
			c.W.Bulk(c.Args[1])
		} else {
			c.W.BulkString("")
		}
		return
	}
	if len(c.Args) == 2 {
		c.W.Bulk(c.Args[1])
		return
	}
	c.W.Status("PONG")
}

func cmdEcho(c *Ctx) { c.W.Bulk(c.Args[1]) }

func cmdQuit(c *Ctx) {
	c.W.OK()
	c.C.closing = true
}

func cmdSelect(c *Ctx) {
	n, err := strconv.Atoi(string(c.Args[1]))
	if err != nil {
		c.Error("ERR value is not an integer or out of range")
		return
	}
	if c.S.Router != nil && n != 0 {
		c.Error("ERR SELECT is not allowed in cluster mode")
		return
	}
	if n < 0 || n >= len(c.S.KS.DBs) {
		c.Error("ERR DB index is out of range")
		return
	}
	c.C.DB = n
	c.W.OK()
}
