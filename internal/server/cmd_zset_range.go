package server

import (
	"slices"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

// ZRANGE and its relatives (zrangeGenericCommand), and ZREMRANGEBY*.

type zsRangeType int

const (
	zsRangeAuto zsRangeType = iota
	zsRangeRank
	zsRangeScore
	zsRangeLex
)

type zsDir int

const (
	zsDirAuto zsDir = iota
	zsDirForward
	zsDirReverse
)

const zsErrLimitRank = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
const zsErrWithScoresLex = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"

// zsRangeSink receives a range result: the client's reply or, for
// ZRANGESTORE, the pairs to store.
type zsRangeSink struct {
	c          *Ctx
	store      bool
	withScores bool
	mark       int // deferred reply length position, -1 when known
	n          int
	pairs      []store.ZPair
	length     int // the length given to begin (-1: unknown)
}

// begin starts the result; length is -1 when unknown.
func (s *zsRangeSink) begin(length int) {
	s.length = length
	if s.store {
		return
	}
	w := s.c.W
	if length >= 0 {
		if s.withScores && w.Proto == 2 {
			length *= 2
		}
		w.Array(length)
		s.mark = -1
		return
	}
	s.mark = zsDeferLen(w)
}

func (s *zsRangeSink) emit(m []byte, score float64) {
	s.n++
	if s.store {
		s.pairs = append(s.pairs, store.ZPair{Member: string(m), Score: score})
		return
	}
	w := s.c.W
	if s.withScores {
		zsWritePair(w, m, score)
		return
	}
	w.Bulk(m)
}

// finish completes the reply, or stores the result at dst.
func (s *zsRangeSink) finish(dst []byte, reverse bool) {
	c := s.c
	if !s.store {
		if s.mark >= 0 {
			n := s.n
			if s.withScores && c.W.Proto == 2 {
				n *= 2
			}
			zsSetDeferredLen(c.W, s.mark, n)
		}
		return
	}
	if s.n == 0 {
		c.W.Int(0)
		if c.DB.Delete(dst, c.Now) {
			c.Modified(dst)
		}
		return
	}
	lim := zsLimits(c)
	zsListpackPrefix(s.pairs, s.length, lim)
	if reverse {
		slices.Reverse(s.pairs)
	}
	c.Set(dst, &store.Object{Type: store.TypeZSet, Val: store.NewZSetFromSorted(s.pairs, lim)})
	c.Modified(dst)
	c.W.Int(int64(s.n))
}

// zsListpackPrefix reproduces a detail of ZRANGESTORE: Redis adds the
// elements one by one to a listpack destination (unless the known length
// already exceeds the limit), converting it to a skiplist when an element
// breaks a limit. Scores that went through the listpack lost the sign of
// a negative zero; later ones keep it.
func zsListpackPrefix(pairs []store.ZPair, length int, lim store.ZSetLimits) {
	if length > lim.MaxListpackEntries {
		return
	}
	for i := range pairs {
		if i+1 > lim.MaxListpackEntries || len(pairs[i].Member) > lim.MaxListpackValue {
			return
		}
		if pairs[i].Score == 0 {
			pairs[i].Score = 0
		}
	}
}

func cmdZRange(c *Ctx)    { zsRangeGeneric(c, 1, false, zsRangeAuto, zsDirAuto) }
func cmdZRevRange(c *Ctx) { zsRangeGeneric(c, 1, false, zsRangeRank, zsDirReverse) }
func cmdZRangeStore(c *Ctx) {
	zsRangeGeneric(c, 2, true, zsRangeAuto, zsDirAuto)
}
func cmdZRangeByScore(c *Ctx)    { zsRangeGeneric(c, 1, false, zsRangeScore, zsDirForward) }
func cmdZRevRangeByScore(c *Ctx) { zsRangeGeneric(c, 1, false, zsRangeScore, zsDirReverse) }
func cmdZRangeByLex(c *Ctx)      { zsRangeGeneric(c, 1, false, zsRangeLex, zsDirForward) }
func cmdZRevRangeByLex(c *Ctx)   { zsRangeGeneric(c, 1, false, zsRangeLex, zsDirReverse) }

// zsRangeGeneric parses "<src> <min> <max> [BYSCORE|BYLEX] [REV]
// [WITHSCORES] [LIMIT offset count]" starting at argument start and runs
// the range.
func zsRangeGeneric(c *Ctx, start int, storeMode bool, rt zsRangeType, dir zsDir) {
	args := c.Args
	key := args[start]
	minIdx, maxIdx := start+1, start+2
	withScores := false
	var offset, limit int64 = 0, -1
	for j := start + 3; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case !storeMode && zsEq(a, "withscores"):
			withScores = true
		case zsEq(a, "limit") && left >= 2:
			var ok bool
			if offset, ok = zsParseLong(c, args[j+1], ""); !ok {
				return
			}
			if limit, ok = zsParseLong(c, args[j+2], ""); !ok {
				return
			}
			j += 2
		case dir == zsDirAuto && zsEq(a, "rev"):
			dir = zsDirReverse
		case rt == zsRangeAuto && zsEq(a, "bylex"):
			rt = zsRangeLex
		case rt == zsRangeAuto && zsEq(a, "byscore"):
			rt = zsRangeScore
		default:
			c.Error(resp.ErrSyntax)
			return
		}
	}
	if dir == zsDirAuto {
		dir = zsDirForward
	}
	if rt == zsRangeAuto {
		rt = zsRangeRank
	}
	if limit != -1 && rt == zsRangeRank {
		c.Error(zsErrLimitRank)
		return
	}
	if withScores && rt == zsRangeLex {
		c.Error(zsErrWithScoresLex)
		return
	}
	rev := dir == zsDirReverse
	if rev && rt != zsRangeRank {
		minIdx, maxIdx = maxIdx, minIdx
	}
	var (
		first, last int64
		sr          store.ScoreRange
		lr          store.LexRange
		ok          bool
	)
	switch rt {
	case zsRangeRank:
		if first, ok = zsParseLong(c, args[minIdx], ""); !ok {
			return
		}
		if last, ok = zsParseLong(c, args[maxIdx], ""); !ok {
			return
		}
	case zsRangeScore:
		if sr, ok = store.ParseScoreRange(args[minIdx], args[maxIdx]); !ok {
			c.Error(zsErrMinMax)
			return
		}
	case zsRangeLex:
		if lr, ok = store.ParseLexRange(args[minIdx], args[maxIdx]); !ok {
			c.Error(zsErrLexRange)
			return
		}
	}
	sink := zsRangeSink{c: c, store: storeMode, withScores: withScores || storeMode, mark: -1}
	var dst []byte
	if storeMode {
		dst = args[1]
	}
	z, _, ok := zsRead(c, key)
	if !ok {
		return
	}
	if z == nil {
		if storeMode {
			sink.finish(dst, rev)
		} else {
			c.W.Array(0)
		}
		return
	}
	switch rt {
	case zsRangeRank:
		zsRangeByRank(&sink, z, first, last, rev)
	case zsRangeScore:
		zsRangeByScore(&sink, z, &sr, offset, limit, rev)
	case zsRangeLex:
		zsRangeByLex(&sink, z, &lr, offset, limit, rev)
	}
	sink.finish(dst, rev)
}

