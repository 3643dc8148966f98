package server

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"unsafe"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/store"
)

// keyCommands are Redis's "generic" group: commands on keys of any type.
func keyCommands() []*Command {
	key1 := func(name string, arity int, flags Flag, h func(*Ctx), since string, cats ...string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 1, LastKey: 1, Step: 1, Handler: h, Group: "generic", Since: since, Categories: cats}
	}
	keysN := func(name string, flags Flag, h func(*Ctx), since string, cats ...string) *Command {
		return &Command{Name: name, Arity: -2, Flags: flags, FirstKey: 1, LastKey: -1, Step: 1, Handler: h, Group: "generic", Since: since, Categories: cats}
	}
	key2 := func(name string, arity int, flags Flag, h func(*Ctx), since string, cats ...string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 1, LastKey: 2, Step: 1, Handler: h, Group: "generic", Since: since, Categories: cats}
	}
	keyless := func(name string, arity int, h func(*Ctx), since string, cats ...string) *Command {
		return &Command{Name: name, Arity: arity, Flags: FlagReadOnly | flagAllSlots, Handler: h, Group: "generic", Since: since, Categories: cats}
	}
	objSub := func(name string, h func(*Ctx), since string) *Command {
		return &Command{Name: name, Arity: 3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Handler: h, Group: "generic", Since: since, Categories: []string{"keyspace", "read", "slow"}}
	}
	wf := FlagWrite | FlagFast
	rf := FlagReadOnly | FlagFast
	return []*Command{
		keysN("del", FlagWrite, cmdDel, "1.0.0", "keyspace", "write", "slow"),
		keysN("unlink", wf, cmdDel, "4.0.0", "keyspace", "write", "fast"),
		keysN("exists", rf, cmdExists, "1.0.0", "keyspace", "read", "fast"),
		keysN("touch", rf, cmdTouch, "3.2.1", "keyspace", "read", "fast"),
		key1("type", 2, rf, cmdType, "1.0.0", "keyspace", "read", "fast"),
		key1("expire", -3, wf, cmdExpire, "1.0.0", "keyspace", "write", "fast"),
		key1("pexpire", -3, wf, cmdPExpire, "2.6.0", "keyspace", "write", "fast"),
		key1("expireat", -3, wf, cmdExpireAt, "1.2.0", "keyspace", "write", "fast"),
		key1("pexpireat", -3, wf, cmdPExpireAt, "2.6.0", "keyspace", "write", "fast"),
		key1("ttl", 2, rf, cmdTTL, "1.0.0", "keyspace", "read", "fast"),
		key1("pttl", 2, rf, cmdPTTL, "2.6.0", "keyspace", "read", "fast"),
		key1("expiretime", 2, rf, cmdExpireTime, "7.0.0", "keyspace", "read", "fast"),
		key1("pexpiretime", 2, rf, cmdPExpireTime, "7.0.0", "keyspace", "read", "fast"),
		key1("persist", 2, wf, cmdPersist, "2.2.0", "keyspace", "write", "fast"),
		key1("move", 3, wf, cmdMove, "1.0.0", "keyspace", "write", "fast"),
		key2("rename", 3, FlagWrite, cmdRename, "1.0.0", "keyspace", "write", "slow"),
		key2("renamenx", 3, wf, cmdRenameNX, "1.0.0", "keyspace", "write", "fast"),
		key2("copy", -3, FlagWrite|FlagDenyOOM, cmdCopy, "6.2.0", "keyspace", "write", "slow"),
		keyless("keys", 2, cmdKeys, "1.0.0", "keyspace", "read", "slow", "dangerous"),
		keyless("scan", -2, cmdScan, "2.8.0", "keyspace", "read", "slow"),
		keyless("randomkey", 1, cmdRandomKey, "1.0.0", "keyspace", "read", "slow"),
		{Name: "object", Arity: -2, Group: "generic", Since: "2.2.3", Categories: []string{"slow"}, Subs: map[string]*Command{
			"help":     {Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: cmdObjectHelp, Group: "generic", Since: "6.2.0", Categories: []string{"keyspace", "slow"}},
			"encoding": objSub("encoding", cmdObjectEncoding, "2.2.3"),
			"refcount": objSub("refcount", cmdObjectRefcount, "2.2.3"),
			"idletime": objSub("idletime", cmdObjectIdletime, "2.2.3"),
			"freq":     objSub("freq", cmdObjectFreq, "4.0.0"),
		}},
	}
}

