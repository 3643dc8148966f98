package server

import (
	"bytes"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

// listCommands are Redis 7.0's list group, blocking commands included
// (their waiting part lives in blocking.go).
func listCommands() []*Command {
	one := func(name string, arity int, flags Flag, h func(*Ctx), since string, cats ...string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 1, LastKey: 1, Step: 1, Handler: h, Group: "list", Since: since, Categories: cats}
	}
	two := func(name string, arity int, flags Flag, h func(*Ctx), since string, cats ...string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 1, LastKey: 2, Step: 1, Handler: h, Group: "list", Since: since, Categories: cats}
	}
	wdf := FlagWrite | FlagDenyOOM | FlagFast
	return []*Command{
		one("lpush", -3, wdf, cmdLPush, "1.0.0", "write", "list", "fast"),
		one("rpush", -3, wdf, cmdRPush, "1.0.0", "write", "list", "fast"),
		one("lpushx", -3, wdf, cmdLPushX, "2.2.0", "write", "list", "fast"),
		one("rpushx", -3, wdf, cmdRPushX, "2.2.0", "write", "list", "fast"),
		one("lpop", -2, FlagWrite|FlagFast, cmdLPop, "1.0.0", "write", "list", "fast"),
		one("rpop", -2, FlagWrite|FlagFast, cmdRPop, "1.0.0", "write", "list", "fast"),
		one("llen", 2, FlagReadOnly|FlagFast, cmdLLen, "1.0.0", "read", "list", "fast"),
		one("lindex", 3, FlagReadOnly, cmdLIndex, "1.0.0", "read", "list", "slow"),
		one("lset", 4, FlagWrite|FlagDenyOOM, cmdLSet, "1.0.0", "write", "list", "slow"),
		one("lrange", 4, FlagReadOnly, cmdLRange, "1.0.0", "read", "list", "slow"),
		one("ltrim", 4, FlagWrite, cmdLTrim, "1.0.0", "write", "list", "slow"),
		one("lrem", 4, FlagWrite, cmdLRem, "1.0.0", "write", "list", "slow"),
		one("linsert", 5, FlagWrite|FlagDenyOOM, cmdLInsert, "2.2.0", "write", "list", "slow"),
		one("lpos", -3, FlagReadOnly, cmdLPos, "6.0.6", "read", "list", "slow"),
		two("lmove", 5, FlagWrite|FlagDenyOOM, cmdLMove, "6.2.0", "write", "list", "slow"),
		two("rpoplpush", 3, FlagWrite|FlagDenyOOM, cmdRPopLPush, "1.2.0", "write", "list", "slow"),
		{Name: "lmpop", Arity: -4, Flags: FlagWrite, Keys: listMPopKeys(1), Handler: cmdLMPop, Group: "list", Since: "7.0.0", Categories: []string{"write", "list", "slow"}},
		{Name: "blpop", Arity: -3, Flags: FlagWrite | FlagNoScript | FlagBlocking, FirstKey: 1, LastKey: -2, Step: 1, Handler: cmdBLPop, Group: "list", Since: "2.0.0", Categories: []string{"write", "list", "slow", "blocking"}},
		{Name: "brpop", Arity: -3, Flags: FlagWrite | FlagNoScript | FlagBlocking, FirstKey: 1, LastKey: -2, Step: 1, Handler: cmdBRPop, Group: "list", Since: "2.0.0", Categories: []string{"write", "list", "slow", "blocking"}},
		two("blmove", 6, FlagWrite|FlagDenyOOM|FlagNoScript|FlagBlocking, cmdBLMove, "6.2.0", "write", "list", "slow", "blocking"),
		two("brpoplpush", 4, FlagWrite|FlagDenyOOM|FlagNoScript|FlagBlocking, cmdBRPopLPush, "2.2.0", "write", "list", "slow", "blocking"),
		{Name: "blmpop", Arity: -5, Flags: FlagWrite | FlagBlocking, Keys: listMPopKeys(2), Handler: cmdBLMPop, Group: "list", Since: "7.0.0", Categories: []string{"write", "list", "slow", "blocking"}},
	}
}

