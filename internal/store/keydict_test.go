package store

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// kdGet is a test helper: the value at key.
func kdGet[V any](d *keyDict[V], key string) (V, bool) {
	if g, i := d.find(key, kdHash(key)); g != nil {
		return g.vals[i], true
	}
	var zero V
	return zero, false
}

func kdPut(d *keyDict[int], key string, v int) {
	h := kdHash(key)
	if g, i := d.find(key, h); g != nil {
		g.vals[i] = v
		return
	}
	kp, _ := kdNewKey(key, 0)
	d.insert(h, kp, v)
}

func kdDel[V any](d *keyDict[V], key string) bool {
	if g, i := d.find(key, kdHash(key)); g != nil {
		d.removeAt(g, i)
		return true
	}
	return false
}

// kdCheck verifies d against model: size, control bytes, every lookup.
func kdCheck(t *testing.T, d *keyDict[int], model map[string]int) {
	t.Helper()
	require.Equal(t, len(model), d.len())
	full, dead := 0, 0
	for gi := range d.groups {
		g := &d.groups[gi]
		for i := range kdSlots {
			switch c := uint8(g.ctrl >> (8 * i)); {
			case c == kdDeleted:
				dead++
				require.Nil(t, g.keys[i])
			case c == kdEmpty:
				require.Nil(t, g.keys[i])
			default:
				full++
				require.Equal(t, kdH2(kdHash(kdKeyAt(g.keys[i]))), c)
			}
		}
	}
	require.Equal(t, len(model), full)
	require.Equal(t, int(d.dead), dead)
	require.LessOrEqual(t, full+dead, kdMaxLoad*len(d.groups))
	for k, v := range model {
		got, ok := kdGet(d, k)
		require.True(t, ok, k)
		require.Equal(t, v, got, k)
	}
	seen := map[string]bool{}
	d.each(func(kp unsafe.Pointer, v int) bool {
		k := kdKeyAt(kp)
		require.False(t, seen[k], "visited twice: %q", k)
		seen[k] = true
		require.Equal(t, model[k], v)
		return true
	})
	require.Len(t, seen, len(model))
}

func TestKeyDictKeyEncoding(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 70000} {
		key := strings.Repeat("k", n)
		kp, tail := kdNewKey(key, 0)
		require.Nil(t, tail)
		require.Equal(t, key, kdKeyAt(kp), "len %d", n)
		kp, tail = kdNewKey(key, 3)
		require.Len(t, tail, 3)
		copy(tail, "abc")
		require.Equal(t, key, kdKeyAt(kp), "len %d", n)
	}
}

func TestKeyDictRandomOps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, space := range []int{5, 50, 500, 5000} {
		d := newKeyDict[int](1)
		model := map[string]int{}
		for step := range 20000 {
			k := fmt.Sprintf("k%d", r.IntN(space))
			switch op := r.IntN(10); {
			case op < 5:
				kdPut(d, k, step)
				model[k] = step
			case op < 9:
				_, want := model[k]
				require.Equal(t, want, kdDel(d, k))
				delete(model, k)
			default:
				v, ok := kdGet(d, k)
				mv, mok := model[k]
				require.Equal(t, mok, ok)
				require.Equal(t, mv, v)
			}
			if step%997 == 0 {
				kdCheck(t, d, model)
			}
		}
		kdCheck(t, d, model)
		for k := range model {
			require.True(t, kdDel(d, k))
		}
		require.Zero(t, d.len())
		require.Len(t, d.groups, 1, "an emptied table shrinks")
	}
}

func TestKeyDictGrowthAndShrink(t *testing.T) {
	d := newKeyDict[int](1)
	model := map[string]int{}
	for i := range 10000 {
		k := fmt.Sprintf("key:%d", i)
		kdPut(d, k, i)
		model[k] = i
		// the fill stays between ~50% and 7/8 once past the first groups
		if i > 100 {
			fill := float64(d.len()) / float64(len(d.groups)*kdSlots)
			require.Greater(t, fill, 0.5)
			require.LessOrEqual(t, fill, 0.875)
		}
	}
	kdCheck(t, d, model)
	big := len(d.groups)
	for i := range 9900 {
		k := fmt.Sprintf("key:%d", i)
		require.True(t, kdDel(d, k))
		delete(model, k)
	}
	kdCheck(t, d, model)
	require.Less(t, len(d.groups), big/8)
}

func TestKeyDictTombstonesReused(t *testing.T) {
	// Fill one group-sized table, then churn: the table must not grow
	// without bound and lookups stay correct.
	d := newKeyDict[int](1)
	model := map[string]int{}
	for i := range 7 {
		k := fmt.Sprint(i)
		kdPut(d, k, i)
		model[k] = i
	}
	for i := 7; i < 5000; i++ {
		old := fmt.Sprint(i - 7)
		require.True(t, kdDel(d, old))
		delete(model, old)
		k := fmt.Sprint(i)
		kdPut(d, k, i)
		model[k] = i
		require.LessOrEqual(t, len(d.groups), 2)
	}
	kdCheck(t, d, model)
}

func TestKeyDictEachDeletingCurrent(t *testing.T) {
	d := newKeyDict[int](1)
	model := map[string]int{}
	for i := range 1000 {
		k := fmt.Sprint(i)
		kdPut(d, k, i)
		model[k] = i
	}
	groups := len(d.groups)
	seen := map[string]bool{}
	d.each(func(kp unsafe.Pointer, v int) bool {
		k := kdKeyAt(kp)
		require.False(t, seen[k])
		seen[k] = true
		if v%10 != 0 {
			require.True(t, kdDel(d, k))
			delete(model, k)
		}
		return true
	})
	require.Len(t, seen, 1000)
	require.Equal(t, groups, len(d.groups), "no shrink while iterating")
	kdCheck(t, d, model)
	// the next delete may shrink again
	for k := range model {
		kdDel(d, k)
		delete(model, k)
		break
	}
	require.Less(t, len(d.groups), groups)
	kdCheck(t, d, model)
}

func TestKeyDictEachStops(t *testing.T) {
	d := newKeyDict[int](1)
	for i := range 100 {
		kdPut(d, fmt.Sprint(i), i)
	}
	n := 0
	d.each(func(unsafe.Pointer, int) bool { n++; return n < 10 })
	require.Equal(t, 10, n)
	require.Zero(t, d.iters)
}

func TestKeyDictRandom(t *testing.T) {
	d := newKeyDict[int](1)
	_, _, ok := d.random()
	require.False(t, ok)
	for i := range 20 {
		kdPut(d, fmt.Sprint(i), i)
	}
	counts := map[string]int{}
	for range 20000 {
		kp, v, ok := d.random()
		require.True(t, ok)
		k := kdKeyAt(kp)
		require.Equal(t, fmt.Sprint(v), k)
		counts[k]++
	}
	require.Len(t, counts, 20)
	for k, c := range counts {
		require.Greater(t, c, 500, k) // uniform: ~1000 each
	}
	// a sparse table (no shrink during an iteration) still finds its entry
	d.iters++
	for i := range 19 {
		kdDel(d, fmt.Sprint(i))
	}
	d.iters--
	for range 100 {
		kp, _, ok := d.random()
		require.True(t, ok)
		require.Equal(t, "19", kdKeyAt(kp))
	}
}

func TestKeyDictZeroSizeValue(t *testing.T) {
	require.Equal(t, uintptr(8+8*8), unsafe.Sizeof(kdGroup[struct{}]{}))
	require.Equal(t, uintptr(8+16*8), unsafe.Sizeof(kdGroup[*Object]{}))
}
