package server

import (
	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

// ZPOPMIN, ZPOPMAX, ZMPOP and their blocking variants BZPOPMIN, BZPOPMAX
// and BZMPOP (genericZpopCommand, blockingGenericZpopCommand).

// zsPop pops from the first existing key of keys (a WRONGTYPE there is an
// error). count is -1 for a plain single pop. emitKey adds the key name to
// the reply; nested replies with pairs (and, with emitKey, [key, pairs]);
// nilWhenEmpty replies a null array instead of an empty one when no key
// exists. It returns the key popped from and how many elements it lost
// (0 when nothing was popped).
func zsPop(c *Ctx, keys [][]byte, max bool, emitKey bool, count int64, nested, nilWhenEmpty bool) ([]byte, int) {
	var (
		z   *store.ZSet
		key []byte
	)
	for _, k := range keys {
		zz, ok := zsWrite(c, k)
		if !ok {
			return nil, 0
		}
		if zz != nil {
			z, key = zz, k
			break
		}
	}
	w := c.W
	if z == nil {
		if nilWhenEmpty {
			w.NullArray()
		} else {
			w.Array(0)
		}
		return nil, 0
	}
	if count == 0 {
		w.Array(0)
		return nil, 0
	}
	if count == -1 {
		count = 1
	}
	size := z.Len()
	n := size
	if count < int64(size) {
		n = int(count)
	}
	switch {
	case !nested && !emitKey:
		w.Array(2 * n)
	case nested && !emitKey:
		w.Array(n)
	case !nested && emitKey:
		w.Array(2*n + 1)
		w.Bulk(key)
	default:
		w.Array(2)
		w.Bulk(key)
		w.Array(n)
	}
	start := 0
	if max {
		start = size - 1
	}
	i := 0
	for it := z.IterAt(start, max); i < n && it.Valid(); it.Next() {
		if nested {
			w.Array(2)
		}
		w.Bulk(it.Member())
		w.Double(it.Score())
		i++
	}
	if max {
		z.RemoveRank(size-n, size-1)
	} else {
		z.RemoveRank(0, n-1)
	}
	zsChanged(c, key, n)
	if z.Len() == 0 {
		c.DB.Delete(key, c.Now)
	}
	return key, n
}

// zsPopName is the pop command of an end of a sorted set.
func zsPopName(max bool) []byte {
	if max {
		return bZPopMax
	}
	return bZPopMin
}

// zsPropagatePop gives the propagated form of a ZMPOP, BZMPOP, BZPOPMIN or
// BZPOPMAX that popped n elements of key: ZPOPMIN|ZPOPMAX key, with the
// count n for the M forms (single is a plain BZPOPMIN/BZPOPMAX).
func zsPropagatePop(c *Ctx, key []byte, n int, max, single bool) {
	if n == 0 || !c.Propagating() {
		return
	}
	if single {
		c.Propagate(zsPopName(max), key)
	} else {
		c.Propagate(zsPopName(max), key, int64Arg(int64(n)))
	}
}

func cmdZPopMin(c *Ctx) { zsPopMinMax(c, false) }
func cmdZPopMax(c *Ctx) { zsPopMinMax(c, true) }

func zsPopMinMax(c *Ctx, max bool) {
	if len(c.Args) > 3 {
		c.Error(resp.ErrSyntax)
		return
	}
	count := int64(-1)
	if len(c.Args) == 3 {
		n, ok := resp.ParseInt(c.Args[2])
		if !ok || n < 0 {
			c.Error("ERR value is out of range, must be positive")
			return
		}
		count = n
	}
	zsPop(c, c.Args[1:2], max, false, count, c.W.Proto > 2 && count != -1, false)
}

// zsMPopArgs parses "numkeys key... MIN|MAX [COUNT count]" with numkeys at
// position idx.
func zsMPopArgs(c *Ctx, idx int) (keys [][]byte, max bool, count int64, ok bool) {
	args := c.Args
	numkeys, valid := resp.ParseInt(args[idx])
	if !valid || numkeys < 1 {
		c.Error("ERR numkeys should be greater than 0")
		return nil, false, 0, false
	}
	whereIdx := int64(idx) + numkeys + 1
	if whereIdx >= int64(len(args)) {
		c.Error(resp.ErrSyntax)
		return nil, false, 0, false
	}
	switch w := args[whereIdx]; {
	case zsEq(w, "min"):
	case zsEq(w, "max"):
		max = true
	default:
		c.Error(resp.ErrSyntax)
		return nil, false, 0, false
	}
	count = -1
	for j := int(whereIdx) + 1; j < len(args); j++ {
		more := len(args) - 1 - j
		if count == -1 && zsEq(args[j], "count") && more > 0 {
			j++
			n, valid := resp.ParseInt(args[j])
			if !valid || n < 1 {
				c.Error("ERR count should be greater than 0")
				return nil, false, 0, false
			}
			count = n
			continue
		}
		c.Error(resp.ErrSyntax)
		return nil, false, 0, false
	}
	if count == -1 {
		count = 1
	}
	return args[idx+1 : whereIdx], max, count, true
}

func cmdZMPop(c *Ctx) {
	keys, max, count, ok := zsMPopArgs(c, 1)
	if !ok {
		return
	}
	key, n := zsPop(c, keys, max, true, count, true, true)
	zsPropagatePop(c, key, n, max, false)
}

func cmdBZPopMin(c *Ctx) { zsBlockingPop(c, c.Args[1:len(c.Args)-1], false, len(c.Args)-1, -1, false) }
func cmdBZPopMax(c *Ctx) { zsBlockingPop(c, c.Args[1:len(c.Args)-1], true, len(c.Args)-1, -1, false) }

func cmdBZMPop(c *Ctx) {
	keys, max, count, ok := zsMPopArgs(c, 2)
	if !ok {
		return
	}
	zsBlockingPop(c, keys, max, 1, count, true)
}

// zsBlockingPop pops from the first non-empty key, or blocks until one of
// keys holds a sorted set (blockingGenericZpopCommand).
func zsBlockingPop(c *Ctx, keys [][]byte, max bool, timeoutIdx int, count int64, nested bool) {
	deadline, ok := c.ParseBlockTimeout(c.Args[timeoutIdx])
	if !ok {
		return
	}
	for _, k := range keys {
		z, ok := zsWrite(c, k)
		if !ok {
			return
		}
		if z == nil || z.Len() == 0 {
			continue
		}
		key, n := zsPop(c, [][]byte{k}, max, true, count, nested, nested)
		zsPropagatePop(c, key, n, max, count == -1)
		return
	}
	if !c.CanBlock() {
		c.W.NullArray()
		return
	}
	c.Block(BlockOptions{
		Keys:     keys,
		Deadline: deadline,
		Serve: func(c *Ctx, key []byte) bool {
			o := c.Lookup(key)
			if o == nil || o.Type != store.TypeZSet {
				return false
			}
			_, n := zsPop(c, [][]byte{key}, max, true, count, nested, nested)
			zsPropagatePop(c, key, n, max, count == -1)
			return true
		},
	})
}