// listMPopKeys returns the key finder of LMPOP (numkeys at 1) and BLMPOP
// (numkeys at 2): no keys when numkeys is invalid, as Redis's getkeys.
func listMPopKeys(numkeysIdx int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		if numkeysIdx >= len(args) {
			return nil
		}
		n, ok := resp.ParseInt(args[numkeysIdx])
		if !ok || n <= 0 || n > int64(len(args)-numkeysIdx-1) {
			return nil
		}
		out := make([]int, n)
		for i := range out {
			out[i] = numkeysIdx + 1 + i
		}
		return out
	}
}

// Ends of a list.
const (
	listHead = iota
	listTail
)

// listParseWhere parses LEFT|RIGHT; it replies a syntax error otherwise.
func listParseWhere(c *Ctx, b []byte) (int, bool) {
	switch {
	case keyArgIs(b, "left"):
		return listHead, true
	case keyArgIs(b, "right"):
		return listTail, true
	}
	c.Error(resp.ErrSyntax)
	return 0, false
}

// listLookupWrite returns the list at key, nil when missing; ok is false
// (WRONGTYPE replied) when the key holds another type.
func listLookupWrite(c *Ctx, key []byte) (*store.List, bool) {
	return lookupAs[*store.List](c, key, store.TypeList, false)
}

// listLookupRead is listLookupWrite counting keyspace hits and misses
// (Redis counts a hit for a key of any type).
func listLookupRead(c *Ctx, key []byte) (*store.List, bool) {
	return lookupAs[*store.List](c, key, store.TypeList, true)
}

func listPop(l *store.List, where int) ([]byte, bool) {
	if where == listHead {
		return l.PopFront()
	}
	return l.PopBack()
}

func listPush(l *store.List, where int, v []byte) {
	if where == listHead {
		l.PushFront(v)
	} else {
		l.PushBack(v)
	}
}

// listDeleteIfEmpty removes a list key left without elements.
func listDeleteIfEmpty(c *Ctx, key []byte, l *store.List) {
	if l.Len() == 0 {
		c.DB.Delete(key, c.Now)
	}
}

// listGetLong parses an integer argument, replying msg (or the generic
// integer error) when it is not one.
func listGetLong(c *Ctx, b []byte) (int64, bool) {
	v, ok := resp.ParseInt(b)
	if !ok {
		c.Error(resp.ErrNotInteger)
	}
	return v, ok
}

// listGetRange parses an integer in [min, max], replying msg otherwise
// (Redis's getRangeLongFromObjectOrReply with a message).
func listGetRange(c *Ctx, b []byte, min, max int64, msg string) (int64, bool) {
	v, ok := resp.ParseInt(b)
	if !ok || v < min || v > max {
		c.Error(msg)
		return 0, false
	}
	return v, true
}

// --- push ---

func listPushGeneric(c *Ctx, where int, onlyExisting bool) {
	key := c.Args[1]
	l, ok := listLookupWrite(c, key)
	if !ok {
		return
	}
	if l == nil {
		if onlyExisting {
			c.W.Int(0)
			return
		}
		l = store.NewList()
		l.PushMany(c.Args[2:], where == listHead)
		c.Set(key, &store.Object{Type: store.TypeList, Val: l})
	} else {
		l.PushMany(c.Args[2:], where == listHead)
	}
	c.Modified(key)
	c.Dirty += len(c.Args) - 3
	c.W.Int(int64(l.Len()))
}

func cmdLPush(c *Ctx)  { listPushGeneric(c, listHead, false) }
func cmdRPush(c *Ctx)  { listPushGeneric(c, listTail, false) }
func cmdLPushX(c *Ctx) { listPushGeneric(c, listHead, true) }
func cmdRPushX(c *Ctx) { listPushGeneric(c, listTail, true) }

// --- pop ---

func listPopGeneric(c *Ctx, where int) {
	if len(c.Args) > 3 {
		c.ArityError()
		return
	}
	hasCount := len(c.Args) == 3
	var count int64
	if hasCount {
		var ok bool
		if count, ok = listGetRange(c, c.Args[2], 0, 1<<63-1, "ERR value is out of range, must be positive"); !ok {
			return
		}
	}
	key := c.Args[1]
	l, ok := listLookupWrite(c, key)
	if !ok {
		return
	}
	if l == nil {
		if hasCount {
			c.W.NullArray()
		} else {
			c.W.Null()
		}
		return
	}
	if !hasCount {
		v, _ := listPop(l, where)
		c.W.Bulk(v)
	} else {
		n := int64(l.Len())
		if count < n {
			n = count
		}
		c.W.Array(int(n))
		for i := int64(0); i < n; i++ {
			v, _ := listPop(l, where)
			c.W.Bulk(v)
		}
		if n == 0 {
			return
		}
	}
	listDeleteIfEmpty(c, key, l)
	c.Modified(key)
}

