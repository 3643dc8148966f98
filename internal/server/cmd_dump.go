package server

// SAVE, BGSAVE, DUMP, RESTORE and RESTORE-ASKING.

import (
	"errors"

	"github.com/redcluster/redcluster/internal/rdb"
	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

// persistCommands are the RDB commands (serverCommands adds them).
func persistCommands() []*Command {
	return []*Command{
		{Name: "save", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagNoAsyncLoading | FlagNoMulti, Handler: cmdSave,
			Group: "server", Since: "1.0.0", Categories: []string{"admin", "slow", "dangerous"}},
		{Name: "bgsave", Arity: -1, Flags: FlagAdmin | FlagNoScript | FlagNoAsyncLoading, Handler: cmdBgsave,
			Group: "server", Since: "1.0.0", Categories: []string{"admin", "slow", "dangerous"}},
		{Name: "dump", Arity: 2, Flags: FlagReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdDump,
			Group: "generic", Since: "2.6.0", Categories: []string{"keyspace", "read", "slow"}},
		{Name: "restore", Arity: -4, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdRestore,
			Group: "generic", Since: "2.6.0", Categories: []string{"keyspace", "write", "slow", "dangerous"}},
		{Name: "restore-asking", Arity: -4, Flags: FlagWrite | FlagDenyOOM | FlagAsking, FirstKey: 1, LastKey: 1, Step: 1,
			Handler: cmdRestore, Group: "server", Since: "3.0.0", Categories: []string{"keyspace", "write", "slow", "dangerous"}},
	}
}

func cmdSave(c *Ctx) {
	switch err := c.S.saveSync(); {
	case err == nil:
		c.W.OK()
	case errors.Is(err, errBgsaveInProgress):
		c.Error(err.Error())
	default:
		c.Error("ERR")
	}
}

// cmdBgsave is BGSAVE [SCHEDULE]. Inside a transaction the save is
// scheduled for the cron, as Redis does.
func cmdBgsave(c *Ctx) {
	if len(c.Args) > 1 && (len(c.Args) != 2 || !keyArgIs(c.Args[1], "schedule")) {
		c.Error(resp.ErrSyntax)
		return
	}
	s := c.S
	p := &s.persist
	p.mu.Lock()
	running := p.bgRunning
	p.mu.Unlock()
	switch {
	case running:
		c.Error(errBgsaveInProgress.Error())
	case c.InExec():
		s.scheduleBgsave()
		c.W.Status("Background saving scheduled")
	case s.bgsave() == nil:
		c.W.Status("Background saving started")
	default:
		c.Error(errBgsaveInProgress.Error())
	}
}

// dumpOptions are the encoding settings of DUMP payloads.
func (s *Server) dumpOptions() *rdb.EncoderOptions {
	return s.rdbOptions()
}

// pinEncoding makes the RDB form of o's value follow its current
// encoding, as Redis writes objects: a hash, set or sorted set converted
// to a hash table or skiplist stays so when it shrinks back under the
// thresholds.
func pinEncoding(o *store.Object, v *rdb.Value) {
	enc, ok := o.Val.(store.Encoder)
	if !ok {
		return
	}
	switch enc.Encoding() {
	case "hashtable", "skiplist":
		v.Encoding = rdb.EncodingTable
	case "listpack", "intset":
		v.Encoding = rdb.EncodingCompact
	}
}

func cmdDump(c *Ctx) {
	key := c.Args[1]
	o := c.LookupRead(key)
	if o == nil {
		c.W.Null()
		return
	}
	var ent rdb.Entry
	if !objectToEntry(o, string(key), c.Now, &ent) {
		c.Error("ERR unknown type object")
		return
	}
	pinEncoding(o, &ent.Value)
	payload, err := rdb.Dump(&ent.Value, c.S.dumpOptions())
	if err != nil {
		c.Error("ERR " + err.Error())
		return
	}
	c.W.Bulk(payload)
}

// Errors of RESTORE, worded as Redis 7.0 sends them.
const (
	restoreErrBusyKey = "BUSYKEY Target key name already exists."
	restoreErrTTL     = "ERR Invalid TTL value, must be >= 0"
	restoreErrIdle    = "ERR Invalid IDLETIME value, must be >= 0"
	restoreErrFreq    = "ERR Invalid FREQ value, must be >= 0 and <= 255"
)

var bAbsTTL = []byte("ABSTTL")

// cmdRestore is RESTORE (and RESTORE-ASKING) key ttl payload [REPLACE]
// [ABSTTL] [IDLETIME seconds] [FREQ frequency].
func cmdRestore(c *Ctx) {
	replace, absttl := false, false
	idle, freq := int64(-1), int64(-1)
	for j := 4; j < len(c.Args); j++ {
		more := len(c.Args) - j - 1
		a := c.Args[j]
		switch {
		case keyArgIs(a, "replace"):
			replace = true
		case keyArgIs(a, "absttl"):
			absttl = true
		case keyArgIs(a, "idletime") && more >= 1 && freq == -1:
			v, ok := resp.ParseInt(c.Args[j+1])
			if !ok {
				c.Error(resp.ErrNotInteger)
				return
			}
			if v < 0 {
				c.Error(restoreErrIdle)
				return
			}
			idle = v
			j++
		case keyArgIs(a, "freq") && more >= 1 && idle == -1:
			v, ok := resp.ParseInt(c.Args[j+1])
			if !ok {
				c.Error(resp.ErrNotInteger)
				return
			}
			if v < 0 || v > 255 {
				c.Error(restoreErrFreq)
				return
			}
			freq = v
			j++
		default:
			c.Error(resp.ErrSyntax)
			return
		}
	}
	key := c.Args[1]
	if !replace && c.Lookup(key) != nil {
		c.Error(restoreErrBusyKey)
		return
	}
	ttl, ok := resp.ParseInt(c.Args[2])
	if !ok {
		c.Error(resp.ErrNotInteger)
		return
	}
	if ttl < 0 {
		c.Error(restoreErrTTL)
		return
	}
	v, err := rdb.Restore(c.Args[3], nil)
	if err != nil {
		if errors.Is(err, rdb.ErrDumpPayload) {
			c.Error(rdb.ErrDumpPayload.Error())
		} else {
			c.Error(rdb.ErrBadDataFormat.Error())
		}
		return
	}
	o, ok := c.S.entryToObject(&rdb.Entry{Value: v, Idle: -1, Freq: -1}, c.Now)
	if !ok {
		// a stream: a type redcluster does not hold
		c.Error(rdb.ErrBadDataFormat.Error())
		return
	}
	deleted := replace && c.DB.Delete(key, c.Now)
	if ttl != 0 && !absttl {
		ttl += c.Now
	}
	if ttl != 0 && alreadyExpired(c, ttl) {
		if deleted {
			c.Modified(key)
			c.Propagate(bDel, key)
		}
		c.W.OK()
		return
	}
	o.Expire = ttl
	if idle >= 0 {
		if _, policy := c.S.memoryLimits(); !policyIsLFU(policy) {
			o.LRU = uint32(max(int64(store.LRUClock(c.Now))-idle, 0))
		}
	}
	// freq: redcluster keeps no LFU counter (OBJECT FREQ derives one)
	c.Set(key, o)
	c.Modified(key)
	if ttl != 0 && !absttl && c.Propagating() {
		// propagated with the absolute time, as Redis 7.0 does
		args := make([][]byte, 0, len(c.Args)+1)
		args = append(args, c.Args[0], key, int64Arg(ttl))
		args = append(args, c.Args[3:]...)
		c.Propagate(append(args, bAbsTTL)...)
	}
	c.W.OK()
}
