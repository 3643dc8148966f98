package server

import (
	"math"
	"slices"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

// ZUNION, ZINTER, ZDIFF, their STORE variants and ZINTERCARD
// (zunionInterDiffGenericCommand). Plain sets are accepted as inputs, their
// members scoring 1.

type zsSetOp int

const (
	zsOpUnion zsSetOp = iota
	zsOpInter
	zsOpDiff
)

const (
	zsAggSum = iota
	zsAggMin
	zsAggMax
)

// zsSource is one input of a set operation.
type zsSource struct {
	z      *store.ZSet
	s      *store.Set
	weight float64
}

func (src *zsSource) len() int {
	switch {
	case src.z != nil:
		return src.z.Len()
	case src.s != nil:
		return src.s.Len()
	}
	return 0
}

// find returns the score of m in the source (1 for a set member).
func (src *zsSource) find(m []byte) (float64, bool) {
	switch {
	case src.z != nil:
		return src.z.Score(m)
	case src.s != nil:
		if src.s.Has(m) {
			return 1, true
		}
	}
	return 0, false
}

// each calls fn for every element of the source. Sorted sets are walked
// from the highest element down, as Redis's zuiNext does.
func (src *zsSource) each(fn func(m []byte, score float64) bool) {
	switch {
	case src.z != nil:
		for it := src.z.IterAt(src.z.Len()-1, true); it.Valid(); it.Next() {
			if !fn(it.Member(), it.Score()) {
				return
			}
		}
	case src.s != nil:
		var buf []byte
		src.s.ForEach(func(m store.SetMember) bool {
			buf = m.AppendTo(buf[:0])
			return fn(buf, 1)
		})
	}
}

func zsAggregate(target *float64, v float64, agg int) {
	switch agg {
	case zsAggSum:
		*target += v
		if math.IsNaN(*target) {
			*target = 0
		}
	case zsAggMin:
		if v < *target {
			*target = v
		}
	case zsAggMax:
		if v > *target {
			*target = v
		}
	}
}

func cmdZUnion(c *Ctx)      { zsSetOpGeneric(c, nil, 1, zsOpUnion, false) }
func cmdZInter(c *Ctx)      { zsSetOpGeneric(c, nil, 1, zsOpInter, false) }
func cmdZDiff(c *Ctx)       { zsSetOpGeneric(c, nil, 1, zsOpDiff, false) }
func cmdZInterCard(c *Ctx)  { zsSetOpGeneric(c, nil, 1, zsOpInter, true) }
func cmdZUnionStore(c *Ctx) { zsSetOpGeneric(c, c.Args[1], 2, zsOpUnion, false) }
func cmdZInterStore(c *Ctx) { zsSetOpGeneric(c, c.Args[1], 2, zsOpInter, false) }
func cmdZDiffStore(c *Ctx)  { zsSetOpGeneric(c, c.Args[1], 2, zsOpDiff, false) }

// zsSetOpGeneric runs a set operation whose numkeys argument is at
// numIdx; dst is the destination of the STORE variants, nil otherwise.
func zsSetOpGeneric(c *Ctx, dst []byte, numIdx int, op zsSetOp, cardOnly bool) {
	args := c.Args
	setnum, ok := zsParseLong(c, args[numIdx], "")
	if !ok {
		return
	}
	if setnum < 1 {
		c.Error("ERR at least 1 input key is needed for '" + c.Cmd.FullName() + "' command")
		return
	}
	if setnum > int64(len(args)-numIdx-1) {
		c.Error(resp.ErrSyntax)
		return
	}
	srcs := make([]zsSource, setnum)
	j := numIdx + 1
	for i := range srcs {
		o := c.Lookup(args[j])
		if o == nil {
			c.S.Stats.KeyspaceMisses.Add(1)
		} else {
			c.S.Stats.KeyspaceHits.Add(1)
			switch o.Type {
			case store.TypeZSet:
				srcs[i].z = o.Val.(*store.ZSet)
			case store.TypeSet:
				srcs[i].s = o.Val.(*store.Set)
			default:
				c.Error(resp.ErrWrongType)
				return
			}
		}
		srcs[i].weight = 1
		j++
	}
	agg := zsAggSum
	withScores := false
	var limit int64
	for j < len(args) {
		remaining := len(args) - j
		a := args[j]
		switch {
		case op != zsOpDiff && !cardOnly && int64(remaining) >= setnum+1 && zsEq(a, "weights"):
			j++
			for i := range srcs {
				w, ok := store.ParseScore(args[j])
				if !ok {
					c.Error("ERR weight value is not a float")
					return
				}
				srcs[i].weight = w
				j++
			}
		case op != zsOpDiff && !cardOnly && remaining >= 2 && zsEq(a, "aggregate"):
			switch v := args[j+1]; {
			case zsEq(v, "sum"):
				agg = zsAggSum
			case zsEq(v, "min"):
				agg = zsAggMin
			case zsEq(v, "max"):
				agg = zsAggMax
			default:
				c.Error(resp.ErrSyntax)
				return
			}
			j += 2
		case dst == nil && !cardOnly && zsEq(a, "withscores"):
			withScores = true
			j++
		case cardOnly && remaining >= 2 && zsEq(a, "limit"):
			n, ok := resp.ParseInt(args[j+1])
			if !ok || n < 0 {
				c.Error("ERR LIMIT can't be negative")
				return
			}
			limit = n
			j += 2
		default:
			c.Error(resp.ErrSyntax)
			return
		}
	}
	if op != zsOpDiff {
		slices.SortStableFunc(srcs, func(a, b zsSource) int { return a.len() - b.len() })
	}
	var pairs []store.ZPair
	switch op {
	case zsOpInter:
		if cardOnly {
			c.W.Int(zsInterCard(srcs, limit))
			return
		}
		pairs = zsInter(srcs, agg)
	case zsOpUnion:
		pairs = zsUnion(srcs, agg)
	case zsOpDiff:
		pairs = zsDiff(srcs)
	}
	slices.SortFunc(pairs, func(a, b store.ZPair) int { return store.ComparePairs(&a, &b) })
	if dst != nil {
		if len(pairs) == 0 {
			c.W.Int(0)
			if c.DB.Delete(dst, c.Now) {
				c.Modified(dst)
			}
			return
		}
		c.Set(dst, &store.Object{Type: store.TypeZSet, Val: store.NewZSetFromSorted(pairs, zsLimits(c))})
		c.Modified(dst)
		c.W.Int(int64(len(pairs)))
		return
	}
	w := c.W
	if withScores && w.Proto == 2 {
		w.Array(2 * len(pairs))
	} else {
		w.Array(len(pairs))
	}
	for i := range pairs {
		if withScores && w.Proto > 2 {
			w.Array(2)
		}
		w.BulkString(pairs[i].Member)
		if withScores {
			w.Double(pairs[i].Score)
		}
	}
}

// zsInterScore computes the aggregated score of m (score s in srcs[0]) over
// the other sources; ok is false when one of them lacks it.
func zsInterScore(srcs []zsSource, m []byte, s float64, agg int) (float64, bool) {
	score := srcs[0].weight * s
	if math.IsNaN(score) {
		score = 0
	}
	for k := 1; k < len(srcs); k++ {
		v, found := srcs[k].find(m)
		if !found {
			return 0, false
		}
		zsAggregate(&score, v*srcs[k].weight, agg)
	}
	return score, true
}

func zsInter(srcs []zsSource, agg int) []store.ZPair {
	var out []store.ZPair
	if srcs[0].len() == 0 {
		return out
	}
	srcs[0].each(func(m []byte, s float64) bool {
		if score, ok := zsInterScore(srcs, m, s, agg); ok {
			out = append(out, store.ZPair{Member: string(m), Score: score})
		}
		return true
	})
	return out
}

func zsInterCard(srcs []zsSource, limit int64) int64 {
	var n int64
	if srcs[0].len() == 0 {
		return 0
	}
	srcs[0].each(func(m []byte, s float64) bool {
		if _, ok := zsInterScore(srcs, m, s, zsAggSum); ok {
			n++
			if limit > 0 && n >= limit {
				return false
			}
		}
		return true
	})
	return n
}

func zsUnion(srcs []zsSource, agg int) []store.ZPair {
	idx := make(map[string]int, srcs[len(srcs)-1].len())
	var out []store.ZPair
	for i := range srcs {
		src := &srcs[i]
		if src.len() == 0 {
			continue
		}
		src.each(func(m []byte, s float64) bool {
			score := src.weight * s
			if math.IsNaN(score) {
				score = 0
			}
			if k, ok := idx[string(m)]; ok {
				zsAggregate(&out[k].Score, score, agg)
				return true
			}
			ms := string(m)
			idx[ms] = len(out)
			out = append(out, store.ZPair{Member: ms, Score: score})
			return true
		})
	}
	return out
}

func zsDiff(srcs []zsSource) []store.ZPair {
	var out []store.ZPair
	if srcs[0].len() == 0 {
		return out
	}
	srcs[0].each(func(m []byte, s float64) bool {
		for k := 1; k < len(srcs); k++ {
			if _, found := srcs[k].find(m); found {
				return true
			}
		}
		out = append(out, store.ZPair{Member: string(m), Score: s})
		return true
	})
	return out
}