// zsClampRank turns start/end (negative from the end) into valid 0-based
// indexes; ok is false for an empty range.
func zsClampRank(start, end int64, n int) (int, int, bool) {
	ln := int64(n)
	if start < 0 {
		start += ln
	}
	if end < 0 {
		end += ln
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= ln {
		return 0, 0, false
	}
	if end >= ln {
		end = ln - 1
	}
	return int(start), int(end), true
}

func zsRangeByRank(s *zsRangeSink, z *store.ZSet, start, end int64, rev bool) {
	from, to, ok := zsClampRank(start, end, z.Len())
	if !ok {
		s.begin(0)
		return
	}
	n := to - from + 1
	s.begin(n)
	r := from
	if rev {
		r = z.Len() - 1 - from
	}
	for it := z.IterAt(r, rev); n > 0 && it.Valid(); it.Next() {
		s.emit(it.Member(), it.Score())
		n--
	}
}

func zsRangeByScore(s *zsRangeSink, z *store.ZSet, r *store.ScoreRange, offset, limit int64, rev bool) {
	s.begin(-1)
	if offset > 0 && offset >= int64(z.Len()) {
		return
	}
	it := z.IterScore(r, rev)
	for ; it.Valid() && offset != 0; offset-- {
		it.Next()
	}
	for ; it.Valid() && limit != 0; limit-- {
		sc := it.Score()
		if rev && !r.GteMin(sc) || !rev && !r.LteMax(sc) {
			break
		}
		s.emit(it.Member(), sc)
		it.Next()
	}
}

func zsRangeByLex(s *zsRangeSink, z *store.ZSet, r *store.LexRange, offset, limit int64, rev bool) {
	s.begin(-1)
	it := z.IterLex(r, rev)
	for ; it.Valid() && offset != 0; offset-- {
		it.Next()
	}
	for ; it.Valid() && limit != 0; limit-- {
		m := it.Member()
		if rev && !r.GteMin(m) || !rev && !r.LteMax(m) {
			break
		}
		s.emit(m, it.Score())
		it.Next()
	}
}

func cmdZRemRangeByRank(c *Ctx)  { zsRemRange(c, zsRangeRank) }
func cmdZRemRangeByScore(c *Ctx) { zsRemRange(c, zsRangeScore) }
func cmdZRemRangeByLex(c *Ctx)   { zsRemRange(c, zsRangeLex) }

// zsRemRange implements ZREMRANGEBYRANK, ZREMRANGEBYSCORE and ZREMRANGEBYLEX.
func zsRemRange(c *Ctx, rt zsRangeType) {
	var (
		start, end int64
		sr         store.ScoreRange
		lr         store.LexRange
		ok         bool
	)
	switch rt {
	case zsRangeRank:
		if start, ok = zsParseLong(c, c.Args[2], ""); !ok {
			return
		}
		if end, ok = zsParseLong(c, c.Args[3], ""); !ok {
			return
		}
	case zsRangeScore:
		if sr, ok = store.ParseScoreRange(c.Args[2], c.Args[3]); !ok {
			c.Error(zsErrMinMax)
			return
		}
	case zsRangeLex:
		if lr, ok = store.ParseLexRange(c.Args[2], c.Args[3]); !ok {
			c.Error(zsErrLexRange)
			return
		}
	}
	key := c.Args[1]
	z, ok := zsWrite(c, key)
	if !ok {
		return
	}
	if z == nil {
		c.W.Int(0)
		return
	}
	var deleted int
	switch rt {
	case zsRangeRank:
		from, to, ok := zsClampRank(start, end, z.Len())
		if !ok {
			c.W.Int(0)
			return
		}
		deleted = z.RemoveRank(from, to)
	case zsRangeScore:
		deleted = z.RemoveScore(&sr)
	case zsRangeLex:
		deleted = z.RemoveLex(&lr)
	}
	if z.Len() == 0 {
		c.DB.Delete(key, c.Now)
	}
	if deleted > 0 {
		zsChanged(c, key, deleted)
	}
	c.W.Int(int64(deleted))
}