// Errors of the generic key commands, worded as Redis 7.0 sends them.
const (
	keyErrSameObject     = "ERR source and destination objects are the same"
	keyErrDBRange        = "ERR DB index is out of range"
	keyErrCursor         = "ERR invalid cursor"
	keyErrLFUNotSelected = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
	keyErrLFUSelected    = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
)

// readKey is Redis's lookupKeyReadWithFlags(LOOKUP_NOTOUCH): lazy expiry
// and keyspace hit/miss statistics, without refreshing the LRU clock.
func (c *Ctx) readKey(key []byte) *store.Object {
	o := c.DB.Peek(key)
	if o != nil && o.Expire != 0 && o.Expire <= c.Now {
		c.DB.Delete(key, c.Now) // expires it through the Expired hook
		o = nil
	}
	c.countLookup(o)
	return o
}

func (c *Ctx) countLookup(o *store.Object) {
	if o != nil {
		c.S.Stats.KeyspaceHits.Add(1)
	} else {
		c.S.Stats.KeyspaceMisses.Add(1)
	}
}

func cmdDel(c *Ctx) {
	var n int64
	for _, k := range c.Args[1:] {
		if c.DB.Delete(k, c.Now) {
			c.Modified(k)
			n++
		}
	}
	c.W.Int(n)
}

func cmdExists(c *Ctx) {
	var n int64
	for _, k := range c.Args[1:] {
		if c.readKey(k) != nil {
			n++
		}
	}
	c.W.Int(n)
}

func cmdTouch(c *Ctx) {
	var n int64
	for _, k := range c.Args[1:] {
		if c.LookupRead(k) != nil {
			n++
		}
	}
	c.W.Int(n)
}

func cmdType(c *Ctx) {
	o := c.readKey(c.Args[1])
	if o == nil {
		c.W.Status("none")
		return
	}
	c.W.Status(o.Type.String())
}

// Flags of the EXPIRE family's options.
const (
	expireOptNX = 1 << iota
	expireOptXX
	expireOptGT
	expireOptLT
)

func cmdExpire(c *Ctx)    { expireGeneric(c, expireRelative, 1000) }
func cmdPExpire(c *Ctx)   { expireGeneric(c, expireRelative, 1) }
func cmdExpireAt(c *Ctx)  { expireGeneric(c, 0, 1000) }
func cmdPExpireAt(c *Ctx) { expireGeneric(c, 0, 1) }

// expireRelative marks the relative forms (EXPIRE, PEXPIRE) whose base is now.
const expireRelative = -1

// parseExpireFlags reads EXPIRE's NX|XX|GT|LT options from args[3:].
func parseExpireFlags(c *Ctx) (int, bool) {
	flags := 0
	for _, a := range c.Args[3:] {
		switch {
		case keyArgIs(a, "nx"):
			flags |= expireOptNX
		case keyArgIs(a, "xx"):
			flags |= expireOptXX
		case keyArgIs(a, "gt"):
			flags |= expireOptGT
		case keyArgIs(a, "lt"):
			flags |= expireOptLT
		default:
			c.Error("ERR Unsupported option " + string(a))
			return 0, false
		}
	}
	if flags&expireOptNX != 0 && flags&(expireOptXX|expireOptGT|expireOptLT) != 0 {
		c.Error("ERR NX and XX, GT or LT options at the same time are not compatible")
		return 0, false
	}
	if flags&expireOptGT != 0 && flags&expireOptLT != 0 {
		c.Error("ERR GT and LT options at the same time are not compatible")
		return 0, false
	}
	return flags, true
}

