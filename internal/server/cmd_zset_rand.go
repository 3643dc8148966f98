package server

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

// ZRANDMEMBER and ZSCAN.

func cmdZRandMember(c *Ctx) {
	args := c.Args
	if len(args) >= 3 {
		l, ok := resp.ParseInt(args[2])
		if !ok {
			c.Error(resp.ErrNotInteger)
			return
		}
		if l == math.MinInt64 {
			c.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
			return
		}
		withScores := false
		if len(args) > 4 || (len(args) == 4 && !zsEq(args[3], "withscores")) {
			c.Error(resp.ErrSyntax)
			return
		}
		if len(args) == 4 {
			withScores = true
			if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
				c.Error("ERR value is out of range")
				return
			}
		}
		zsRandWithCount(c, l, withScores)
		return
	}
	z, _, ok := zsRead(c, args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Null()
		return
	}
	m, _ := z.Random()
	c.W.Bulk(m)
}

// zsRandWithCount is ZRANDMEMBER key count [WITHSCORES].
func zsRandWithCount(c *Ctx, l int64, withScores bool) {
	z, _, ok := zsRead(c, c.Args[1])
	if !ok {
		return
	}
	w := c.W
	if z == nil || l == 0 {
		w.Array(0)
		return
	}
	emit := func(m []byte, s float64) {
		if withScores && w.Proto > 2 {
			w.Array(2)
		}
		w.Bulk(m)
		if withScores {
			w.Double(s)
		}
	}
	header := func(n int) {
		if withScores && w.Proto == 2 {
			w.Array(2 * n)
		} else {
			w.Array(n)
		}
	}
	size := z.Len()
	// Negative count: repetitions allowed, any order.
	if l < 0 || l == 1 {
		count := l
		if count < 0 {
			count = -count
		}
		header(int(count))
		for ; count > 0; count-- {
			emit(z.Random())
		}
		return
	}
	count := int(min(l, int64(math.MaxInt32)))
	// Asking for the whole set: every element, from the highest down as
	// Redis's iterator walks it.
	if count >= size {
		header(size)
		for it := z.IterAt(size-1, true); it.Valid(); it.Next() {
			emit(it.Member(), it.Score())
		}
		return
	}
	// Distinct random ranks: a partial Fisher-Yates shuffle of the ranks.
	header(count)
	perm := make(map[int]int, count)
	for i := 0; i < count; i++ {
		j := i + rand.IntN(size-i)
		vi, ok := perm[i]
		if !ok {
			vi = i
		}
		vj, ok := perm[j]
		if !ok {
			vj = j
		}
		perm[i], perm[j] = vj, vi
		it := z.IterAt(vj, false)
		emit(it.Member(), it.Score())
	}
}

// zsParseCursor parses a SCAN cursor like strtoul (an optional sign,
// decimal digits, no leading space, no overflow).
func zsParseCursor(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	i := 0
	neg := false
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
		if v > (math.MaxUint64-uint64(d))/10 {
			return 0, false
		}
		v = v*10 + uint64(d)
	}
	if neg {
		v = -v
	}
	return v, true
}

func cmdZScan(c *Ctx) {
	cursor, ok := zsParseCursor(c.Args[2])
	if !ok {
		c.Error("ERR invalid cursor")
		return
	}
	z, _, ok := zsRead(c, c.Args[1])
	if !ok {
		return
	}
	w := c.W
	if z == nil {
		w.Array(2)
		w.BulkString("0")
		w.Array(0)
		return
	}
	count := int64(10)
	var pat []byte
	usePat := false
	args := c.Args
	for i := 3; i < len(args); {
		left := len(args) - i
		switch {
		case zsEq(args[i], "count") && left >= 2:
			n, ok := zsParseLong(c, args[i+1], "")
			if !ok {
				return
			}
			if n < 1 {
				c.Error(resp.ErrSyntax)
				return
			}
			count = n
			i += 2
		case zsEq(args[i], "match") && left >= 2:
			pat = args[i+1]
			usePat = !(len(pat) == 1 && pat[0] == '*')
			i += 2
		default:
			c.Error(resp.ErrSyntax)
			return
		}
	}
	type item struct {
		m []byte
		s string
	}
	var items []item
	compact := z.IsCompact()
	collect := func(m []byte, s float64) {
		if usePat && !store.GlobMatch(pat, m, false) {
			return
		}
		var sc string
		if compact {
			sc = store.FormatListpackScore(s)
		} else {
			sc = resp.FormatDouble(s)
		}
		items = append(items, item{m, sc})
	}
	if compact {
		cursor = z.Scan(0, collect)
	} else {
		// Redis counts members and scores, and gives up after ten times
		// as many buckets as requested (count is doubled for pairs).
		count *= 2
		maxIter := count * 10
		visited := int64(0)
		for {
			cursor = z.Scan(cursor, func(m []byte, s float64) {
				visited += 2
				collect(m, s)
			})
			if cursor == 0 {
				break
			}
			maxIter--
			if maxIter == 0 || visited >= count {
				break
			}
		}
	}
	w.Array(2)
	var tmp [24]byte
	w.Bulk(strconv.AppendUint(tmp[:0], cursor, 10))
	w.Array(2 * len(items))
	for _, it := range items {
		w.Bulk(it.m)
		w.BulkString(it.s)
	}
}
