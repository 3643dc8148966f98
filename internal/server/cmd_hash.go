package server

import (
	"strconv"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

// hashCommands are Redis 7.0's hash group.
func hashCommands() []*Command {
	cmd := func(name string, arity int, flags Flag, h func(*Ctx), since string, cats ...string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 1, LastKey: 1, Step: 1,
			Handler: h, Group: "hash", Since: since, Categories: cats}
	}
	wf := FlagWrite | FlagDenyOOM | FlagFast
	rf := FlagReadOnly | FlagFast
	return []*Command{
		cmd("hset", -4, wf, cmdHSet, "2.0.0", "write", "hash", "fast"),
		cmd("hsetnx", 4, wf, cmdHSetNX, "2.0.0", "write", "hash", "fast"),
		cmd("hmset", -4, wf, cmdHSet, "2.0.0", "write", "hash", "fast"),
		cmd("hget", 3, rf, cmdHGet, "2.0.0", "read", "hash", "fast"),
		cmd("hmget", -3, rf, cmdHMGet, "2.0.0", "read", "hash", "fast"),
		cmd("hdel", -3, FlagWrite|FlagFast, cmdHDel, "2.0.0", "write", "hash", "fast"),
		cmd("hlen", 2, rf, cmdHLen, "2.0.0", "read", "hash", "fast"),
		cmd("hstrlen", 3, rf, cmdHStrlen, "3.2.0", "read", "hash", "fast"),
		cmd("hexists", 3, rf, cmdHExists, "2.0.0", "read", "hash", "fast"),
		cmd("hkeys", 2, FlagReadOnly, cmdHKeys, "2.0.0", "read", "hash", "slow"),
		cmd("hvals", 2, FlagReadOnly, cmdHVals, "2.0.0", "read", "hash", "slow"),
		cmd("hgetall", 2, FlagReadOnly, cmdHGetAll, "2.0.0", "read", "hash", "slow"),
		cmd("hincrby", 4, wf, cmdHIncrBy, "2.0.0", "write", "hash", "fast"),
		cmd("hincrbyfloat", 4, wf, cmdHIncrByFloat, "2.6.0", "write", "hash", "fast"),
		cmd("hrandfield", -2, FlagReadOnly, cmdHRandField, "6.2.0", "read", "hash", "slow"),
		cmd("hscan", -3, FlagReadOnly, cmdHScan, "2.8.0", "read", "hash", "slow"),
	}
}

// refreshEncodingLimits copies the hash and set encoding thresholds from
// the configuration; it runs at start and after every CONFIG SET.
func (s *Server) refreshEncodingLimits() {
	l := store.Limits{
		HashMaxListpackEntries: int(s.Cfg.HashMaxListpackEntries),
		HashMaxListpackValue:   int(s.Cfg.HashMaxListpackValue),
		SetMaxIntsetEntries:    int(min(s.Cfg.SetMaxIntsetEntries, 1<<30)), // intset's own cap
	}
	s.encLimits.Store(&l)
}

// collLimits returns the current hash and set encoding thresholds.
func collLimits(c *Ctx) store.Limits {
	if l := c.S.encLimits.Load(); l != nil {
		return *l
	}
	return store.DefaultLimits()
}

// hashRead looks key up for a read command (keyspace hit/miss counted).
// It returns the hash (nil when missing) and false after replying
// WRONGTYPE.
func hashRead(c *Ctx, key []byte) (*store.Hash, bool) {
	return lookupAs[*store.Hash](c, key, store.TypeHash, true)
}

// hashWrite looks key up for a write command: the hash, nil when missing,
// false after replying WRONGTYPE.
func hashWrite(c *Ctx, key []byte) (*store.Hash, bool) {
	return lookupAs[*store.Hash](c, key, store.TypeHash, false)
}

// hashWriteOrCreate is hashWrite that stores a new empty hash when the key
// is missing (the caller adds to it before returning).
func hashWriteOrCreate(c *Ctx, key []byte) (*store.Hash, bool) {
	h, ok := hashWrite(c, key)
	if !ok || h != nil {
		return h, ok
	}
	h = store.NewHash()
	c.Set(key, &store.Object{Type: store.TypeHash, Val: h, LRU: store.LRUClock(c.Now)})
	return h, true
}

// collModifiedN records n changes to key (Redis's dirty counter grows by n).
func collModifiedN(c *Ctx, key []byte, n int) {
	c.Modified(key)
	c.Dirty += n - 1
}

func cmdHSet(c *Ctx) {
	if len(c.Args)%2 == 1 {
		c.ArityError()
		return
	}
	h, ok := hashWriteOrCreate(c, c.Args[1])
	if !ok {
		return
	}
	added := h.SetPairs(c.Args[2:], collLimits(c))
	if c.Cmd.Name == "hset" {
		c.W.Int(int64(added))
	} else {
		c.W.OK()
	}
	collModifiedN(c, c.Args[1], (len(c.Args)-2)/2)
}

