package server

import (
	"unsafe"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

// setCommands are Redis 7.0's set group.
func setCommands() []*Command {
	cmd := func(name string, arity int, flags Flag, first, last int, h func(*Ctx), since string, cats ...string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: first, LastKey: last, Step: 1,
			Handler: h, Group: "set", Since: since, Categories: cats}
	}
	rf := FlagReadOnly | FlagFast
	return []*Command{
		cmd("sadd", -3, FlagWrite|FlagDenyOOM|FlagFast, 1, 1, cmdSAdd, "1.0.0", "write", "set", "fast"),
		cmd("srem", -3, FlagWrite|FlagFast, 1, 1, cmdSRem, "1.0.0", "write", "set", "fast"),
		cmd("smembers", 2, FlagReadOnly, 1, 1, cmdSInter, "1.0.0", "read", "set", "slow"),
		cmd("sismember", 3, rf, 1, 1, cmdSIsMember, "1.0.0", "read", "set", "fast"),
		cmd("smismember", -3, rf, 1, 1, cmdSMIsMember, "6.2.0", "read", "set", "fast"),
		cmd("scard", 2, rf, 1, 1, cmdSCard, "1.0.0", "read", "set", "fast"),
		cmd("spop", -2, FlagWrite|FlagFast, 1, 1, cmdSPop, "1.0.0", "write", "set", "fast"),
		cmd("srandmember", -2, FlagReadOnly, 1, 1, cmdSRandMember, "1.0.0", "read", "set", "slow"),
		cmd("smove", 4, FlagWrite|FlagFast, 1, 2, cmdSMove, "1.0.0", "write", "set", "fast"),
		cmd("sinter", -2, FlagReadOnly, 1, -1, cmdSInter, "1.0.0", "read", "set", "slow"),
		{Name: "sintercard", Arity: -3, Flags: FlagReadOnly, Keys: sinterCardKeys, Handler: cmdSInterCard,
			Group: "set", Since: "7.0.0", Categories: []string{"read", "set", "slow"}},
		cmd("sinterstore", -3, FlagWrite|FlagDenyOOM, 1, -1, cmdSInterStore, "1.0.0", "write", "set", "slow"),
		cmd("sunion", -2, FlagReadOnly, 1, -1, cmdSUnion, "1.0.0", "read", "set", "slow"),
		cmd("sunionstore", -3, FlagWrite|FlagDenyOOM, 1, -1, cmdSUnionStore, "1.0.0", "write", "set", "slow"),
		cmd("sdiff", -2, FlagReadOnly, 1, -1, cmdSDiff, "1.0.0", "read", "set", "slow"),
		cmd("sdiffstore", -3, FlagWrite|FlagDenyOOM, 1, -1, cmdSDiffStore, "1.0.0", "write", "set", "slow"),
		cmd("sscan", -3, FlagReadOnly, 1, 1, cmdSScan, "2.8.0", "read", "set", "slow"),
	}
}

// setRead looks key up for a read command (keyspace hit/miss counted). It
// returns the set (nil when missing) and false after replying WRONGTYPE.
func setRead(c *Ctx, key []byte) (*store.Set, bool) {
	return lookupAs[*store.Set](c, key, store.TypeSet, true)
}

// setWrite looks key up for a write command: the set, nil when missing,
// false after replying WRONGTYPE.
func setWrite(c *Ctx, key []byte) (*store.Set, bool) {
	return lookupAs[*store.Set](c, key, store.TypeSet, false)
}

// setStore makes s the value of key, replacing any value and TTL.
func setStore(c *Ctx, key []byte, s *store.Set) {
	c.Set(key, &store.Object{Type: store.TypeSet, Val: s, LRU: store.LRUClock(c.Now)})
}

// writeSetMember replies with one member as a bulk string.
func writeSetMember(w *resp.Writer, m store.SetMember) {
	if m.IsInt {
		w.BulkInt(m.Int)
	} else {
		w.BulkString(m.Str)
	}
}

// writeWholeSet replies with every member of s in iteration order as a
// RESP3 set (an array in RESP2).
func writeWholeSet(c *Ctx, s *store.Set) {
	c.W.Set(s.Len())
	s.ForEach(func(m store.SetMember) bool {
		writeSetMember(c.W, m)
		return true
	})
}

func cmdSAdd(c *Ctx) {
	s, ok := setWrite(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		s = store.NewSet()
		setStore(c, c.Args[1], s)
	}
	added := 0
	lim := collLimits(c)
	for _, m := range c.Args[2:] {
		if s.Add(m, lim) {
			added++
		}
	}
	if added > 0 {
		collModifiedN(c, c.Args[1], added)
	}
	c.W.Int(int64(added))
}

