package server

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/redcluster/redcluster/internal/replication"
	"github.com/redcluster/redcluster/internal/slots"
)

// watchedKey is one WATCHed key of a client.
type watchedKey struct {
	db  int
	key string
}

// watchRegistry maps watched keys to the clients watching them, so that a
// write can invalidate their transactions (Redis's touchWatchedKey).
type watchRegistry struct {
	count atomic.Int64 // fast path: no watched keys at all
	mu    sync.Mutex
	keys  map[watchedKey]map[*Client]struct{}
}

func (s *Server) touchWatched(db int, key []byte) {
	if s.watch.count.Load() == 0 {
		return
	}
	s.touchWatchedString(db, string(key))
}

func (s *Server) touchWatchedString(db int, key string) {
	if s.watch.count.Load() == 0 {
		return
	}
	s.watch.mu.Lock()
	for c := range s.watch.keys[watchedKey{db, key}] {
		c.WatchDirty.Store(true)
	}
	s.watch.mu.Unlock()
}

// TouchAllWatched invalidates every watching client of db (-1: all dbs), as
// FLUSHDB, FLUSHALL and SWAPDB do.
func (s *Server) TouchAllWatched(db int) {
	if s.watch.count.Load() == 0 {
		return
	}
	s.watch.mu.Lock()
	for wk, cs := range s.watch.keys {
		if db < 0 || wk.db == db {
			for c := range cs {
				c.WatchDirty.Store(true)
			}
		}
	}
	s.watch.mu.Unlock()
}

func (s *Server) watchKey(c *Client, db int, key string) {
	wk := watchedKey{db, key}
	for _, w := range c.Watched {
		if w == wk {
			return
		}
	}
	s.watch.mu.Lock()
	if s.watch.keys == nil {
		s.watch.keys = make(map[watchedKey]map[*Client]struct{})
	}
	m := s.watch.keys[wk]
	if m == nil {
		m = make(map[*Client]struct{})
		s.watch.keys[wk] = m
	}
	m[c] = struct{}{}
	s.watch.count.Add(1)
	s.watch.mu.Unlock()
	c.Watched = append(c.Watched, wk)
}

func (s *Server) unwatchAll(c *Client) {
	if len(c.Watched) > 0 {
		s.watch.mu.Lock()
		for _, wk := range c.Watched {
			if m := s.watch.keys[wk]; m != nil {
				delete(m, c)
				if len(m) == 0 {
					delete(s.watch.keys, wk)
				}
				s.watch.count.Add(-1)
			}
		}
		s.watch.mu.Unlock()
	}
	c.Watched = nil
	c.WatchDirty.Store(false)
}

func (s *Server) discardTransaction(c *Client) {
	c.InMulti = false
	c.MultiDirty = false
	c.Queue = nil
	s.unwatchAll(c)
}

// execSlots returns the sorted slots of every queued command's keys.
func (s *Server) execSlots(c *Client) ([]int, bool) {
	var out []int
	seen := map[int]bool{}
	var pos [16]int
	for _, q := range c.Queue {
		for _, p := range q.cmd.KeyPositions(q.args, pos[:]) {
			if p < len(q.args) {
				sl := slots.KeySlot(q.args[p])
				if !seen[sl] {
					seen[sl] = true
					out = append(out, sl)
				}
			}
		}
	}
	sort.Ints(out)
	return out, len(out) > 1
}

// execLockSlots returns the sorted slots EXEC locks when no queued command
// needs them all: those of the queued commands' keys and of the watched keys.
func (s *Server) execLockSlots(c *Client) []int {
	out, _ := s.execSlots(c)
	if len(c.Watched) == 0 {
		return out
	}
	for _, wk := range c.Watched {
		out = append(out, slots.KeySlot([]byte(wk.key)))
	}
	sort.Ints(out)
	uniq := out[:0]
	for i, sl := range out {
		if i == 0 || sl != out[i-1] {
			uniq = append(uniq, sl)
		}
	}
	return uniq
}

// watchedKeyExpired reports whether a key c watches has a TTL that passed
// since WATCH (a key already expired then was deleted by WATCH itself), as
// Redis 7.0's isWatchedKeyExpired: EXEC then fails even though nothing
// deleted the key yet. The caller holds the slot locks of the watched keys.
func (s *Server) watchedKeyExpired(c *Client, now int64) bool {
	for _, wk := range c.Watched {
		if o := s.KS.DBs[wk.db].Peek([]byte(wk.key)); o != nil && o.Expire != 0 && o.Expire <= now {
			return true
		}
	}
	return false
}

// needsAllSlots reports whether a queued command walks the whole keyspace,
// so EXEC must hold every slot lock while it runs.
func needsAllSlots(cmd *Command) bool { return cmd.Flags&flagAllSlots != 0 }

// flagAllSlots marks keyless commands that read or write the whole
// keyspace (FLUSHALL, KEYS, SCAN, DBSIZE, RANDOMKEY, SWAPDB ...). It is not
// printed by COMMAND INFO.
const flagAllSlots Flag = 1 << 31

func multiCommands() []*Command {
	return []*Command{
		{Name: "multi", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagAllowBusy, Handler: cmdMulti, Group: "transactions", Since: "1.2.0"},
		{Name: "exec", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagSkipSlowlog, Handler: cmdExec, Group: "transactions", Since: "1.2.0"},
		{Name: "discard", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagAllowBusy, Handler: cmdDiscard, Group: "transactions", Since: "2.0.0"},
		{Name: "watch", Arity: -2, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagAllowBusy, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdWatch, Group: "transactions", Since: "2.2.0"},
		{Name: "unwatch", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagAllowBusy, Handler: cmdUnwatch, Group: "transactions", Since: "2.2.0"},
	}
}