// expireGeneric is EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT. base is expireRelative for
// the relative forms, 0 for absolute ones; unit is 1000 for seconds.
func expireGeneric(c *Ctx, base int64, unit int64) {
	flags, ok := parseExpireFlags(c)
	if !ok {
		return
	}
	when, ok := resp.ParseInt(c.Args[2])
	if !ok {
		c.Error(resp.ErrNotInteger)
		return
	}
	if unit == 1000 {
		if when > keyMaxInt64/1000 || when < keyMinInt64/1000 {
			c.invalidExpireTime()
			return
		}
		when *= 1000
	}
	if base == expireRelative {
		base = c.Now
	}
	if when > keyMaxInt64-base {
		c.invalidExpireTime()
		return
	}
	when += base
	key := c.Args[1]
	o := c.Lookup(key)
	if o == nil {
		c.W.Int(0)
		return
	}
	if flags != 0 {
		cur := o.Expire // 0: no TTL, which GT/LT treat as infinite
		switch {
		case flags&expireOptNX != 0 && cur != 0,
			flags&expireOptXX != 0 && cur == 0,
			flags&expireOptGT != 0 && (cur == 0 || when <= cur),
			flags&expireOptLT != 0 && cur != 0 && when >= cur:
			c.W.Int(0)
			return
		}
	}
	if alreadyExpired(c, when) {
		c.DB.Delete(key, c.Now)
		c.Modified(key)
		propagateKey(c, bDel, key)
		c.W.Int(1)
		return
	}
	c.DB.SetExpire(key, o, when)
	c.Modified(key)
	// Replicas get the absolute time, keeping the NX|XX|GT|LT options:
	// PEXPIREAT key ms [options]. PEXPIREAT itself goes as received.
	if c.Propagating() && c.Cmd.Name != "pexpireat" {
		args := make([][]byte, 0, len(c.Args))
		args = append(args, bPexpireat, key, int64Arg(when))
		c.Propagate(append(args, c.Args[3:]...)...)
	}
	c.W.Int(1)
}

// alreadyExpired reports whether an expire time given to a command has
// passed, so that the key is deleted instead (checkAlreadyExpired). A
// replica keeps the key with its past time: only its master deletes keys.
func alreadyExpired(c *Ctx, when int64) bool {
	return when <= c.Now && !c.master && !c.S.IsReplica()
}

func (c *Ctx) invalidExpireTime() {
	c.Error("ERR invalid expire time in '" + c.Cmd.FullName() + "' command")
}

const (
	keyMaxInt64 = 1<<63 - 1
	keyMinInt64 = -1 << 63
)

func cmdTTL(c *Ctx)         { ttlGeneric(c, false, false) }
func cmdPTTL(c *Ctx)        { ttlGeneric(c, true, false) }
func cmdExpireTime(c *Ctx)  { ttlGeneric(c, false, true) }
func cmdPExpireTime(c *Ctx) { ttlGeneric(c, true, true) }

// ttlGeneric replies -2 for a missing key, -1 without TTL, else the
// remaining (or absolute) time, seconds rounded to the nearest.
func ttlGeneric(c *Ctx, ms, abs bool) {
	o := c.readKey(c.Args[1])
	if o == nil {
		c.W.Int(-2)
		return
	}
	if o.Expire == 0 {
		c.W.Int(-1)
		return
	}
	t := o.Expire
	if !abs {
		t -= c.Now
	}
	if t < 0 {
		t = 0
	}
	if !ms {
		t = (t + 500) / 1000
	}
	c.W.Int(t)
}

func cmdPersist(c *Ctx) {
	o := c.Lookup(c.Args[1])
	if o == nil || o.Expire == 0 {
		c.W.Int(0)
		return
	}
	c.DB.SetExpire(c.Args[1], o, 0)
	c.Modified(c.Args[1])
	c.W.Int(1)
}

func cmdRename(c *Ctx)   { renameGeneric(c, false) }
func cmdRenameNX(c *Ctx) { renameGeneric(c, true) }

