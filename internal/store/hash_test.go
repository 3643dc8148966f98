package store

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func hashPairs(h *Hash) []string {
	var out []string
	h.ForEach(func(f, v []byte) bool {
		out = append(out, string(f)+"="+string(v))
		return true
	})
	return out
}

func TestHashListpackOrderAndUpdates(t *testing.T) {
	h := NewHash()
	require.Equal(t, 3, h.SetPairs([][]byte{[]byte("b"), []byte("1"), []byte("a"), []byte("2"), []byte("c"), []byte("3")}, testLim))
	require.Equal(t, "listpack", h.Encoding())
	require.Equal(t, []string{"b=1", "a=2", "c=3"}, hashPairs(h))

	tests := []struct {
		name, field, value string
		want               []string
	}{
		{"same length", "a", "9", []string{"b=1", "a=9", "c=3"}},
		{"longer", "a", "longer value", []string{"b=1", "a=longer value", "c=3"}},
		{"shorter", "a", "", []string{"b=1", "a=", "c=3"}},
		{"first", "b", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", []string{"b=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "a=", "c=3"}},
		{"last", "c", "x", []string{"b=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "a=", "c=x"}},
		{"new", "d", "4", []string{"b=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "a=", "c=x", "d=4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.Set([]byte(tc.field), []byte(tc.value), testLim)
			require.Equal(t, tc.want, hashPairs(h))
			v, ok := h.Get([]byte(tc.field))
			require.True(t, ok)
			require.Equal(t, tc.value, string(v))
			require.Equal(t, len(tc.want), h.Len())
		})
	}

	require.True(t, h.Delete([]byte("a")))
	require.False(t, h.Delete([]byte("a")))
	require.False(t, h.Exists([]byte("a")))
	require.Equal(t, []string{"b=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "c=x", "d=4"}, hashPairs(h))
	for _, f := range []string{"b", "c", "d"} {
		require.True(t, h.Delete([]byte(f)))
	}
	require.Equal(t, 0, h.Len())
	require.Equal(t, "listpack", h.Encoding())
}

func TestHashConversion(t *testing.T) {
	long := strings.Repeat("x", testLim.HashMaxListpackValue)
	tests := []struct {
		name string
		fill func(h *Hash)
		enc  string
	}{
		{"512 entries", func(h *Hash) {
			for i := 0; i < testLim.HashMaxListpackEntries; i++ {
				h.Set([]byte(fmt.Sprint("f", i)), []byte("v"), testLim)
			}
		}, "listpack"},
		{"513 entries", func(h *Hash) {
			for i := 0; i <= testLim.HashMaxListpackEntries; i++ {
				h.Set([]byte(fmt.Sprint("f", i)), []byte("v"), testLim)
			}
		}, "hashtable"},
		{"64-byte value", func(h *Hash) { h.Set([]byte("f"), []byte(long), testLim) }, "listpack"},
		{"65-byte value", func(h *Hash) { h.Set([]byte("f"), []byte(long+"x"), testLim) }, "hashtable"},
		{"65-byte field", func(h *Hash) { h.Set([]byte(long+"x"), []byte("v"), testLim) }, "hashtable"},
		{"65-byte value in SetPairs", func(h *Hash) {
			h.SetPairs([][]byte{[]byte("a"), []byte("1"), []byte("b"), []byte(long + "x")}, testLim)
		}, "hashtable"},
		{"update of existing field to long value", func(h *Hash) {
			h.Set([]byte("a"), []byte("1"), testLim)
			h.Set([]byte("a"), []byte(long+"x"), testLim)
		}, "hashtable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHash()
			tc.fill(h)
			require.Equal(t, tc.enc, h.Encoding())
		})
	}

	h := NewHash()
	for i := 0; i < 600; i++ {
		require.True(t, h.Set([]byte(fmt.Sprint("f", i)), []byte(fmt.Sprint("v", i)), testLim))
	}
	require.Equal(t, 600, h.Len())
	for i := 0; i < 600; i++ {
		v, ok := h.Get([]byte(fmt.Sprint("f", i)))
		require.True(t, ok)
		require.Equal(t, fmt.Sprint("v", i), string(v))
	}
	for i := 0; i < 599; i++ {
		require.True(t, h.Delete([]byte(fmt.Sprint("f", i))))
	}
	require.Equal(t, 1, h.Len())
	require.Equal(t, "hashtable", h.Encoding(), "conversion is one-way")
}

func TestHashIncrBy(t *testing.T) {
	h := NewHash()
	h.Set([]byte("s"), []byte("abc"), testLim)
	h.Set([]byte("max"), []byte("9223372036854775807"), testLim)
	h.Set([]byte("sp"), []byte(" 1"), testLim)
	tests := []struct {
		field string
		incr  int64
		want  int64
		err   error
	}{
		{"n", 5, 5, nil},
		{"n", -7, -2, nil},
		{"s", 1, 0, ErrHashNotInteger},
		{"sp", 1, 0, ErrHashNotInteger},
		{"max", 1, 0, ErrHashOverflow},
		{"max", -1, 9223372036854775806, nil},
	}
	for _, tc := range tests {
		got, err := h.IncrBy([]byte(tc.field), tc.incr, testLim)
		require.Equal(t, tc.err, err, tc.field)
		if err == nil {
			require.Equal(t, tc.want, got)
			v, _ := h.Get([]byte(tc.field))
			require.Equal(t, fmt.Sprint(tc.want), string(v))
		}
	}
}

func TestHashIncrByFloat(t *testing.T) {
	tests := []struct {
		cur, incr, want string
		err             error
	}{
		{"", "10.5", "10.5", nil},
		{"10.5", "0.1", "10.6", nil},
		{"", "1e20", "100000000000000000000", nil},
		{"", "1e-20", "0", nil},
		{"", "0x10", "16", nil},
		{"3", "-3", "0", nil},
		{"5.0e3", "2.0e2", "5200", nil},
		{"abc", "1", "", ErrHashNotFloat},
		{"inf", "1", "", ErrHashNaNInf},
	}
	for _, tc := range tests {
		t.Run(tc.cur+"+"+tc.incr, func(t *testing.T) {
			h := NewHash()
			if tc.cur != "" {
				h.Set([]byte("f"), []byte(tc.cur), testLim)
			}
			incr, err := ParseHashFloatIncr([]byte(tc.incr))
			require.NoError(t, err)
			got, err := h.IncrByFloat([]byte("f"), incr, testLim)
			require.Equal(t, tc.err, err)
			require.Equal(t, tc.want, string(got))
		})
	}
	for in, want := range map[string]error{"abc": ErrHashIncrNotFloat, "": ErrHashIncrNotFloat, " 1": ErrHashIncrNotFloat,
		"nan": ErrHashIncrNotFloat, "inf": ErrHashIncrNaNInf, "-infinity": ErrHashIncrNaNInf} {
		_, err := ParseHashFloatIncr([]byte(in))
		require.Equal(t, want, err, in)
	}
}

func TestHashScanListpackReturnsAll(t *testing.T) {
	h := NewHash()
	h.SetPairs([][]byte{[]byte("a"), []byte("1"), []byte("b"), []byte("2")}, testLim)
	var got []string
	next := h.Scan(0, 1, func(f, v []byte) { got = append(got, string(f), string(v)) })
	require.Equal(t, uint64(0), next)
	require.Equal(t, []string{"a", "1", "b", "2"}, got)
}

func TestHashScanHashtableCoversAll(t *testing.T) {
	h := NewHash()
	for i := 0; i < 1000; i++ {
		h.Set([]byte(fmt.Sprint("f", i)), []byte(fmt.Sprint(i)), testLim)
	}
	seen := map[string]int{}
	cursor := uint64(0)
	for {
		cursor = h.Scan(cursor, 10, func(f, v []byte) { seen[string(f)]++ })
		if cursor == 0 {
			break
		}
	}
	require.Len(t, seen, 1000)
	for k, n := range seen {
		require.Equal(t, 1, n, k)
	}
}

func TestHashRandom(t *testing.T) {
	for _, n := range []int{5, 300, 700} {
		h := NewHash()
		for i := 0; i < n; i++ {
			h.Set([]byte(fmt.Sprint("f", i)), []byte(fmt.Sprint("v", i)), testLim)
		}
		f, v := h.RandomPair()
		require.Equal(t, "v"+strings.TrimPrefix(string(f), "f"), string(v))
		calls := 0
		h.RandomPairs(50, func(f, v []byte) {
			calls++
			require.True(t, h.Exists(f))
		})
		require.Equal(t, 50, calls)
		for _, count := range []int{1, n / 2, n - 1} {
			seen := map[string]bool{}
			h.DistinctPairs(count, func(f, v []byte) {
				require.False(t, seen[string(f)])
				seen[string(f)] = true
				require.Equal(t, "v"+strings.TrimPrefix(string(f), "f"), string(v))
			})
			require.Len(t, seen, count)
		}
	}
}

func TestHashDup(t *testing.T) {
	for _, n := range []int{3, 600} {
		h := NewHash()
		for i := 0; i < n; i++ {
			h.Set([]byte(fmt.Sprint("f", i)), []byte("v"), testLim)
		}
		d := h.Dup().(*Hash)
		require.Equal(t, h.Encoding(), d.Encoding())
		d.Set([]byte("f0"), []byte("changed"), testLim)
		v, _ := h.Get([]byte("f0"))
		require.Equal(t, "v", string(v))
		require.Equal(t, n, d.Len())
	}
}

func TestListpackLongLengths(t *testing.T) {
	s := []byte(strings.Repeat("y", 300))
	lp := lpPut(nil, []byte("short"))
	lp = lpPut(lp, s)
	require.Equal(t, 1+5+lpSize(300), len(lp))
	a, off := lpStr(lp, 0)
	require.Equal(t, "short", string(a))
	b, end := lpStr(lp, off)
	require.Equal(t, string(s), string(b))
	require.Equal(t, len(lp), end)
	require.Equal(t, end, lpSkip(lp, off))
}

func TestHashCustomLimits(t *testing.T) {
	lim := Limits{HashMaxListpackEntries: 2, HashMaxListpackValue: 3, SetMaxIntsetEntries: 2}
	tests := []struct {
		name  string
		pairs []string
		enc   string
	}{
		{"within", []string{"a", "abc", "b", "1"}, "listpack"},
		{"too many", []string{"a", "1", "b", "2", "c", "3"}, "hashtable"},
		{"too long", []string{"abcd", "1"}, "hashtable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHash()
			var kv [][]byte
			for _, p := range tc.pairs {
				kv = append(kv, []byte(p))
			}
			h.SetPairs(kv, lim)
			require.Equal(t, tc.enc, h.Encoding())
		})
	}
	zero := Limits{}
	h := NewHash()
	h.Set([]byte(""), []byte(""), zero)
	require.Equal(t, "hashtable", h.Encoding(), "0 entries allowed")
	s := NewSet()
	s.Add([]byte("1"), lim)
	s.Add([]byte("2"), lim)
	require.Equal(t, "intset", s.Encoding())
	s.Add([]byte("3"), lim)
	require.Equal(t, "hashtable", s.Encoding())
}
