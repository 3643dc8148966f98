package store

import (
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

var testLim = DefaultLimits()

func setMembers(s *Set) []string {
	var out []string
	s.ForEach(func(m SetMember) bool {
		out = append(out, m.String())
		return true
	})
	return out
}

func newSetOf(ms ...string) *Set {
	s := NewSet()
	for _, m := range ms {
		s.Add([]byte(m), testLim)
	}
	return s
}

func TestSetIntsetSortedAndConversion(t *testing.T) {
	tests := []struct {
		name    string
		members []string
		enc     string
		ordered []string // expected iteration order for intsets
	}{
		{"sorted ints", []string{"5", "-3", "100", "0", "5"}, "intset", []string{"-3", "0", "5", "100"}},
		{"extremes", []string{"9223372036854775807", "-9223372036854775808"}, "intset", []string{"-9223372036854775808", "9223372036854775807"}},
		{"leading zero", []string{"1", "01"}, "hashtable", nil},
		{"plus sign", []string{"+1"}, "hashtable", nil},
		{"minus zero", []string{"-0"}, "hashtable", nil},
		{"too big", []string{"9223372036854775808"}, "hashtable", nil},
		{"string", []string{"1", "a"}, "hashtable", nil},
		{"space", []string{" 1"}, "hashtable", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSetOf(tc.members...)
			require.Equal(t, tc.enc, s.Encoding())
			if tc.ordered != nil {
				require.Equal(t, tc.ordered, setMembers(s))
			}
			for _, m := range tc.members {
				require.True(t, s.Has([]byte(m)), m)
			}
		})
	}

	s := NewSet()
	for i := 0; i < testLim.SetMaxIntsetEntries; i++ {
		require.True(t, s.Add([]byte(fmt.Sprint(i)), testLim))
	}
	require.Equal(t, "intset", s.Encoding())
	require.False(t, s.Add([]byte("0"), testLim))
	require.True(t, s.Add([]byte("-1"), testLim))
	require.Equal(t, "hashtable", s.Encoding())
	require.Equal(t, testLim.SetMaxIntsetEntries+1, s.Len())
	require.True(t, s.Has([]byte("511")))
	require.True(t, s.HasMember(SetMember{Int: 511, IsInt: true}))
	require.False(t, s.Has([]byte("512")))
}

func TestSetRemove(t *testing.T) {
	for _, ms := range [][]string{{"1", "2", "3"}, {"1", "2", "x"}} {
		s := newSetOf(ms...)
		require.False(t, s.Remove([]byte("4")))
		require.False(t, s.Remove([]byte("01")))
		require.True(t, s.Remove([]byte("2")))
		require.False(t, s.Has([]byte("2")))
		require.Equal(t, 2, s.Len())
		require.True(t, s.RemoveMember(SetMember{Int: 1, IsInt: true}))
		require.Equal(t, 1, s.Len())
	}
}

func TestSetAlgebra(t *testing.T) {
	a := newSetOf("1", "2", "3", "4")
	b := newSetOf("3", "4", "5")
	c := newSetOf("4", "3", "x")
	collect := func(sets ...*Set) []string {
		var out []string
		SetInter(sets, func(m SetMember) bool {
			out = append(out, m.String())
			return true
		})
		return out
	}
	sorted := func(in []string) []string {
		sort.Strings(in)
		return in
	}
	require.Equal(t, []string{"3", "4"}, collect(a, b), "smallest intset drives: ascending")
	require.Equal(t, []string{"3", "4"}, sorted(collect(a, b, c)))
	require.Equal(t, []string{"1", "2", "3", "4"}, collect(a, a))
	require.Empty(t, collect(a, newSetOf("9")))

	u := SetUnion([]*Set{a, nil, b}, testLim)
	require.Equal(t, "intset", u.Encoding())
	require.Equal(t, []string{"1", "2", "3", "4", "5"}, setMembers(u))
	u = SetUnion([]*Set{a, c}, testLim)
	require.Equal(t, "hashtable", u.Encoding())
	require.Equal(t, []string{"1", "2", "3", "4", "x"}, sorted(setMembers(u)))

	d := SetDiff([]*Set{a, b}, testLim)
	require.Equal(t, []string{"1", "2"}, setMembers(d))
	require.Equal(t, 0, SetDiff([]*Set{a, b, a}, testLim).Len(), "same key subtracted")
	require.Equal(t, 0, SetDiff([]*Set{nil, a}, testLim).Len())
	require.Equal(t, []string{"x"}, setMembers(SetDiff([]*Set{c, a, nil}, testLim)))
	// a hashtable set whose members are all integers yields an intset result
	h := newSetOf("x", "7", "3")
	h.Remove([]byte("x"))
	require.Equal(t, "hashtable", h.Encoding())
	require.Equal(t, []string{"3", "7"}, setMembers(SetUnion([]*Set{h}, testLim)))
}

func TestSetScanAndRandom(t *testing.T) {
	small := newSetOf("3", "1", "2")
	var got []string
	require.Equal(t, uint64(0), small.Scan(0, 1, func(m SetMember) { got = append(got, m.String()) }))
	require.Equal(t, []string{"1", "2", "3"}, got)

	big := NewSet()
	for i := 0; i < 2000; i++ {
		big.Add([]byte(fmt.Sprint("m", i)), testLim)
	}
	seen := map[string]int{}
	cursor := uint64(0)
	for {
		cursor = big.Scan(cursor, 7, func(m SetMember) { seen[m.Str]++ })
		if cursor == 0 {
			break
		}
	}
	require.Len(t, seen, 2000)

	for _, s := range []*Set{newSetOf("1", "2", "3", "4", "5", "6", "7"), big} {
		for _, count := range []int{1, 2, s.Len() / 2, s.Len() - 1} {
			dist := map[string]bool{}
			s.DistinctMembers(count, func(m SetMember) {
				require.False(t, dist[m.String()])
				dist[m.String()] = true
				require.True(t, s.HasMember(m))
			})
			require.Len(t, dist, count)
		}
		n := s.Len()
		for i := 0; i < n; i++ {
			m := s.Pop()
			require.False(t, s.HasMember(m))
		}
		require.Equal(t, 0, s.Len())
	}
}

func TestSetDup(t *testing.T) {
	for _, s := range []*Set{newSetOf("1", "2"), newSetOf("a", "b")} {
		d := s.Dup().(*Set)
		require.Equal(t, s.Encoding(), d.Encoding())
		d.Add([]byte("zz"), testLim)
		require.False(t, s.Has([]byte("zz")))
		require.Equal(t, 2, s.Len())
	}
}

func TestScanTableScanAcrossResizes(t *testing.T) {
	tb := newScanTable[struct{}](0)
	for i := 0; i < 500; i++ {
		tb.insert(fmt.Sprint("k", i), struct{}{})
	}
	seen := map[string]bool{}
	cursor := uint64(0)
	step := 0
	for {
		cursor = tb.scanStep(cursor, func(e *tableEntry[struct{}]) { seen[e.key] = true })
		step++
		switch step {
		case 20: // grow
			for i := 500; i < 3000; i++ {
				tb.insert(fmt.Sprint("k", i), struct{}{})
			}
		case 200: // shrink back, keeping the first 300
			for i := 300; i < 3000; i++ {
				tb.remove(fmt.Sprint("k", i))
			}
		}
		if cursor == 0 {
			break
		}
	}
	require.Equal(t, 512, len(tb.buckets), "the table shrank")
	for i := 0; i < 300; i++ {
		require.True(t, seen[fmt.Sprint("k", i)], i)
	}
}