func renameGeneric(c *Ctx, nx bool) {
	src, dst := c.Args[1], c.Args[2]
	o := c.Lookup(src)
	if o == nil {
		c.Error(resp.ErrNoSuchKey)
		return
	}
	if bytes.Equal(src, dst) {
		if nx {
			c.W.Int(0)
		} else {
			c.W.OK()
		}
		return
	}
	if c.Lookup(dst) != nil {
		if nx {
			c.W.Int(0)
			return
		}
		c.DB.Delete(dst, c.Now)
	}
	c.DB.Delete(src, c.Now)
	c.Set(dst, o) // o keeps its TTL
	c.Modified(src)
	c.Modified(dst)
	c.Dirty-- // one change, as Redis counts it
	if nx {
		c.W.Int(1)
	} else {
		c.W.OK()
	}
}

// keyParseDB parses a database number like getIntFromObjectOrReply
// followed by selectDb's range check; it replies on error.
func keyParseDB(c *Ctx, b []byte) (*store.DB, bool) {
	n, ok := resp.ParseInt(b)
	if !ok {
		c.Error(resp.ErrNotInteger)
		return nil, false
	}
	if n < -1<<31 || n > 1<<31-1 {
		c.Error("ERR value is out of range, value must between -2147483648 and 2147483647")
		return nil, false
	}
	if n < 0 || n >= int64(len(c.S.KS.DBs)) {
		c.Error(keyErrDBRange)
		return nil, false
	}
	return c.S.KS.DBs[n], true
}

func cmdMove(c *Ctx) {
	if c.S.Cfg.ClusterEnabled {
		c.Error("ERR MOVE is not allowed in cluster mode")
		return
	}
	dst, ok := keyParseDB(c, c.Args[2])
	if !ok {
		return
	}
	if dst == c.DB {
		c.Error(keyErrSameObject)
		return
	}
	key := c.Args[1]
	o := c.Lookup(key)
	if o == nil || dst.Lookup(key, c.Now) != nil {
		c.W.Int(0)
		return
	}
	c.DB.Delete(key, c.Now)
	dst.Set(key, o) // o keeps its TTL
	c.Modified(key)
	c.S.touchWatched(dst.ID, key)
	c.W.Int(1)
}

func cmdCopy(c *Ctx) {
	dst := c.DB
	replace := false
	for j := 3; j < len(c.Args); j++ {
		switch {
		case keyArgIs(c.Args[j], "replace"):
			replace = true
		case keyArgIs(c.Args[j], "db") && j+1 < len(c.Args):
			d, ok := keyParseDB(c, c.Args[j+1])
			if !ok {
				return
			}
			dst = d
			j++
		default:
			c.Error(resp.ErrSyntax)
			return
		}
	}
	if c.S.Cfg.ClusterEnabled && (c.DB.ID != 0 || dst.ID != 0) {
		c.Error("ERR Copying to another database is not allowed in cluster mode")
		return
	}
	src, dkey := c.Args[1], c.Args[2]
	if dst == c.DB && bytes.Equal(src, dkey) {
		c.Error(keyErrSameObject)
		return
	}
	o := c.LookupRead(src)
	if o == nil {
		c.W.Int(0)
		return
	}
	if dst.Lookup(dkey, c.Now) != nil {
		if !replace {
			c.W.Int(0)
			return
		}
		dst.Delete(dkey, c.Now)
	}
	n, ok := keyDupObject(o)
	if !ok {
		c.Error("ERR unknown type object")
		return
	}
	n.Expire = o.Expire
	n.LRU = store.LRUClock(c.Now)
	dst.Set(dkey, n)
	c.Dirty++
	c.S.touchWatched(dst.ID, dkey)
	c.W.Int(1)
}

// keyDupObject deep-copies a value (without TTL) for COPY.
func keyDupObject(o *store.Object) (*store.Object, bool) {
	if o.Type == store.TypeString {
		return store.CloneString(o), true
	}
	d, ok := o.Val.(store.Duplicator)
	if !ok {
		return nil, false
	}
	return &store.Object{Type: o.Type, Val: d.Dup()}, true
}

func keyArgIs(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != lower[i] {
			return false
		}
	}
	return true
}

