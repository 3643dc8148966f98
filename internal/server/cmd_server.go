package server

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/store"
)

func serverCommands() []*Command {
	srv := func(name string, arity int, flags Flag, h func(*Ctx), since string, cats ...string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, Handler: h, Group: "server", Since: since, Categories: cats}
	}
	ls := FlagLoading | FlagStale
	return append(persistCommands(),
		srv("info", -1, ls, cmdInfo, "1.0.0", "slow", "dangerous"),
		srv("dbsize", 1, FlagReadOnly|FlagFast|flagAllSlots, cmdDBSize, "1.0.0", "keyspace", "read", "fast"),
		srv("flushall", -1, FlagWrite|flagAllSlots, cmdFlushAll, "1.0.0", "keyspace", "write", "slow", "dangerous"),
		srv("flushdb", -1, FlagWrite|flagAllSlots, cmdFlushDB, "1.0.0", "keyspace", "write", "slow", "dangerous"),
		srv("time", 1, ls|FlagFast, cmdTime, "2.6.0", "fast"),
		srv("lastsave", 1, ls|FlagFast, cmdLastSave, "1.0.0", "admin", "fast", "dangerous"),
		srv("swapdb", 3, FlagWrite|FlagFast|flagAllSlots, cmdSwapDB, "4.0.0", "keyspace", "write", "fast", "dangerous"),
		srv("shutdown", -1, FlagAdmin|FlagNoScript|ls|FlagNoMulti|FlagAllowBusy, cmdShutdown, "1.0.0", "admin", "slow", "dangerous"),
		srv("debug", -2, FlagAdmin|FlagNoScript|ls|FlagProtected|flagAllSlots, cmdDebug, "1.0.0", "admin", "slow", "dangerous"),
		commandCommand(),
	)
}

func cmdDBSize(c *Ctx) { c.W.Int(c.DB.Size()) }

func cmdTime(c *Ctx) {
	now := time.Now()
	c.W.Array(2)
	c.W.BulkInt(now.Unix())
	c.W.BulkInt(int64(now.Nanosecond() / 1000))
}

func cmdLastSave(c *Ctx) { c.W.Int(c.S.LastSave()) }

// parseFlushMode checks FLUSHALL/FLUSHDB's optional ASYNC|SYNC.
func parseFlushMode(c *Ctx) bool {
	switch len(c.Args) {
	case 1:
		return true
	case 2:
		a := strings.ToLower(string(c.Args[1]))
		if a == "sync" || a == "async" {
			return true
		}
	}
	c.Error(resp.ErrSyntax)
	return false
}

func cmdFlushAll(c *Ctx) {
	if !parseFlushMode(c) {
		return
	}
	all := make([]int, len(c.S.KS.DBs))
	for i := range all {
		all[i] = i
	}
	c.Dirty += c.S.flushDBs(c, all)
	// A running BGSAVE is killed and, with save points, the empty dataset
	// saved, which leaves no unsaved change (flushAllDataAndResetRDB).
	// FLUSHALL is propagated even when nothing was deleted.
	if c.S.flushAllSave() {
		c.Dirty = 0
	}
	c.Propagate(c.Args...)
	c.W.OK()
}

func cmdFlushDB(c *Ctx) {
	if !parseFlushMode(c) {
		return
	}
	c.Dirty += c.S.flushDBs(c, []int{c.DB.ID})
	// Propagated even when the database was empty (forceCommandPropagation).
	c.Propagate(c.Args...)
	c.W.OK()
}

// flushDBs empties the given databases and returns how many keys went.
func (s *Server) flushDBs(c *Ctx, dbs []int) int {
	c.LockAll()
	defer c.UnlockAll()
	for _, i := range dbs {
		s.touchWatchedOnSwap(i, -1, c.Now)
	}
	n := 0
	for _, i := range dbs {
		db := s.KS.DBs[i]
		if db.Size() == 0 && db.ExpiresCount() == 0 {
			continue
		}
		for slot := 0; slot < slots.Count; slot++ {
			n += db.FlushSlot(slot)
		}
	}
	return n
}

// touchWatchedOnSwap invalidates the transactions watching keys of db
// emptied whose content changes when it is flushed (other < 0) or replaced
// by the content of db other (SWAPDB): the keys that exist in either.
// The caller holds every slot lock.
func (s *Server) touchWatchedOnSwap(emptied, other int, now int64) {
	if s.watch.count.Load() == 0 {
		return
	}
	de := s.KS.DBs[emptied]
	var do *store.DB
	if other >= 0 {
		do = s.KS.DBs[other]
	}
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	for wk, cs := range s.watch.keys {
		if wk.db != emptied {
			continue
		}
		key := []byte(wk.key)
		inEmptied := de.Peek(key) != nil
		var repl *store.Object
		if do != nil {
			repl = do.Peek(key)
		}
		if !inEmptied && repl == nil {
			continue
		}
		if !inEmptied && repl.Expire != 0 && repl.Expire <= now {
			continue // an absent key replaced by an expired one: no change
		}
		for cl := range cs {
			cl.WatchDirty.Store(true)
		}
	}
}

