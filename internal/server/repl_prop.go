package server

import (
	"strconv"

	"github.com/redcluster/redcluster/internal/replication"
)

// Propagation: how an executed write reaches the replication stream
// (replication.md "The command stream"; Redis 7.0's call() and
// alsoPropagate). A command that changed the dataset (Ctx.Dirty > 0) is
// fed as it was received, unless its handler gave another form with
// Propagate (relative expiry times become absolute, a random pop becomes
// the removal of what was popped, a blocking pop its non-blocking twin):
// the replica must reach the same state without consulting a clock or a
// random source. Keys deleted by expiry or eviction are fed as DEL. Feeding
// happens while the command still holds its slot locks, so the stream
// orders conflicting commands as they ran.

// Propagating reports whether the command's writes are being fed to a
// replication stream; handlers build a rewritten form only when it is true.
func (c *Ctx) Propagating() bool { return c.feeding }

// Propagate adds a command to what this command propagates, replacing the
// default (the command as received). Calling it several times propagates
// several commands, wrapped in MULTI/EXEC like Redis's alsoPropagate. The
// arguments are copied into the stream before the command returns; they
// may alias the request.
func (c *Ctx) Propagate(args ...[]byte) {
	c.propSet = true
	if c.feeding {
		c.props = append(c.props, replication.Op{DB: c.DB.ID, Args: args})
	}
}

// PreventPropagation keeps the command out of the stream although it
// changed the dataset (Redis's preventCommandPropagation).
func (c *Ctx) PreventPropagation() { c.propSet = true }

// propagate feeds what the command propagates. Inside EXEC the commands
// are collected and fed together, wrapped in MULTI/EXEC, when EXEC ends.
func (s *Server) propagate(c *Ctx) {
	if !c.feeding {
		return
	}
	ops := c.props
	if !c.propSet {
		if c.Dirty == 0 {
			return
		}
		ops = append(c.C.rc.opBuf[:0], replication.Op{DB: c.DB.ID, Args: c.Args})
	}
	if len(ops) == 0 {
		return
	}
	if c.inExec {
		// The queued arguments belong to the transaction; rewritten forms
		// are fresh allocations. Both outlive the command.
		c.C.rc.execOps = append(c.C.rc.execOps, ops...)
		return
	}
	if c == &c.C.ctx && c.C.lc != nil {
		// The command runs on an event loop (the Ctx of the client being
		// served, whose lc only its serving goroutine reads): the loop
		// sends the stream once at the end of its iteration
		// (flushReplStream).
		c.C.rc.woff = s.repl.master.FeedMultiDeferred(ops)
	} else {
		c.C.rc.woff = s.repl.master.FeedMulti(ops)
	}
	clear(c.C.rc.opBuf[:1])
}

// flushReplStream sends the replicas what commands fed with
// FeedMultiDeferred left (replication.Master.Flush: a non-blocking write
// to each idle replica's socket, else a wake-up of its writer); an event
// loop calls it at the end of each iteration.
func (s *Server) flushReplStream() {
	if m := s.repl.master; m != nil {
		m.Flush()
	}
}

// feedExec feeds the commands a transaction propagated, as one
// MULTI ... EXEC block, while EXEC still holds its locks.
func (s *Server) feedExec(cl *Client) {
	if len(cl.rc.execOps) == 0 {
		return
	}
	if cl.lc != nil {
		cl.rc.woff = s.repl.master.FeedMultiDeferred(cl.rc.execOps)
	} else {
		cl.rc.woff = s.repl.master.FeedMulti(cl.rc.execOps)
	}
	clear(cl.rc.execOps)
	cl.rc.execOps = cl.rc.execOps[:0]
}

// feedingNow reports whether writes are fed to a stream (see Ctx.feeding).
func (s *Server) feedingNow() bool {
	return s.repl.master != nil && s.repl.master.Feeding()
}

var (
	bDel       = []byte("DEL")
	bPexpireat = []byte("PEXPIREAT")
	bSet       = []byte("SET")
	bPXAT      = []byte("PXAT")
	bKeepTTL   = []byte("KEEPTTL")
	bPersist   = []byte("PERSIST")
	bLPop      = []byte("LPOP")
	bRPop      = []byte("RPOP")
	bLMove     = []byte("LMOVE")
	bSRem      = []byte("SREM")
	bZPopMin   = []byte("ZPOPMIN")
	bZPopMax   = []byte("ZPOPMAX")
	bHSet      = []byte("HSET")
	bRPopLPush = []byte("RPOPLPUSH")
	// Redis's shared.left and shared.right, which a served BLMOVE
	// propagates, are lower case.
	bLeft  = []byte("left")
	bRight = []byte("right")
)

// feedDeletion propagates the deletion of a key that expired or was
// evicted (propagateDeletion: DEL, as lazyfree-lazy-expire and
// lazyfree-lazy-eviction default to no). The caller holds the key's slot
// lock.
func (s *Server) feedDeletion(db int, key string) {
	if !s.feedingNow() {
		return
	}
	s.repl.master.Feed(db, [][]byte{bDel, []byte(key)})
}

// int64Arg formats n as a command argument.
func int64Arg(n int64) []byte { return strconv.AppendInt(nil, n, 10) }

// propagateCount propagates name key n (LPOP/RPOP/ZPOPMIN/ZPOPMAX with a
// count: what LMPOP, BLMPOP, ZMPOP and BZMPOP become).
func propagateCount(c *Ctx, name, key []byte, n int64) {
	if c.feeding {
		c.Propagate(name, key, int64Arg(n))
	}
}

// propagateKey propagates name key (DEL, PERSIST, LPOP, ZPOPMIN ...).
func propagateKey(c *Ctx, name, key []byte) {
	if c.feeding {
		c.Propagate(name, key)
	}
}

// propagateExpireAt propagates a TTL change of key as PEXPIREAT key ms,
// or DEL key when the time is already past (the key was deleted).
func propagateExpireAt(c *Ctx, key []byte, ms int64, deleted bool) {
	if !c.feeding {
		c.propSet = true
		return
	}
	if deleted {
		c.Propagate(bDel, key)
		return
	}
	c.Propagate(bPexpireat, key, int64Arg(ms))
}