// keyStringBytes views a map key as bytes without copying; the result must
// not be modified.
func keyStringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// cmdKeys walks every slot of the database under that slot's lock. Expired
// keys are skipped but not deleted, like Redis's KEYS.
func cmdKeys(c *Ctx) {
	pat := c.Args[1]
	all := len(pat) == 1 && pat[0] == '*'
	var out []string
	for s := 0; s < slots.Count; s++ {
		c.LockSlot(s)
		if c.DB.SlotSize(s) > 0 {
			c.DB.ForEachInSlot(s, func(k string, o *store.Object) bool {
				if (all || store.GlobMatch(pat, keyStringBytes(k), false)) && (o.Expire == 0 || o.Expire > c.Now) {
					out = append(out, k)
				}
				return true
			})
		}
		c.UnlockSlot(s)
	}
	c.W.Array(len(out))
	for _, k := range out {
		c.W.BulkString(k)
	}
}

// keyParseScanCursor parses a cursor like Redis's strtoul-based
// parseScanCursorOrReply: no leading space, optional sign (a negative value
// wraps), base 10, nothing after the digits but a NUL, no overflow. An
// empty string is cursor 0.
func keyParseScanCursor(b []byte) (uint64, bool) {
	if len(b) > 0 && (b[0] == ' ' || (b[0] >= '\t' && b[0] <= '\r')) {
		return 0, false
	}
	i, neg := 0, false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	start := i
	var v uint64
	overflow := false
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if v > (1<<64-1-d)/10 {
			overflow = true
		}
		v = v*10 + d
	}
	if i == start { // no digits: strtoul leaves the end pointer at the start
		return 0, len(b) == 0 || b[0] == 0
	}
	if overflow || (i < len(b) && b[i] != 0) {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// cmdScan iterates the database by slot: the cursor is the next slot to
// visit, and each call returns whole slots, so a key present for the whole
// iteration is returned exactly once. A database smaller than COUNT is
// returned in one call with cursor 0, like Redis's small dictionaries.
func cmdScan(c *Ctx) {
	cursor, ok := keyParseScanCursor(c.Args[1])
	if !ok {
		c.Error(keyErrCursor)
		return
	}
	count := int64(10)
	var pat, typ []byte
	usePat, useType := false, false
	args := c.Args
	for i := 2; i < len(args); i += 2 {
		more := len(args) - i
		switch {
		case keyArgIs(args[i], "count") && more >= 2:
			n, ok := resp.ParseInt(args[i+1])
			if !ok {
				c.Error(resp.ErrNotInteger)
				return
			}
			if n < 1 {
				c.Error(resp.ErrSyntax)
				return
			}
			count = n
		case keyArgIs(args[i], "match") && more >= 2:
			pat = args[i+1]
			usePat = !(len(pat) == 1 && pat[0] == '*')
		case keyArgIs(args[i], "type") && more >= 2:
			typ = args[i+1]
			useType = true
		default:
			c.Error(resp.ErrSyntax)
			return
		}
	}
	var out []string
	next := uint64(0)
	if cursor < slots.Count {
		whole := c.DB.Size() < count
		visited := int64(0)
		var expired []string
		for s := int(cursor); s < slots.Count; s++ {
			c.LockSlot(s)
			if c.DB.SlotSize(s) == 0 {
				c.UnlockSlot(s)
				continue
			}
			expired = expired[:0]
			c.DB.ForEachInSlot(s, func(k string, o *store.Object) bool {
				visited++
				if usePat && !store.GlobMatch(pat, keyStringBytes(k), false) {
					return true
				}
				if o.Expire != 0 && o.Expire <= c.Now {
					expired = append(expired, k)
					return true
				}
				if useType {
					c.S.Stats.KeyspaceHits.Add(1)
					if !keyArgIs(typ, o.Type.String()) {
						return true
					}
				}
				out = append(out, k)
				return true
			})
			for _, k := range expired {
				c.DB.LookupSlot(s, k, c.Now) // deletes it through the Expired hook
				if useType {
					// Redis looks the type up first, which deletes the key and
					// makes it "none"; the expiry filter then no longer sees it.
					c.S.Stats.KeyspaceMisses.Add(1)
					if keyArgIs(typ, "none") {
						out = append(out, k)
					}
				}
			}
			c.UnlockSlot(s)
			if !whole && visited >= count {
				if s+1 < slots.Count {
					next = uint64(s + 1)
				}
				break
			}
		}
	}
	c.W.Array(2)
	var tmp [24]byte
	c.W.Bulk(strconv.AppendUint(tmp[:0], next, 10))
	c.W.Array(len(out))
	for _, k := range out {
		c.W.BulkString(k)
	}
}

// cmdRandomKey picks a random slot, walks to the first non-empty one and
// returns a random key of it, deleting expired keys it meets.
func cmdRandomKey(c *Ctx) {
	for c.DB.Size() > 0 {
		start := rand.IntN(slots.Count)
		found, retry := "", false
		for i := 0; i < slots.Count && found == "" && !retry; i++ {
			s := (start + i) % slots.Count
			c.LockSlot(s)
			if k, ok := c.DB.RandomKeyInSlot(s); ok {
				if c.DB.LookupSlot(s, k, c.Now) != nil {
					found = k
					if k == "" {
						c.UnlockSlot(s)
						c.W.BulkString("")
						return
					}
				} else {
					retry = true // it had expired: draw again
				}
			}
			c.UnlockSlot(s)
		}
		if found != "" {
			c.W.BulkString(found)
			return
		}
		if !retry {
			break
		}
	}
	c.W.Null()
}

var keyObjectHelp = []string{
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
}

func cmdObjectHelp(c *Ctx) {
	c.W.Array(len(keyObjectHelp))
	for _, l := range keyObjectHelp {
		c.W.Status(l)
	}
}

// keyObjectEncoding is the OBJECT ENCODING name of a value.
func keyObjectEncoding(o *store.Object) string {
	if o.Type == store.TypeString {
		return store.StringObjectEncoding(o)
	}
	if e, ok := o.Val.(store.Encoder); ok {
		return e.Encoding()
	}
	return "unknown"
}

func cmdObjectEncoding(c *Ctx) {
	o := c.readKey(c.Args[2])
	if o == nil {
		c.W.Null()
		return
	}
	c.W.BulkString(keyObjectEncoding(o))
}

// keySharedIntegers is OBJ_SHARED_INTEGERS: Redis shares the objects of the
// integers below it, whose refcount then reads as INT_MAX, unless an LRU or
// LFU policy needs per-object access data.
const keySharedIntegers = 10000

func cmdObjectRefcount(c *Ctx) {
	o := c.readKey(c.Args[2])
	if o == nil {
		c.W.Null()
		return
	}
	if o.Type == store.TypeString && store.StringObjectEncoding(o) == "int" {
		v, _ := resp.ParseInt(o.Bytes())
		max, policy := c.S.memoryLimits()
		if v >= 0 && v < keySharedIntegers && (max == 0 || !policyTracksAccess(policy)) {
			c.W.Int(1<<31 - 1)
			return
		}
	}
	c.W.Int(1)
}

func cmdObjectIdletime(c *Ctx) {
	o := c.readKey(c.Args[2])
	if o == nil {
		c.W.Null()
		return
	}
	if _, policy := c.S.memoryLimits(); policyIsLFU(policy) {
		c.Error(keyErrLFUSelected)
		return
	}
	c.W.Int(keyIdleSeconds(o, c.Now))
}

// cmdObjectFreq approximates Redis's logarithmic access counter, which
// redcluster does not keep: a fresh key starts at 5 (LFU_INIT_VAL) and
// loses one point per idle minute (lfu-decay-time 1).
func cmdObjectFreq(c *Ctx) {
	o := c.readKey(c.Args[2])
	if o == nil {
		c.W.Null()
		return
	}
	if _, policy := c.S.memoryLimits(); !policyIsLFU(policy) {
		c.Error(keyErrLFUNotSelected)
		return
	}
	f := 5 - keyIdleSeconds(o, c.Now)/60
	if f < 0 {
		f = 0
	}
	c.W.Int(f)
}

// keyIdleSeconds is the time since the key's last access, in seconds.
func keyIdleSeconds(o *store.Object, now int64) int64 {
	clock := store.LRUClock(now)
	if clock < o.LRU {
		return 0
	}
	return int64(clock - o.LRU)
}