func cmdMulti(c *Ctx) {
	if c.C.InMulti {
		c.Error("ERR MULTI calls can not be nested")
		return
	}
	c.C.InMulti = true
	c.C.MultiDirty = false
	c.C.Queue = nil
	c.W.OK()
}

func cmdDiscard(c *Ctx) {
	if !c.C.InMulti {
		c.Error("ERR DISCARD without MULTI")
		return
	}
	c.S.discardTransaction(c.C)
	c.W.OK()
}

func cmdWatch(c *Ctx) {
	if c.C.InMulti {
		c.Error("ERR WATCH inside MULTI is not allowed")
		return
	}
	// A key already expired when watched counts as touched only if it
	// changes later; looking it up now applies lazy expiry first.
	for _, k := range c.Args[1:] {
		c.Lookup(k)
		c.S.watchKey(c.C, c.DB.ID, string(k))
	}
	c.W.OK()
}

func cmdUnwatch(c *Ctx) {
	c.S.unwatchAll(c.C)
	c.W.OK()
}

func cmdExec(c *Ctx) {
	cl := c.C
	if !cl.InMulti {
		c.Error("ERR EXEC without MULTI")
		return
	}
	if cl.MultiDirty {
		c.S.discardTransaction(cl)
		c.Error("EXECABORT Transaction discarded because of previous errors.")
		return
	}
	s := c.S
	queue := cl.Queue
	all := false
	for _, q := range queue {
		if needsAllSlots(q.cmd) {
			all = true
		}
	}
	var slotList []int
	if all {
		s.KS.LockAll()
	} else {
		// The watched keys' slots too: EXEC checks whether they expired.
		slotList = s.execLockSlots(cl)
		s.KS.LockSlots(slotList)
	}
	if s.watchedKeyExpired(cl, c.Now) {
		cl.WatchDirty.Store(true)
	}
	if cl.WatchDirty.Load() {
		if all {
			s.KS.UnlockAll()
		} else {
			s.KS.UnlockSlots(slotList)
		}
		s.discardTransaction(cl)
		c.W.NullArray()
		return
	}
	cl.InMulti = false
	cl.Queue = nil
	c.W.Array(len(queue))
	sink := s.feedingNow()
	if sink {
		s.execExpiry.add(cl, slotList, all)
	}
	for _, q := range queue {
		s.callLocked(cl, q.cmd, q.args, all, c.Now)
	}
	if sink {
		s.execExpiry.remove(slotList, all)
	}
	s.feedExec(cl)
	if all {
		s.KS.UnlockAll()
	} else {
		s.KS.UnlockSlots(slotList)
	}
	s.discardTransaction(cl)
}

// callLocked runs a queued command inside EXEC, whose locks are held. now
// is EXEC's time: every command of a transaction sees the same clock, so
// no key expires between two of them (Redis 7.0's fixed_time_expire).
func (s *Server) callLocked(c *Client, cmd *Command, args [][]byte, allLocked bool, now int64) {
	ctx := Ctx{S: s, C: c, Cmd: cmd, Args: args, W: c.W, DB: s.KS.DBs[c.DB], Now: now, locked: true, allLocked: allLocked, inExec: true,
		master: c.rc.fromMaster, feeding: s.feedingNow()}
	cmd.Handler(&ctx)
	if ctx.Dirty > 0 || ctx.propSet {
		s.propagate(&ctx)
	}
	if ctx.Dirty > 0 {
		s.Stats.Dirty.Add(int64(ctx.Dirty))
	}
	s.afterCommand(&ctx)
}

// execExpirySinks knows which running EXEC holds each slot lock while
// replicas are fed, so that a key its commands find expired is propagated
// as a DEL inside the transaction's MULTI block, in order with the
// commands, as Redis 7.0 does (replication.md "The command stream": the
// lazy-expiry DEL goes to also_propagate, which EXEC wraps). A slot's
// lock is held by the EXEC for its whole run, so only that EXEC's
// commands can expire keys of the slot meanwhile. No mutex: a slot's
// entry is written by the EXEC holding the slot's lock and read by an
// expiry under that same lock; all is written with every slot lock held.
type execExpirySinks struct {
	all    *Client              // an EXEC holding every slot lock
	bySlot [slots.Count]*Client // EXECs holding some slot locks
}

// add registers cl's EXEC as the sink of slotList (every slot if all);
// the caller holds those slot locks.
func (x *execExpirySinks) add(cl *Client, slotList []int, all bool) {
	if all {
		x.all = cl
		return
	}
	for _, sl := range slotList {
		x.bySlot[sl] = cl
	}
}

// remove ends what add registered, the slot locks still held.
func (x *execExpirySinks) remove(slotList []int, all bool) {
	if all {
		x.all = nil
		return
	}
	for _, sl := range slotList {
		x.bySlot[sl] = nil
	}
}

// feed adds the DEL of an expired key of slot to the running EXEC that
// holds the slot; false when no EXEC holds it (the caller feeds it at
// once). It runs under the slot's lock.
func (x *execExpirySinks) feed(s *Server, db, slot int, key string) bool {
	if !s.feedingNow() {
		return false
	}
	cl := x.all
	if cl == nil {
		cl = x.bySlot[slot]
	}
	if cl == nil {
		return false
	}
	cl.rc.execOps = append(cl.rc.execOps, replication.Op{DB: db, Args: [][]byte{bDel, []byte(key)}})
	return true
}