func cmdSwapDB(c *Ctx) {
	s := c.S
	if s.clusterMode() {
		c.Error("ERR SWAPDB is not allowed in cluster mode")
		return
	}
	a, ok := resp.ParseInt(c.Args[1])
	if !ok || a != int64(int32(a)) {
		c.Error("ERR invalid first DB index")
		return
	}
	b, ok := resp.ParseInt(c.Args[2])
	if !ok || b != int64(int32(b)) {
		c.Error("ERR invalid second DB index")
		return
	}
	n := int64(len(s.KS.DBs))
	if a < 0 || a >= n || b < 0 || b >= n {
		c.Error("ERR DB index is out of range")
		return
	}
	if a != b {
		c.LockAll()
		s.touchWatchedOnSwap(int(a), int(b), c.Now)
		s.touchWatchedOnSwap(int(b), int(a), c.Now)
		s.KS.SwapDB(int(a), int(b))
		s.wakeBlockedAfterSwap(int(a), int(b))
		c.UnlockAll()
	}
	c.Dirty++
	c.W.OK()
}

// wakeBlockedAfterSwap queues the keys that clients wait on and that
// exist after SWAPDB, so the blocked clients get served. The caller holds
// every slot lock.
func (s *Server) wakeBlockedAfterSwap(a, b int) {
	r := &s.blocking
	if r.count.Load() == 0 {
		return
	}
	r.mu.Lock()
	var keys []blockKey
	for k := range r.byKey {
		if k.db == a || k.db == b {
			keys = append(keys, k)
		}
	}
	r.mu.Unlock()
	for _, k := range keys {
		if o := s.KS.DBs[k.db].Peek([]byte(k.key)); o != nil {
			s.keyAdded(k.db, k.key, o.Type)
		}
	}
}

// Shutdown flags.
const (
	shutNoSave = 1 << iota
	shutSave
	shutNow
	shutForce
)

func cmdShutdown(c *Ctx) {
	flags, abort := 0, false
	for _, a := range c.Args[1:] {
		switch strings.ToLower(string(a)) {
		case "nosave":
			flags |= shutNoSave
		case "save":
			flags |= shutSave
		case "now":
			flags |= shutNow
		case "force":
			flags |= shutForce
		case "abort":
			abort = true
		default:
			c.Error(resp.ErrSyntax)
			return
		}
	}
	if (abort && flags != 0) || (flags&shutNoSave != 0 && flags&shutSave != 0) {
		c.Error(resp.ErrSyntax)
		return
	}
	if abort {
		c.Error("ERR No shutdown in progress.")
		return
	}
	s := c.S
	s.cfgMu.RLock()
	save := s.Cfg.Save != ""
	s.cfgMu.RUnlock()
	save = (save || flags&shutSave != 0) && flags&shutNoSave == 0
	s.Log.Warn().Msg("User requested shutdown...")
	if err := s.RunShutdownHooks(save); err != nil && flags&shutForce == 0 {
		s.Log.Warn().Err(err).Msg("Errors trying to shut down the server. Check the logs for more information.")
		c.Error("ERR Errors trying to SHUTDOWN. Check logs.")
		return
	}
	c.C.closing = true
	go s.Close()
}