func cmdLPop(c *Ctx) { listPopGeneric(c, listHead) }
func cmdRPop(c *Ctx) { listPopGeneric(c, listTail) }

// --- read commands ---

func cmdLLen(c *Ctx) {
	l, ok := listLookupRead(c, c.Args[1])
	if !ok {
		return
	}
	if l == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(l.Len()))
}

func cmdLIndex(c *Ctx) {
	l, ok := listLookupRead(c, c.Args[1])
	if !ok {
		return
	}
	if l == nil {
		c.W.Null()
		return
	}
	idx, ok := listGetLong(c, c.Args[2])
	if !ok {
		return
	}
	if idx < -(1<<62) || idx > 1<<62 {
		c.W.Null()
		return
	}
	v, found := l.Index(int(idx))
	if !found {
		c.W.Null()
		return
	}
	c.W.Bulk(v)
}

// listRange clamps a Redis [start, end] range to the list; ok is false
// when the range is empty.
func listRange(start, end, n int64) (int64, int64, bool) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= n {
		return 0, 0, false
	}
	if end >= n {
		end = n - 1
	}
	return start, end, true
}

func cmdLRange(c *Ctx) {
	start, ok := listGetLong(c, c.Args[2])
	if !ok {
		return
	}
	end, ok := listGetLong(c, c.Args[3])
	if !ok {
		return
	}
	l, ok := listLookupRead(c, c.Args[1])
	if !ok {
		return
	}
	if l == nil {
		c.W.Array(0)
		return
	}
	start, end, nonEmpty := listRange(start, end, int64(l.Len()))
	if !nonEmpty {
		c.W.Array(0)
		return
	}
	n := int(end - start + 1)
	c.W.Array(n)
	it := l.Iter(int(start), false)
	for i := 0; i < n; i++ {
		v, _ := it.Next()
		c.W.Bulk(v)
	}
}

func cmdLPos(c *Ctx) {
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for j := 3; j < len(c.Args); j++ {
		opt := c.Args[j]
		more := j < len(c.Args)-1
		var ok bool
		switch {
		case keyArgIs(opt, "rank") && more:
			j++
			if rank, ok = listGetLong(c, c.Args[j]); !ok {
				return
			}
			if rank == 0 {
				c.Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
				return
			}
		case keyArgIs(opt, "count") && more:
			j++
			if count, ok = listGetRange(c, c.Args[j], 0, 1<<63-1, "ERR COUNT can't be negative"); !ok {
				return
			}
		case keyArgIs(opt, "maxlen") && more:
			j++
			if maxlen, ok = listGetRange(c, c.Args[j], 0, 1<<63-1, "ERR MAXLEN can't be negative"); !ok {
				return
			}
		default:
			c.Error(resp.ErrSyntax)
			return
		}
	}
	reverse := false
	if rank < 0 {
		rank = -rank // -LONG_MIN stays negative, as in Redis: every match qualifies
		reverse = true
	}
	l, ok := listLookupRead(c, c.Args[1])
	if !ok {
		return
	}
	if l == nil {
		if count != -1 {
			c.W.Array(0)
		} else {
			c.W.Null()
		}
		return
	}
	ele := c.Args[2]
	n := int64(l.Len())
	start := 0
	if reverse {
		start = int(n - 1)
	}
	it := l.Iter(start, reverse)
	var matches int64
	var found []int64
	for index := int64(0); maxlen == 0 || index < maxlen; index++ {
		v, more := it.Next()
		if !more {
			break
		}
		if !bytes.Equal(v, ele) {
			continue
		}
		matches++
		if matches < rank {
			continue
		}
		pos := index
		if reverse {
			pos = n - index - 1
		}
		found = append(found, pos)
		if count == -1 || (count != 0 && matches-rank+1 >= count) {
			break
		}
	}
	if count != -1 {
		c.W.Array(len(found))
		for _, p := range found {
			c.W.Int(p)
		}
		return
	}
	if len(found) == 0 {
		c.W.Null()
		return
	}
	c.W.Int(found[0])
}