func cmdHSetNX(c *Ctx) {
	h, ok := hashWriteOrCreate(c, c.Args[1])
	if !ok {
		return
	}
	if h.Exists(c.Args[2]) {
		c.W.Int(0)
		return
	}
	h.Set(c.Args[2], c.Args[3], collLimits(c))
	c.W.Int(1)
	c.Modified(c.Args[1])
}

func cmdHGet(c *Ctx) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		c.W.Null()
		return
	}
	if v, found := h.Get(c.Args[2]); found {
		c.W.Bulk(v)
	} else {
		c.W.Null()
	}
}

func cmdHMGet(c *Ctx) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, f := range c.Args[2:] {
		if h != nil {
			if v, found := h.Get(f); found {
				c.W.Bulk(v)
				continue
			}
		}
		c.W.Null()
	}
}

func cmdHDel(c *Ctx) {
	h, ok := hashWrite(c, c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		c.W.Int(0)
		return
	}
	deleted := 0
	for _, f := range c.Args[2:] {
		if h.Delete(f) {
			deleted++
			if h.Len() == 0 {
				c.DB.Delete(c.Args[1], c.Now)
				break
			}
		}
	}
	if deleted > 0 {
		collModifiedN(c, c.Args[1], deleted)
	}
	c.W.Int(int64(deleted))
}

func cmdHLen(c *Ctx) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(h.Len()))
}

func cmdHStrlen(c *Ctx) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	n := 0
	if h != nil {
		v, _ := h.Get(c.Args[2])
		n = len(v)
	}
	c.W.Int(int64(n))
}

func cmdHExists(c *Ctx) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h != nil && h.Exists(c.Args[2]) {
		c.W.Int(1)
	} else {
		c.W.Int(0)
	}
}

func cmdHKeys(c *Ctx)   { hashGetAll(c, true, false) }
func cmdHVals(c *Ctx)   { hashGetAll(c, false, true) }
func cmdHGetAll(c *Ctx) { hashGetAll(c, true, true) }

// hashGetAll replies with the fields and/or values (HGETALL is a map in RESP3).
func hashGetAll(c *Ctx, fields, values bool) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	n := 0
	if h != nil {
		n = h.Len()
	}
	if fields && values {
		c.W.Map(n)
	} else {
		c.W.Array(n)
	}
	if h == nil {
		return
	}
	h.ForEach(func(f, v []byte) bool {
		if fields {
			c.W.Bulk(f)
		}
		if values {
			c.W.Bulk(v)
		}
		return true
	})
}

func cmdHIncrBy(c *Ctx) {
	incr, ok := resp.ParseInt(c.Args[3])
	if !ok {
		c.Error(resp.ErrNotInteger)
		return
	}
	h, ok := hashWriteOrCreate(c, c.Args[1])
	if !ok {
		return
	}
	n, err := h.IncrBy(c.Args[2], incr, collLimits(c))
	if err != nil {
		c.Error(err.Error())
		return
	}
	c.W.Int(n)
	c.Modified(c.Args[1])
}

func cmdHIncrByFloat(c *Ctx) {
	incr, err := store.ParseHashFloatIncr(c.Args[3])
	if err != nil {
		c.Error(err.Error())
		return
	}
	h, ok := hashWriteOrCreate(c, c.Args[1])
	if !ok {
		return
	}
	v, err := h.IncrByFloat(c.Args[2], incr, collLimits(c))
	if err != nil {
		c.Error(err.Error())
		return
	}
	c.W.Bulk(v)
	c.Modified(c.Args[1])
	if c.Propagating() {
		// HSET key field <result>: float formatting cannot differ on
		// the replicas (v is a fresh buffer).
		c.Propagate(bHSet, c.Args[1], c.Args[2], v)
	}
}

// collMaxLong is C's LONG_MAX on the 64-bit platforms Redis is built for.
const collMaxLong = 1<<63 - 1

// errCollCountRange is getRangeLongFromObjectOrReply's message for
// -LONG_MAX..LONG_MAX (HRANDFIELD, SRANDMEMBER counts).
const errCollCountRange = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"

// parseCollRandCount parses a HRANDFIELD/SRANDMEMBER count; it replies and
// returns false on error.
func parseCollRandCount(c *Ctx, b []byte) (int64, bool) {
	l, ok := resp.ParseInt(b)
	if !ok {
		c.Error(resp.ErrNotInteger)
		return 0, false
	}
	if l < -collMaxLong {
		c.Error(errCollCountRange)
		return 0, false
	}
	return l, true
}