func cmdSRem(c *Ctx) {
	s, ok := setWrite(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.W.Int(0)
		return
	}
	deleted := 0
	for _, m := range c.Args[2:] {
		if s.Remove(m) {
			deleted++
			if s.Len() == 0 {
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

func cmdSMove(c *Ctx) {
	src, dstKey, member := c.Args[1], c.Args[2], c.Args[3]
	so := c.Lookup(src)
	do := c.Lookup(dstKey)
	if so == nil {
		c.W.Int(0)
		return
	}
	if so.Type != store.TypeSet || (do != nil && do.Type != store.TypeSet) {
		c.Error(resp.ErrWrongType)
		return
	}
	ss := so.Val.(*store.Set)
	if so == do {
		if ss.Has(member) {
			c.W.Int(1)
		} else {
			c.W.Int(0)
		}
		return
	}
	if !ss.Remove(member) {
		c.W.Int(0)
		return
	}
	if ss.Len() == 0 {
		c.DB.Delete(src, c.Now)
	}
	var ds *store.Set
	if do == nil {
		ds = store.NewSet()
		setStore(c, dstKey, ds)
	} else {
		ds = do.Val.(*store.Set)
	}
	c.Modified(src)
	if ds.Add(member, collLimits(c)) {
		c.Modified(dstKey)
	}
	c.W.Int(1)
}

func cmdSIsMember(c *Ctx) {
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s != nil && s.Has(c.Args[2]) {
		c.W.Int(1)
	} else {
		c.W.Int(0)
	}
}

func cmdSMIsMember(c *Ctx) {
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if s != nil && s.Has(m) {
			c.W.Int(1)
		} else {
			c.W.Int(0)
		}
	}
}

func cmdSCard(c *Ctx) {
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(s.Len()))
}

func cmdSPop(c *Ctx) {
	if len(c.Args) > 3 {
		c.Error(resp.ErrSyntax)
		return
	}
	if len(c.Args) == 3 {
		spopWithCount(c)
		return
	}
	s, ok := setWrite(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.W.Null()
		return
	}
	m := s.Pop()
	writeSetMember(c.W, m)
	if s.Len() == 0 {
		c.DB.Delete(c.Args[1], c.Now)
	}
	c.Modified(c.Args[1])
	if c.Propagating() {
		// A random pop reaches the replicas as the removal of what it took.
		c.Propagate(bSRem, c.Args[1], setMemberArg(m))
	}
}

// setMemberArg is a member as a command argument.
func setMemberArg(m store.SetMember) []byte {
	if m.IsInt {
		return int64Arg(m.Int)
	}
	return []byte(m.Str)
}

func spopWithCount(c *Ctx) {
	l, ok := resp.ParseInt(c.Args[2])
	if !ok || l < 0 {
		c.Error("ERR value is out of range, must be positive")
		return
	}
	s, ok := setWrite(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil || l == 0 {
		c.W.Set(0)
		return
	}
	count := int(l)
	size := s.Len()
	if count >= size {
		// Redis replies through SUNION of the one key, then deletes it.
		writeWholeSet(c, store.SetUnion([]*store.Set{s}, collLimits(c)))
		c.DB.Delete(c.Args[1], c.Now)
		collModifiedN(c, c.Args[1], size)
		propagateKey(c, bDel, c.Args[1])
		return
	}
	c.W.Set(count)
	feeding := c.Propagating()
	for i := 0; i < count; i++ {
		m := s.Pop()
		writeSetMember(c.W, m)
		if feeding {
			// One SREM per member, wrapped in MULTI/EXEC (spopWithCountCommand).
			c.Propagate(bSRem, c.Args[1], setMemberArg(m))
		}
	}
	collModifiedN(c, c.Args[1], count)
}

func cmdSRandMember(c *Ctx) {
	if len(c.Args) > 3 {
		c.Error(resp.ErrSyntax)
		return
	}
	if len(c.Args) == 2 {
		s, ok := setRead(c, c.Args[1])
		if !ok {
			return
		}
		if s == nil {
			c.W.Null()
			return
		}
		writeSetMember(c.W, s.Random())
		return
	}
	l, ok := parseCollRandCount(c, c.Args[2])
	if !ok {
		return
	}
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil || l == 0 {
		c.W.Array(0)
		return
	}
	count, unique := l, true
	if l < 0 {
		count, unique = -l, false
	}
	size := int64(s.Len())
	switch {
	case !unique || count == 1:
		c.W.Array(int(count))
		for ; count > 0; count-- {
			writeSetMember(c.W, s.Random())
		}
	case count >= size:
		c.W.Array(int(size))
		s.ForEach(func(m store.SetMember) bool {
			writeSetMember(c.W, m)
			return true
		})
	default:
		c.W.Array(int(count))
		s.DistinctMembers(int(count), func(m store.SetMember) { writeSetMember(c.W, m) })
	}
}

// setsForRead looks up the source keys of SINTER/SUNION/SDIFF and friends
// in order: missing keys give nil entries. It replies WRONGTYPE and returns
// false at the first key of another type.
func setsForRead(c *Ctx, keys [][]byte) ([]*store.Set, bool) {
	sets := make([]*store.Set, len(keys))
	for i, k := range keys {
		s, ok := setRead(c, k)
		if !ok {
			return nil, false
		}
		sets[i] = s
	}
	return sets, true
}

// storeSetResult stores a *STORE result in dst (deleting dst when the
// result is empty) and replies with its cardinality.
func storeSetResult(c *Ctx, dst []byte, res *store.Set) {
	if res.Len() > 0 {
		setStore(c, dst, res)
		c.Modified(dst)
		c.W.Int(int64(res.Len()))
		return
	}
	if c.DB.Delete(dst, c.Now) {
		c.Modified(dst)
	}
	c.W.Int(0)
}

// hasNilSet reports whether a key of an intersection is missing.
func hasNilSet(sets []*store.Set) bool {
	for _, s := range sets {
		if s == nil {
			return true
		}
	}
	return false
}

// cmdSInter serves SINTER and SMEMBERS.
func cmdSInter(c *Ctx) {
	sets, ok := setsForRead(c, c.Args[1:])
	if !ok {
		return
	}
	if hasNilSet(sets) {
		c.W.Set(0)
		return
	}
	if len(sets) == 1 {
		writeWholeSet(c, sets[0])
		return
	}
	var out []store.SetMember
	store.SetInter(sets, func(m store.SetMember) bool {
		out = append(out, m)
		return true
	})
	c.W.Set(len(out))
	for _, m := range out {
		writeSetMember(c.W, m)
	}
}

func cmdSInterStore(c *Ctx) {
	sets, ok := setsForRead(c, c.Args[2:])
	if !ok {
		return
	}
	res := store.NewSet()
	if !hasNilSet(sets) {
		lim := collLimits(c)
		store.SetInter(sets, func(m store.SetMember) bool {
			res.AddMember(m, lim)
			return true
		})
	}
	storeSetResult(c, c.Args[1], res)
}

// sinterCardKeys returns the key positions of SINTERCARD numkeys key ...
func sinterCardKeys(args [][]byte) []int {
	if len(args) < 3 {
		return nil
	}
	n, ok := resp.ParseInt(args[1])
	if !ok || n < 1 || n > int64(len(args)-2) {
		return nil
	}
	pos := make([]int, n)
	for i := range pos {
		pos[i] = 2 + i
	}
	return pos
}

func cmdSInterCard(c *Ctx) {
	numKeys, ok := resp.ParseInt(c.Args[1])
	if !ok || numKeys < 1 {
		c.Error("ERR numkeys should be greater than 0")
		return
	}
	if numKeys > int64(len(c.Args)-2) {
		c.Error("ERR Number of keys can't be greater than number of args")
		return
	}
	limit := int64(0)
	for j := 2 + int(numKeys); j < len(c.Args); j++ {
		if collEqualFold(c.Args[j], "limit") && j+1 < len(c.Args) {
			j++
			n, ok := resp.ParseInt(c.Args[j])
			if !ok || n < 0 {
				c.Error("ERR LIMIT can't be negative")
				return
			}
			limit = n
			continue
		}
		c.Error(resp.ErrSyntax)
		return
	}
	sets, ok := setsForRead(c, c.Args[2:2+numKeys])
	if !ok {
		return
	}
	if hasNilSet(sets) {
		c.W.Int(0)
		return
	}
	var card int64
	store.SetInter(sets, func(store.SetMember) bool {
		card++
		return limit == 0 || card < limit
	})
	c.W.Int(card)
}

func cmdSUnion(c *Ctx) {
	sets, ok := setsForRead(c, c.Args[1:])
	if !ok {
		return
	}
	writeWholeSet(c, store.SetUnion(sets, collLimits(c)))
}

func cmdSUnionStore(c *Ctx) {
	sets, ok := setsForRead(c, c.Args[2:])
	if !ok {
		return
	}
	storeSetResult(c, c.Args[1], store.SetUnion(sets, collLimits(c)))
}

func cmdSDiff(c *Ctx) {
	sets, ok := setsForRead(c, c.Args[1:])
	if !ok {
		return
	}
	writeWholeSet(c, store.SetDiff(sets, collLimits(c)))
}

func cmdSDiffStore(c *Ctx) {
	sets, ok := setsForRead(c, c.Args[2:])
	if !ok {
		return
	}
	storeSetResult(c, c.Args[1], store.SetDiff(sets, collLimits(c)))
}

func cmdSScan(c *Ctx) {
	cursor, ok := parseCollCursor(c.Args[2])
	if !ok {
		c.Error("ERR invalid cursor")
		return
	}
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		writeCollEmptyScan(c)
		return
	}
	count, pattern, ok := parseCollScanOptions(c, 3)
	if !ok {
		return
	}
	var out [][]byte
	next := s.Scan(cursor, count, func(m store.SetMember) {
		var b []byte
		if m.IsInt {
			b = m.AppendTo(nil)
		} else {
			b = unsafe.Slice(unsafe.StringData(m.Str), len(m.Str)) // read-only view
		}
		if pattern != nil && !store.GlobMatch(pattern, b, false) {
			return
		}
		out = append(out, b)
	})
	writeCollScanReply(c, next, out)
}