// --- other writes ---

func cmdLSet(c *Ctx) {
	key := c.Args[1]
	l, ok := listLookupWrite(c, key)
	if !ok {
		return
	}
	if l == nil {
		c.Error(resp.ErrNoSuchKey)
		return
	}
	idx, ok := listGetLong(c, c.Args[2])
	if !ok {
		return
	}
	if idx < -(1<<62) || idx > 1<<62 || !l.Set(int(idx), c.Args[3]) {
		c.Error(resp.ErrOutOfRange)
		return
	}
	c.Modified(key)
	c.W.OK()
}

func cmdLTrim(c *Ctx) {
	start, ok := listGetLong(c, c.Args[2])
	if !ok {
		return
	}
	end, ok := listGetLong(c, c.Args[3])
	if !ok {
		return
	}
	key := c.Args[1]
	l, ok := listLookupWrite(c, key)
	if !ok {
		return
	}
	if l == nil {
		c.W.OK()
		return
	}
	n := int64(l.Len())
	start, end, nonEmpty := listRange(start, end, n)
	if !nonEmpty {
		l.TrimFront(int(n))
	} else {
		l.TrimBack(int(n - end - 1))
		l.TrimFront(int(start))
	}
	listDeleteIfEmpty(c, key, l)
	// Redis counts the removed elements: an LTRIM that removes nothing
	// is not propagated, though it still touches WATCHed keys.
	c.S.touchWatched(c.DB.ID, key)
	c.Dirty += int(n) - l.Len()
	c.W.OK()
}

func cmdLRem(c *Ctx) {
	count, ok := listGetLong(c, c.Args[2])
	if !ok {
		return
	}
	key := c.Args[1]
	l, ok := listLookupWrite(c, key)
	if !ok {
		return
	}
	if l == nil {
		c.W.Int(0)
		return
	}
	if count < -(1 << 62) {
		count = -(1 << 62)
	} else if count > 1<<62 {
		count = 1 << 62
	}
	removed := l.Remove(int(count), c.Args[3])
	if removed > 0 {
		listDeleteIfEmpty(c, key, l)
		c.Modified(key)
	}
	c.W.Int(int64(removed))
}

func cmdLInsert(c *Ctx) {
	var after bool
	switch {
	case keyArgIs(c.Args[2], "after"):
		after = true
	case keyArgIs(c.Args[2], "before"):
	default:
		c.Error(resp.ErrSyntax)
		return
	}
	key := c.Args[1]
	l, ok := listLookupWrite(c, key)
	if !ok {
		return
	}
	if l == nil {
		c.W.Int(0)
		return
	}
	if !l.Insert(c.Args[3], c.Args[4], after) {
		c.W.Int(-1)
		return
	}
	c.Modified(key)
	c.W.Int(int64(l.Len()))
}

// --- moves ---

// listMoveOne pops from src (a non-empty list) and pushes onto dst, which
// the caller checked is a list or missing; it replies the element.
func listMoveOne(c *Ctx, srcKey []byte, src *store.List, dstKey []byte, dst *store.List, from, to int) {
	v, _ := listPop(src, from)
	if dst == src {
		v = append([]byte(nil), v...) // the push may reuse the popped bytes
	}
	if dst == nil {
		dst = store.NewList()
		listPush(dst, to, v)
		c.Set(dstKey, &store.Object{Type: store.TypeList, Val: dst})
	} else {
		listPush(dst, to, v)
	}
	c.Modified(dstKey)
	c.W.Bulk(v)
	listDeleteIfEmpty(c, srcKey, src)
	c.Modified(srcKey)
}

// listMove is LMOVE's body: nil bulk when the source is missing.
func listMove(c *Ctx, from, to int) {
	srcKey, dstKey := c.Args[1], c.Args[2]
	src, ok := listLookupWrite(c, srcKey)
	if !ok {
		return
	}
	if src == nil {
		c.W.Null()
		return
	}
	dst, ok := listLookupWrite(c, dstKey)
	if !ok {
		return
	}
	listMoveOne(c, srcKey, src, dstKey, dst, from, to)
}

