package server

import (
	"strconv"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

// Sorted set commands (Redis 7.0's t_zset.c). The range, set-operation and
// pop families live in cmd_zset_range.go, cmd_zset_setop.go and
// cmd_zset_pop.go.

func zsetCommands() []*Command {
	const (
		w   = FlagWrite
		r   = FlagReadOnly
		dom = FlagDenyOOM
		f   = FlagFast
	)
	wf := []string{"write", "sortedset", "fast"}
	ws := []string{"write", "sortedset", "slow"}
	rf := []string{"read", "sortedset", "fast"}
	rs := []string{"read", "sortedset", "slow"}
	one := func(name string, arity int, flags Flag, h func(*Ctx), cats []string, since, summary, complexity string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 1, LastKey: 1, Step: 1, Handler: h,
			Categories: cats, Group: "sorted-set", Since: since, Summary: summary, Complexity: complexity}
	}
	movable := func(name string, arity int, flags Flag, keys func([][]byte) []int, h func(*Ctx), cats []string, since, summary, complexity string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, Keys: keys, Handler: h,
			Categories: cats, Group: "sorted-set", Since: since, Summary: summary, Complexity: complexity}
	}
	store1 := func(c *Command) *Command { // destination key at 1 in the legacy key range
		c.FirstKey, c.LastKey, c.Step = 1, 1, 1
		return c
	}
	const logN = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."
	const logNM = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."
	const remN = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."
	const popN = "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."
	const mpopN = "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."
	const unionN = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."
	const interN = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."
	const diffN = "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."
	return []*Command{
		one("zadd", -4, w|dom|f, cmdZAdd, wf, "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists", "O(log(N)) for each item added, where N is the number of elements in the sorted set."),
		one("zincrby", 4, w|dom|f, cmdZIncrBy, wf, "1.2.0", "Increment the score of a member in a sorted set", "O(log(N)) where N is the number of elements in the sorted set."),
		one("zrem", -3, w|f, cmdZRem, wf, "1.2.0", "Remove one or more members from a sorted set", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed."),
		one("zcard", 2, r|f, cmdZCard, rf, "1.2.0", "Get the number of members in a sorted set", "O(1)"),
		one("zcount", 4, r|f, cmdZCount, rf, "2.0.0", "Count the members in a sorted set with scores within the given values", "O(log(N)) with N being the number of elements in the sorted set."),
		one("zlexcount", 4, r|f, cmdZLexCount, rf, "2.8.9", "Count the number of members in a sorted set between a given lexicographical range", "O(log(N)) with N being the number of elements in the sorted set."),
		one("zscore", 3, r|f, cmdZScore, rf, "1.2.0", "Get the score associated with the given member in a sorted set", "O(1)"),
		one("zmscore", -3, r|f, cmdZMScore, rf, "6.2.0", "Get the score associated with the given members in a sorted set", "O(N) where N is the number of members being requested."),
		one("zrank", 3, r|f, cmdZRank, rf, "2.0.0", "Determine the index of a member in a sorted set", "O(log(N))"),
		one("zrevrank", 3, r|f, cmdZRevRank, rf, "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low", "O(log(N))"),
		one("zrange", -4, r, cmdZRange, rs, "1.2.0", "Return a range of members in a sorted set", logN),
		{Name: "zrangestore", Arity: -5, Flags: w | dom, FirstKey: 1, LastKey: 2, Step: 1, Handler: cmdZRangeStore,
			Categories: ws, Group: "sorted-set", Since: "6.2.0", Summary: "Store a range of members from sorted set into another key",
			Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key."},
		one("zrevrange", -4, r, cmdZRevRange, rs, "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low", logN),
		one("zrangebyscore", -4, r, cmdZRangeByScore, rs, "1.0.5", "Return a range of members in a sorted set, by score", logNM),
		one("zrevrangebyscore", -4, r, cmdZRevRangeByScore, rs, "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low", logNM),
		one("zrangebylex", -4, r, cmdZRangeByLex, rs, "2.8.9", "Return a range of members in a sorted set, by lexicographical range", logNM),
		one("zrevrangebylex", -4, r, cmdZRevRangeByLex, rs, "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", logNM),
		one("zremrangebyrank", 4, w, cmdZRemRangeByRank, ws, "2.0.0", "Remove all members in a sorted set within the given indexes", remN),
		one("zremrangebyscore", 4, w, cmdZRemRangeByScore, ws, "1.2.0", "Remove all members in a sorted set within the given scores", remN),
		one("zremrangebylex", 4, w, cmdZRemRangeByLex, ws, "2.8.9", "Remove all members in a sorted set between the given lexicographical range", remN),
		movable("zunion", -3, r, zsNumKeysAt(1), cmdZUnion, rs, "6.2.0", "Add multiple sorted sets", "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
		movable("zinter", -3, r, zsNumKeysAt(1), cmdZInter, rs, "6.2.0", "Intersect multiple sorted sets", interN),
		movable("zdiff", -3, r, zsNumKeysAt(1), cmdZDiff, rs, "6.2.0", "Subtract multiple sorted sets", diffN),
		store1(movable("zunionstore", -4, w|dom, zsStoreKeys, cmdZUnionStore, ws, "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key", unionN)),
		store1(movable("zinterstore", -4, w|dom, zsStoreKeys, cmdZInterStore, ws, "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key", interN)),
		store1(movable("zdiffstore", -4, w|dom, zsStoreKeys, cmdZDiffStore, ws, "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key", diffN)),
		movable("zintercard", -3, r, zsNumKeysAt(1), cmdZInterCard, rs, "7.0.0", "Intersect multiple sorted sets and return the cardinality of the result", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets."),
		one("zpopmin", -2, w|f, cmdZPopMin, wf, "5.0.0", "Remove and return members with the lowest scores in a sorted set", popN),
		one("zpopmax", -2, w|f, cmdZPopMax, wf, "5.0.0", "Remove and return members with the highest scores in a sorted set", popN),
		movable("zmpop", -4, w, zsNumKeysAt(1), cmdZMPop, ws, "7.0.0", "Remove and return members with scores in a sorted set", mpopN),
		one("zrandmember", -2, r, cmdZRandMember, rs, "6.2.0", "Get one or multiple random elements from a sorted set", "O(N) where N is the number of elements returned"),
		one("zscan", -3, r, cmdZScan, rs, "2.8.0", "Incrementally iterate sorted sets elements and associated scores", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
		{Name: "bzpopmin", Arity: -3, Flags: w | FlagNoScript | FlagBlocking | f, FirstKey: 1, LastKey: -2, Step: 1, Handler: cmdBZPopMin,
			Categories: []string{"write", "sortedset", "fast", "blocking"}, Group: "sorted-set", Since: "5.0.0",
			Summary:    "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
			Complexity: "O(log(N)) with N being the number of elements in the sorted set."},
		{Name: "bzpopmax", Arity: -3, Flags: w | FlagNoScript | FlagBlocking | f, FirstKey: 1, LastKey: -2, Step: 1, Handler: cmdBZPopMax,
			Categories: []string{"write", "sortedset", "fast", "blocking"}, Group: "sorted-set", Since: "5.0.0",
			Summary:    "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
			Complexity: "O(log(N)) with N being the number of elements in the sorted set."},
		movable("bzmpop", -5, w|FlagBlocking, zsNumKeysAt(2), cmdBZMPop, []string{"write", "sortedset", "slow", "blocking"}, "7.0.0",
			"Remove and return members with scores in a sorted set or block until one is available", mpopN),
	}
}

// zsNumKeysAt returns the key finder of commands whose numkeys argument is
// at position idx, followed by the keys. A malformed numkeys gives no keys:
// the handler reports the error.
func zsNumKeysAt(idx int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		return zsKeysAfter(args, idx, nil)
	}
}

// zsStoreKeys finds the keys of ZUNIONSTORE & co: the destination, then
// numkeys source keys after the numkeys argument at position 2.
func zsStoreKeys(args [][]byte) []int {
	return zsKeysAfter(args, 2, []int{1})
}

func zsKeysAfter(args [][]byte, idx int, out []int) []int {
	if idx >= len(args) {
		return out
	}
	n, ok := resp.ParseInt(args[idx])
	if !ok || n < 0 {
		return out
	}
	for i := idx + 1; i < len(args) && int64(i-idx) <= n; i++ {
		out = append(out, i)
	}
	return out
}

// zsEq compares an argument with a lower-case option name, ignoring case.
func zsEq(b []byte, opt string) bool {
	if len(b) != len(opt) {
		return false
	}
	for i := range b {
		ch := b[i]
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != opt[i] {
			return false
		}
	}
	return true
}

// zsRead looks up a key for reading (counting keyspace hits and misses):
// nil with ok for a missing key, ok false after a WRONGTYPE reply.
func zsRead(c *Ctx, key []byte) (*store.ZSet, *store.Object, bool) {
	o := c.LookupRead(key)
	if o == nil {
		return nil, nil, true
	}
	if o.Type != store.TypeZSet {
		c.Error(resp.ErrWrongType)
		return nil, o, false
	}
	return o.Val.(*store.ZSet), o, true
}

// zsWrite is zsRead for commands that modify the key (no statistics).
func zsWrite(c *Ctx, key []byte) (*store.ZSet, bool) {
	return lookupAs[*store.ZSet](c, key, store.TypeZSet, false)
}

// zsLimits returns the configured zset-max-listpack-entries and
// zset-max-listpack-value.
func zsLimits(c *Ctx) store.ZSetLimits {
	s := c.S
	s.cfgMu.RLock()
	e, v := s.Cfg.ZsetMaxListpackEntries, s.Cfg.ZsetMaxListpackValue
	s.cfgMu.RUnlock()
	const maxInt = int64(^uint(0) >> 1)
	return store.ZSetLimits{MaxListpackEntries: int(min(e, maxInt)), MaxListpackValue: int(min(v, maxInt))}
}

// zsChanged records n changes to key (n >= 1).
func zsChanged(c *Ctx, key []byte, n int) {
	c.Modified(key)
	c.Dirty += n - 1
}

// zsParseLong parses an integer argument, replying on error with msg
// (ERR value is not an integer or out of range when empty).
func zsParseLong(c *Ctx, b []byte, msg string) (int64, bool) {
	n, ok := resp.ParseInt(b)
	if !ok {
		if msg == "" {
			msg = resp.ErrNotInteger
		}
		c.Error(msg)
	}
	return n, ok
}

// zsWritePair writes one member with its score: flat in RESP2, a
// two-element array in RESP3.
func zsWritePair(w *resp.Writer, m []byte, score float64) {
	if w.Proto > 2 {
		w.Array(2)
	}
	w.Bulk(m)
	w.Double(score)
}

// zsDeferLen marks where an array of unknown length starts.
func zsDeferLen(w *resp.Writer) int { return len(w.Buf) }

// zsSetDeferredLen inserts the array header of n elements at mark.
func zsSetDeferredLen(w *resp.Writer, mark, n int) {
	var tmp [24]byte
	h := append(tmp[:0], '*')
	h = strconv.AppendInt(h, int64(n), 10)
	h = append(h, '\r', '\n')
	w.Buf = append(w.Buf, h...)
	copy(w.Buf[mark+len(h):], w.Buf[mark:len(w.Buf)-len(h)])
	copy(w.Buf[mark:], h)
}

const (
	zsErrXXNX     = "ERR XX and NX options at the same time are not compatible"
	zsErrGTLTNX   = "ERR GT, LT, and/or NX options at the same time are not compatible"
	zsErrIncrPair = "ERR INCR option supports a single increment-element pair"
	zsErrNaN      = "ERR resulting score is not a number (NaN)"
	zsErrMinMax   = "ERR min or max is not a float"
	zsErrLexRange = "ERR min or max not valid string range item"
)

func cmdZAdd(c *Ctx)    { zsAdd(c, 0) }
func cmdZIncrBy(c *Ctx) { zsAdd(c, store.ZAddIncr) }

// zsAdd implements ZADD and ZINCRBY (zaddGenericCommand).
func zsAdd(c *Ctx, flags int) {
	args := c.Args
	key := args[1]
	ch := false
	i := 2
options:
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case zsEq(a, "nx"):
			flags |= store.ZAddNX
		case zsEq(a, "xx"):
			flags |= store.ZAddXX
		case zsEq(a, "ch"):
			ch = true
		case zsEq(a, "incr"):
			flags |= store.ZAddIncr
		case zsEq(a, "gt"):
			flags |= store.ZAddGT
		case zsEq(a, "lt"):
			flags |= store.ZAddLT
		default:
			break options
		}
	}
	elements := len(args) - i
	if elements == 0 || elements%2 != 0 {
		c.Error(resp.ErrSyntax)
		return
	}
	elements /= 2
	nx, xx := flags&store.ZAddNX != 0, flags&store.ZAddXX != 0
	gt, lt := flags&store.ZAddGT != 0, flags&store.ZAddLT != 0
	incr := flags&store.ZAddIncr != 0
	if nx && xx {
		c.Error(zsErrXXNX)
		return
	}
	if (gt && nx) || (lt && nx) || (gt && lt) {
		c.Error(zsErrGTLTNX)
		return
	}
	if incr && elements > 1 {
		c.Error(zsErrIncrPair)
		return
	}
	var buf [8]float64
	scores := buf[:0]
	if elements > len(buf) {
		scores = make([]float64, 0, elements)
	}
	for j := 0; j < elements; j++ {
		v, ok := store.ParseScore(args[i+2*j])
		if !ok {
			c.Error(resp.ErrNotFloat)
			return
		}
		scores = append(scores, v)
	}
	z, ok := zsWrite(c, key)
	if !ok {
		return
	}
	added, updated, processed := 0, 0, 0
	var score float64
	var lim store.ZSetLimits // only read while the set is compact
	if z == nil {
		if xx {
			zsAddReply(c, incr, ch, 0, 0, 0, 0)
			return
		}
		lim = zsLimits(c)
		z = store.NewZSetFor(len(args[i+1]), lim)
		c.Set(key, &store.Object{Type: store.TypeZSet, Val: z})
	} else if z.IsCompact() {
		lim = zsLimits(c)
	}
	for j := 0; j < elements; j++ {
		ns, out := z.Add(args[i+2*j+1], scores[j], flags, lim)
		if out&store.ZAddNaN != 0 {
			if added+updated > 0 {
				zsChanged(c, key, added+updated)
			}
			c.Error(zsErrNaN)
			return
		}
		if out&store.ZAddAdded != 0 {
			added++
		}
		if out&store.ZAddUpdated != 0 {
			updated++
		}
		if out&store.ZAddNop == 0 {
			processed++
		}
		score = ns
	}
	if added+updated > 0 {
		zsChanged(c, key, added+updated)
	}
	zsAddReply(c, incr, ch, added, updated, processed, score)
}

func zsAddReply(c *Ctx, incr, ch bool, added, updated, processed int, score float64) {
	switch {
	case incr && processed > 0:
		c.W.Double(score)
	case incr:
		c.W.Null()
	case ch:
		c.W.Int(int64(added + updated))
	default:
		c.W.Int(int64(added))
	}
}

func cmdZRem(c *Ctx) {
	key := c.Args[1]
	z, ok := zsWrite(c, key)
	if !ok {
		return
	}
	if z == nil {
		c.W.Int(0)
		return
	}
	deleted := 0
	for _, m := range c.Args[2:] {
		if z.Remove(m) {
			deleted++
		}
		if z.Len() == 0 {
			c.DB.Delete(key, c.Now)
			break
		}
	}
	if deleted > 0 {
		zsChanged(c, key, deleted)
	}
	c.W.Int(int64(deleted))
}

func cmdZCard(c *Ctx) {
	z, _, ok := zsRead(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(z.Len()))
}

func cmdZCount(c *Ctx) {
	r, ok := store.ParseScoreRange(c.Args[2], c.Args[3])
	if !ok {
		c.Error(zsErrMinMax)
		return
	}
	z, _, ok := zsRead(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(z.CountScore(&r)))
}

func cmdZLexCount(c *Ctx) {
	r, ok := store.ParseLexRange(c.Args[2], c.Args[3])
	if !ok {
		c.Error(zsErrLexRange)
		return
	}
	z, _, ok := zsRead(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(z.CountLex(&r)))
}

func cmdZScore(c *Ctx) {
	z, _, ok := zsRead(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Null()
		return
	}
	if s, found := z.Score(c.Args[2]); found {
		c.W.Double(s)
	} else {
		c.W.Null()
	}
}

func cmdZMScore(c *Ctx) {
	z, _, ok := zsRead(c, c.Args[1])
	if !ok {
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if z == nil {
			c.W.Null()
			continue
		}
		if s, found := z.Score(m); found {
			c.W.Double(s)
		} else {
			c.W.Null()
		}
	}
}

func cmdZRank(c *Ctx)    { zsRank(c, false) }
func cmdZRevRank(c *Ctx) { zsRank(c, true) }

func zsRank(c *Ctx, rev bool) {
	z, _, ok := zsRead(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Null()
		return
	}
	if r, found := z.Rank(c.Args[2], rev); found {
		c.W.Int(int64(r))
	} else {
		c.W.Null()
	}
}