func cmdHRandField(c *Ctx) {
	if len(c.Args) == 2 {
		h, ok := hashRead(c, c.Args[1])
		if !ok {
			return
		}
		if h == nil {
			c.W.Null()
			return
		}
		f, _ := h.RandomPair()
		c.W.Bulk(f)
		return
	}
	l, ok := parseCollRandCount(c, c.Args[2])
	if !ok {
		return
	}
	withValues := false
	if len(c.Args) > 4 || (len(c.Args) == 4 && !collEqualFold(c.Args[3], "withvalues")) {
		c.Error(resp.ErrSyntax)
		return
	}
	if len(c.Args) == 4 {
		withValues = true
		if l < -collMaxLong/2 || l > collMaxLong/2 {
			c.Error("ERR value is out of range")
			return
		}
	}
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h == nil || l == 0 {
		c.W.Array(0)
		return
	}
	count, unique := l, true
	if l < 0 {
		count, unique = -l, false
	}
	resp3 := c.W.Proto > 2
	emit := func(f, v []byte) {
		if withValues && resp3 {
			c.W.Array(2)
		}
		c.W.Bulk(f)
		if withValues {
			c.W.Bulk(v)
		}
	}
	header := func(n int64) {
		if withValues && !resp3 {
			c.W.Array(int(2 * n))
		} else {
			c.W.Array(int(n))
		}
	}
	size := int64(h.Len())
	switch {
	case !unique || count == 1:
		header(count)
		h.RandomPairs(int(count), emit)
	case count >= size:
		header(size)
		h.ForEach(func(f, v []byte) bool {
			emit(f, v)
			return true
		})
	default:
		header(count)
		h.DistinctPairs(int(count), emit)
	}
}

func cmdHScan(c *Ctx) {
	cursor, ok := parseCollCursor(c.Args[2])
	if !ok {
		c.Error("ERR invalid cursor")
		return
	}
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		writeCollEmptyScan(c)
		return
	}
	count, pattern, ok := parseCollScanOptions(c, 3)
	if !ok {
		return
	}
	var out [][]byte
	next := h.Scan(cursor, count, func(f, v []byte) {
		if pattern != nil && !store.GlobMatch(pattern, f, false) {
			return
		}
		out = append(out, f, v)
	})
	writeCollScanReply(c, next, out)
}

// parseCollCursor parses a SCAN-family cursor like Redis's strtoul-based
// parseScanCursorOrReply: no leading space, optional sign (a '-' wraps
// around), decimal digits, no trailing bytes, no overflow.
func parseCollCursor(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	if b[0] == ' ' || (b[0] >= '\t' && b[0] <= '\r') {
		return 0, false
	}
	i, neg := 0, false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		i++
	}
	if i == len(b) {
		return 0, false
	}
	var v uint64
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 {
			return 0, false
		}
		if v > (1<<64-1)/10 || v*10 > 1<<64-1-uint64(d) {
			return 0, false
		}
		v = v*10 + uint64(d)
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseCollScanOptions parses HSCAN/SSCAN's COUNT and MATCH options from
// c.Args[i:]; pattern is nil when every element matches. It replies and
// returns false on error.
func parseCollScanOptions(c *Ctx, i int) (count int, pattern []byte, ok bool) {
	count = 10
	for i < len(c.Args) {
		more := len(c.Args) - i
		switch {
		case collEqualFold(c.Args[i], "count") && more >= 2:
			n, ok := resp.ParseInt(c.Args[i+1])
			if !ok {
				c.Error(resp.ErrNotInteger)
				return 0, nil, false
			}
			if n < 1 {
				c.Error(resp.ErrSyntax)
				return 0, nil, false
			}
			if n > 1<<40 {
				n = 1 << 40
			}
			count = int(n)
			i += 2
		case collEqualFold(c.Args[i], "match") && more >= 2:
			pattern = c.Args[i+1]
			if len(pattern) == 1 && pattern[0] == '*' {
				pattern = nil
			}
			i += 2
		default:
			c.Error(resp.ErrSyntax)
			return 0, nil, false
		}
	}
	return count, pattern, true
}

// writeCollEmptyScan is Redis's shared.emptyscan: cursor 0, no elements.
func writeCollEmptyScan(c *Ctx) {
	c.W.Array(2)
	c.W.BulkString("0")
	c.W.Array(0)
}

// writeCollScanReply writes [cursor, [elements...]]; the cursor is printed as
// a signed 64-bit number like Redis's addReplyBulkLongLong.
func writeCollScanReply(c *Ctx, cursor uint64, elems [][]byte) {
	c.W.Array(2)
	var buf [24]byte
	c.W.Bulk(strconv.AppendInt(buf[:0], int64(cursor), 10))
	c.W.Array(len(elems))
	for _, e := range elems {
		c.W.Bulk(e)
	}
}

// collEqualFold reports whether b equals the lower-case word lower,
// ignoring ASCII case (strcasecmp).
func collEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
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