func cmdLMove(c *Ctx) {
	from, ok := listParseWhere(c, c.Args[3])
	if !ok {
		return
	}
	to, ok := listParseWhere(c, c.Args[4])
	if !ok {
		return
	}
	listMove(c, from, to)
}

func cmdRPopLPush(c *Ctx) { listMove(c, listTail, listHead) }

func cmdBLMove(c *Ctx) {
	from, ok := listParseWhere(c, c.Args[3])
	if !ok {
		return
	}
	to, ok := listParseWhere(c, c.Args[4])
	if !ok {
		return
	}
	deadline, ok := c.ParseBlockTimeout(c.Args[5])
	if !ok {
		return
	}
	listBlockingMove(c, from, to, deadline)
}

func cmdBRPopLPush(c *Ctx) {
	deadline, ok := c.ParseBlockTimeout(c.Args[3])
	if !ok {
		return
	}
	listBlockingMove(c, listTail, listHead, deadline)
}

func listBlockingMove(c *Ctx, from, to int, deadline int64) {
	src, ok := listLookupWrite(c, c.Args[1])
	if !ok {
		return
	}
	if src != nil {
		dirty := c.Dirty
		listMove(c, from, to)
		if c.Dirty > dirty && c.Propagating() {
			// The non-blocking twin, with the arguments as received.
			if c.Cmd.Name == "brpoplpush" {
				c.Propagate(bRPopLPush, c.Args[1], c.Args[2])
			} else {
				c.Propagate(bLMove, c.Args[1], c.Args[2], c.Args[3], c.Args[4])
			}
		}
		return
	}
	if !c.CanBlock() {
		c.W.Null()
		return
	}
	c.Block(BlockOptions{
		Keys:      c.Args[1:2],
		Deadline:  deadline,
		ExtraKeys: c.Args[2:3],
		Serve: func(c *Ctx, key []byte) bool {
			src, ok := listServeLookup(c, key)
			if !ok {
				return false
			}
			dstKey := c.Args[2]
			var dst *store.List
			if o := c.Lookup(dstKey); o != nil {
				if o.Type != store.TypeList {
					// Redis 7.0 unblocks the client with the error and
					// leaves the element for the next one.
					c.Error(resp.ErrWrongType)
					return true
				}
				dst = o.Val.(*store.List)
			}
			listMoveOne(c, key, src, dstKey, dst, from, to)
			if c.Propagating() {
				// serveClientBlockedOnList: LMOVE src dst left|right
				// left|right (lower case), or RPOPLPUSH src dst.
				if c.Cmd.Name == "brpoplpush" {
					c.Propagate(bRPopLPush, key, dstKey)
				} else {
					c.Propagate(bLMove, key, dstKey, listWhereArg(from), listWhereArg(to))
				}
			}
			return true
		},
	})
}

// listWhereArg is the propagated name of a list end.
func listWhereArg(where int) []byte {
	if where == listHead {
		return bLeft
	}
	return bRight
}

// listPopName is the pop command of a list end.
func listPopName(where int) []byte {
	if where == listHead {
		return bLPop
	}
	return bRPop
}

// listServeLookup returns the non-empty list at a ready key, if any.
func listServeLookup(c *Ctx, key []byte) (*store.List, bool) {
	o := c.Lookup(key)
	if o == nil || o.Type != store.TypeList {
		return nil, false
	}
	l := o.Val.(*store.List)
	return l, l.Len() > 0
}

// --- multi-key pops ---

// listPopReply pops one element from a non-empty list and replies
// [key, element] (BLPOP/BRPOP).
func listPopReply(c *Ctx, key []byte, l *store.List, where int) {
	v, _ := listPop(l, where)
	c.W.Array(2)
	c.W.Bulk(key)
	c.W.Bulk(v)
	listDeleteIfEmpty(c, key, l)
	c.Modified(key)
	propagateKey(c, listPopName(where), key) // BLPOP -> LPOP key
}