// RunShutdownHooks runs the OnShutdown hooks (SHUTDOWN does; so should a
// shutdown on SIGTERM), joining their errors.
func (s *Server) RunShutdownHooks(save bool) error {
	e := s.x()
	e.hookMu.Lock()
	hooks := append([]func(bool) error(nil), e.shutdownHooks...)
	e.hookMu.Unlock()
	var errs []error
	// The final RDB save (finishShutdown) comes first.
	if err := s.shutdownSave(save); err != nil {
		errs = append(errs, err)
	}
	for _, h := range hooks {
		if err := h(save); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// debugAllowed applies enable-debug-command (no, yes, local).
func (s *Server) debugAllowed(c *Client) bool {
	s.cfgMu.RLock()
	mode := s.Cfg.EnableDebugCommand
	s.cfgMu.RUnlock()
	switch strings.ToLower(mode) {
	case "yes":
		return true
	case "local":
		host, _, err := net.SplitHostPort(c.Addr)
		return err == nil && (host == "127.0.0.1" || host == "::1")
	}
	return false
}

var debugHelp = []string{
	"CHANGE-REPL-ID",
	"    Change the replication IDs of the instance.",
	"    Dangerous: should be used only for testing the replication subsystem.",
	"ERROR <string>",
	"    Return a Redis protocol error with <string> as message. Useful for clients",
	"    unit tests to simulate Redis errors.",
	"LOG <message>",
	"    Write <message> to the server log.",
	"OBJECT <key>",
	"    Show low level info about `key` and associated value.",
	"PROTOCOL <type>",
	"    Reply with a test value of the specified type. <type> can be: string,",
	"    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
	"    true, false.",
	"SET-ACTIVE-EXPIRE <0|1>",
	"    Setting it to 0 disables expiring keys in background when they are not",
	"    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
	"    default.",
	"SLEEP <seconds>",
	"    Stop the server for <seconds>. Decimals allowed.",
}

// subcommandSyntaxError is Redis's addReplySubcommandSyntaxError.
func subcommandSyntaxError(c *Ctx) {
	c.Error("ERR unknown subcommand or wrong number of arguments for '" + truncate(string(c.Args[1]), 128) +
		"'. Try " + strings.ToUpper(string(c.Args[0])) + " HELP.")
}

func cmdDebug(c *Ctx) {
	s := c.S
	if !s.debugAllowed(c.C) {
		c.Error(`ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.`)
		return
	}
	sub := strings.ToLower(string(c.Args[1]))
	n := len(c.Args)
	switch {
	case sub == "help" && n == 2:
		writeHelpReply(c, debugHelp)
	case sub == "sleep" && n == 3:
		secs, _ := strconv.ParseFloat(string(c.Args[2]), 64)
		if secs > 0 {
			time.Sleep(time.Duration(secs * float64(time.Second)))
		}
		c.W.OK()
	case sub == "set-active-expire" && n == 3:
		v, _ := strconv.Atoi(string(c.Args[2]))
		s.ext.activeExpireOff.Store(v == 0)
		c.W.OK()
	case sub == "change-repl-id" && n == 2:
		e := s.x()
		e.hookMu.Lock()
		e.replID = randomHex(40)
		e.hookMu.Unlock()
		c.W.OK()
	case sub == "error" && n == 3:
		c.Error(string(c.Args[2]))
	case sub == "log" && n == 3:
		s.Log.Warn().Msg("DEBUG LOG: " + string(c.Args[2]))
		c.W.OK()
	case sub == "object" && n == 3:
		debugObject(c)
	case sub == "protocol" && n == 3:
		debugProtocol(c)
	default:
		subcommandSyntaxError(c)
	}
}

// debugObject replies with DEBUG OBJECT's line. The key is not in the key
// spec, so its slot is locked here.
func debugObject(c *Ctx) {
	key := c.Args[2]
	slot := slots.KeySlot(key)
	c.LockSlot(slot)
	o := c.DB.Peek(key)
	if o != nil && o.Expire != 0 && o.Expire <= c.Now {
		o = c.DB.Lookup(key, c.Now)
	}
	var line string
	if o != nil {
		enc := keyObjectEncoding(o)
		refcount := 1
		if enc == "int" {
			if v, err := strconv.ParseInt(string(o.Bytes()), 10, 64); err == nil && v >= 0 && v < 10000 {
				refcount = 2147483647
			}
		}
		idle := int64(store.LRUClock(c.Now)) - int64(o.LRU)
		if idle < 0 {
			idle = 0
		}
		line = fmt.Sprintf("Value at:%p refcount:%d encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d",
			o, refcount, enc, len(o.Bytes())+1, o.LRU&(1<<24-1), idle)
	}
	c.UnlockSlot(slot)
	if o == nil {
		c.Error(resp.ErrNoSuchKey)
		return
	}
	c.W.Status(line)
}

// debugProtocol replies with a sample of each RESP type (DEBUG PROTOCOL).
func debugProtocol(c *Ctx) {
	w := c.W
	switch strings.ToLower(string(c.Args[2])) {
	case "string":
		w.BulkString("Hello World")
	case "integer":
		w.Int(12345)
	case "double":
		w.Double(3.141)
	case "bignum":
		if w.Proto == 3 {
			w.Raw([]byte("(1234567999999999999999999999999999999\r\n"))
		} else {
			w.BulkString("1234567999999999999999999999999999999")
		}
	case "null":
		w.Null()
	case "array":
		w.Array(3)
		for i := int64(0); i < 3; i++ {
			w.Int(i)
		}
	case "set":
		w.Set(3)
		for i := int64(0); i < 3; i++ {
			w.Int(i)
		}
	case "map":
		w.Map(3)
		for i := int64(0); i < 3; i++ {
			w.Int(i)
			w.Bool(i == 1)
		}
	case "attrib":
		if w.Proto == 3 {
			w.Raw([]byte("|1\r\n"))
			w.BulkString("key-popularity")
			w.Array(2)
			w.BulkString("key:123")
			w.Int(90)
		}
		w.BulkString("Some real reply following the attribute")
	case "push":
		if w.Proto < 3 {
			c.Error("ERR RESP2 is not supported by this command")
			return
		}
		w.Push(2)
		w.BulkString("server-cpu-usage")
		w.Int(42)
		w.BulkString("Some real reply following the push reply")
	case "true":
		w.Bool(true)
	case "false":
		w.Bool(false)
	case "verbatim":
		w.Verbatim("This is a verbatim\nstring", "txt")
	default:
		c.Error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
	}
}