// listPopRangeReply pops up to count elements and replies [key, [elements]]
// (LMPOP/BLMPOP).
func listPopRangeReply(c *Ctx, key []byte, l *store.List, where int, count int64) {
	n := int64(l.Len())
	if count < n {
		n = count
	}
	c.W.Array(2)
	c.W.Bulk(key)
	c.W.Array(int(n))
	for i := int64(0); i < n; i++ {
		v, _ := listPop(l, where)
		c.W.Bulk(v)
	}
	listDeleteIfEmpty(c, key, l)
	c.Modified(key)
	propagateCount(c, listPopName(where), key, n) // [B]LMPOP -> LPOP key n
}

func listBlockingPop(c *Ctx, where int) {
	deadline, ok := c.ParseBlockTimeout(c.Args[len(c.Args)-1])
	if !ok {
		return
	}
	blockingListPop(c, c.Args[1:len(c.Args)-1], deadline, func(c *Ctx, key []byte, l *store.List) {
		listPopReply(c, key, l, where)
	})
}

func cmdBLPop(c *Ctx) { listBlockingPop(c, listHead) }
func cmdBRPop(c *Ctx) { listBlockingPop(c, listTail) }

// listMPopArgs parses [B]LMPOP's numkeys, keys, LEFT|RIGHT and COUNT,
// numkeys being at position idx.
func listMPopArgs(c *Ctx, idx int) (keys [][]byte, where int, count int64, ok bool) {
	numkeys, ok := listGetRange(c, c.Args[idx], 1, 1<<63-1, "ERR numkeys should be greater than 0")
	if !ok {
		return nil, 0, 0, false
	}
	if numkeys >= int64(len(c.Args)) {
		c.Error(resp.ErrSyntax)
		return nil, 0, 0, false
	}
	whereIdx := int64(idx) + numkeys + 1
	if whereIdx >= int64(len(c.Args)) {
		c.Error(resp.ErrSyntax)
		return nil, 0, 0, false
	}
	if where, ok = listParseWhere(c, c.Args[whereIdx]); !ok {
		return nil, 0, 0, false
	}
	count = -1
	for j := int(whereIdx) + 1; j < len(c.Args); j++ {
		if count == -1 && keyArgIs(c.Args[j], "count") && j < len(c.Args)-1 {
			j++
			if count, ok = listGetRange(c, c.Args[j], 1, 1<<63-1, "ERR count should be greater than 0"); !ok {
				return nil, 0, 0, false
			}
			continue
		}
		c.Error(resp.ErrSyntax)
		return nil, 0, 0, false
	}
	if count == -1 {
		count = 1
	}
	return c.Args[idx+1 : whereIdx], where, count, true
}

func cmdLMPop(c *Ctx) {
	keys, where, count, ok := listMPopArgs(c, 1)
	if !ok {
		return
	}
	for _, k := range keys {
		l, ok := listLookupWrite(c, k)
		if !ok {
			return
		}
		if l != nil && l.Len() > 0 {
			listPopRangeReply(c, k, l, where, count)
			return
		}
	}
	c.W.NullArray()
}

func cmdBLMPop(c *Ctx) {
	keys, where, count, ok := listMPopArgs(c, 2)
	if !ok {
		return
	}
	deadline, ok := c.ParseBlockTimeout(c.Args[1])
	if !ok {
		return
	}
	blockingListPop(c, keys, deadline, func(c *Ctx, key []byte, l *store.List) {
		listPopRangeReply(c, key, l, where, count)
	})
}

// blockingListPop is the shared path of BLPOP, BRPOP and BLMPOP: pop from
// the first key holding a non-empty list now, or block until one of the
// keys is served (a null array inside EXEC, where nothing blocks). pop
// writes the reply for key's non-empty list l.
func blockingListPop(c *Ctx, keys [][]byte, deadline int64, pop func(c *Ctx, key []byte, l *store.List)) {
	for _, k := range keys {
		l, ok := listLookupWrite(c, k)
		if !ok {
			return
		}
		if l != nil && l.Len() > 0 {
			pop(c, k, l)
			return
		}
	}
	if !c.CanBlock() {
		c.W.NullArray()
		return
	}
	c.Block(BlockOptions{
		Keys:     keys,
		Deadline: deadline,
		Serve: func(c *Ctx, key []byte) bool {
			l, ok := listServeLookup(c, key)
			if !ok {
				return false
			}
			pop(c, key, l)
			return true
		},
	})
}
