package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// model is a naive sorted set the real one is checked against.
type model map[string]float64

func (m model) sorted() []ZPair {
	out := make([]ZPair, 0, len(m))
	for k, v := range m {
		out = append(out, ZPair{k, v})
	}
	slices.SortFunc(out, func(a, b ZPair) int { return ComparePairs(&a, &b) })
	return out
}

func contents(z *ZSet) []ZPair {
	var out []ZPair
	z.ForEach(func(m []byte, s float64) bool {
		out = append(out, ZPair{string(m), s})
		return true
	})
	return out
}

func checkAgainst(t *testing.T, z *ZSet, m model) {
	t.Helper()
	want := m.sorted()
	require.Equal(t, len(want), z.Len())
	got := contents(z)
	if len(want) == 0 {
		require.Empty(t, got)
	} else {
		require.Equal(t, want, got)
	}
	if z.big != nil {
		total := 0
		for _, p := range want {
			total += len(p.Member)
		}
		require.Equal(t, total, z.big.bytes)
		require.Equal(t, len(want), z.big.d.len())
	}
	require.Positive(t, z.MemoryUsage())
	// reverse iteration and ranks
	var rev []ZPair
	for it := z.IterAt(z.Len()-1, true); it.Valid(); it.Next() {
		rev = append(rev, ZPair{string(it.Member()), it.Score()})
	}
	slices.Reverse(rev)
	if len(want) > 0 {
		require.Equal(t, want, rev)
	}
	for i, p := range want {
		r, ok := z.Rank([]byte(p.Member), false)
		require.True(t, ok)
		require.Equal(t, i, r)
		r, ok = z.Rank([]byte(p.Member), true)
		require.True(t, ok)
		require.Equal(t, len(want)-1-i, r)
		s, ok := z.Score([]byte(p.Member))
		require.True(t, ok)
		require.Equal(t, p.Score, s)
		it := z.IterAt(i, false)
		require.Equal(t, p.Member, string(it.Member()))
	}
}

func TestZSetRandomOps(t *testing.T) {
	for _, size := range []int{20, 100, 400} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(size)))
			z := NewZSet()
			m := model{}
			for step := 0; step < 4000; step++ {
				mem := fmt.Sprintf("m%d", r.IntN(size))
				switch r.IntN(12) {
				case 4:
					if n := z.Len(); n > 0 {
						a := r.IntN(n)
						b := min(n-1, a+r.IntN(3))
						want := m.sorted()
						require.Equal(t, b-a+1, z.RemoveRank(a, b))
						for _, p := range want[a : b+1] {
							delete(m, p.Member)
						}
					}
				case 5:
					lo := float64(r.IntN(50))
					sr := ScoreRange{Min: lo, Max: lo + float64(r.IntN(3)), MinEx: r.IntN(2) == 0}
					n := 0
					for k, v := range m {
						if sr.GteMin(v) && sr.LteMax(v) {
							delete(m, k)
							n++
						}
					}
					require.Equal(t, n, z.RemoveScore(&sr))
				case 0, 1, 6, 7, 8, 9, 10, 11:
					sc := float64(r.IntN(50))
					_, out := z.Add([]byte(mem), sc, 0, DefaultZSetLimits())
					_, had := m[mem]
					if !had {
						require.Equal(t, ZAddAdded, out)
					}
					m[mem] = sc
				case 2:
					_, had := m[mem]
					require.Equal(t, had, z.Remove([]byte(mem)))
					delete(m, mem)
				case 3:
					ns, out := z.Add([]byte(mem), 1.5, ZAddIncr, DefaultZSetLimits())
					require.Zero(t, out&ZAddNaN)
					m[mem] += 1.5
					require.Equal(t, m[mem], ns)
				}
				if step%500 == 0 {
					checkAgainst(t, z, m)
				}
			}
			checkAgainst(t, z, m)
			if size > ZSetMaxListpackEntries {
				require.Equal(t, "skiplist", z.Encoding())
			}
			d := z.Dup().(*ZSet)
			require.Equal(t, z.Encoding(), d.Encoding())
			checkAgainst(t, d, m)
		})
	}
}

func TestZSetEncoding(t *testing.T) {
	z := NewZSet()
	for i := 0; i < ZSetMaxListpackEntries; i++ {
		z.Add([]byte(fmt.Sprint(i)), float64(i), 0, DefaultZSetLimits())
	}
	require.Equal(t, "listpack", z.Encoding())
	z.Add([]byte("x"), 1, 0, DefaultZSetLimits())
	require.Equal(t, "skiplist", z.Encoding())
	z.RemoveRank(0, z.Len()-2)
	require.Equal(t, 1, z.Len())
	require.Equal(t, "skiplist", z.Encoding(), "conversion is one-way")

	z = NewZSet()
	z.Add(make([]byte, 64), 1, 0, DefaultZSetLimits())
	require.Equal(t, "listpack", z.Encoding())
	z.Add(make([]byte, 65), 1, 0, DefaultZSetLimits())
	require.Equal(t, "skiplist", z.Encoding())
	require.Equal(t, "skiplist", NewZSetFor(65, DefaultZSetLimits()).Encoding())

	// configured thresholds
	lim := ZSetLimits{MaxListpackEntries: 2, MaxListpackValue: 3}
	require.Equal(t, "skiplist", NewZSetFor(1, ZSetLimits{}).Encoding())
	z = NewZSetFor(3, lim)
	z.Add([]byte("abc"), 1, 0, lim)
	z.Add([]byte("b"), 2, 0, lim)
	require.Equal(t, "listpack", z.Encoding())
	z.Add([]byte("c"), 3, 0, lim)
	require.Equal(t, "skiplist", z.Encoding())
	require.Equal(t, "skiplist", NewZSetFromSorted([]ZPair{{"a", 1}, {"b", 2}, {"c", 3}}, lim).Encoding())
	require.Equal(t, "skiplist", NewZSetFromSorted([]ZPair{{"abcd", 1}}, lim).Encoding())
	require.Equal(t, "listpack", NewZSetFromSorted([]ZPair{{"abc", 1}}, lim).Encoding())
}

func TestZAddFlags(t *testing.T) {
	tests := []struct {
		name   string
		cur    float64 // NaN: absent
		score  float64
		flags  int
		want   float64
		out    int
		stored float64
	}{
		{"add", math.NaN(), 1, 0, 1, ZAddAdded, 1},
		{"update", 1, 2, 0, 2, ZAddUpdated, 2},
		{"same", 1, 1, 0, 1, 0, 1},
		{"nx existing", 1, 2, ZAddNX, 1, ZAddNop, 1},
		{"xx absent", math.NaN(), 2, ZAddXX, 0, ZAddNop, math.NaN()},
		{"gt lower", 5, 2, ZAddGT, 5, ZAddNop, 5},
		{"gt higher", 5, 7, ZAddGT, 7, ZAddUpdated, 7},
		{"lt higher", 5, 7, ZAddLT, 5, ZAddNop, 5},
		{"lt absent adds", math.NaN(), 7, ZAddLT, 7, ZAddAdded, 7},
		{"incr", 5, 2, ZAddIncr, 7, ZAddUpdated, 7},
		{"incr nan", math.Inf(1), math.Inf(-1), ZAddIncr, 0, ZAddNaN, math.Inf(1)},
		{"incr gt lower", 5, -1, ZAddIncr | ZAddGT, 5, ZAddNop, 5},
	}
	for _, big := range []bool{false, true} {
		for _, tc := range tests {
			t.Run(fmt.Sprint(tc.name, big), func(t *testing.T) {
				z := NewZSet()
				if big {
					z = NewZSetFor(100, DefaultZSetLimits())
				}
				if !math.IsNaN(tc.cur) {
					z.Add([]byte("m"), tc.cur, 0, DefaultZSetLimits())
				}
				got, out := z.Add([]byte("m"), tc.score, tc.flags, DefaultZSetLimits())
				require.Equal(t, tc.out, out)
				require.Equal(t, tc.want, got)
				s, ok := z.Score([]byte("m"))
				if math.IsNaN(tc.stored) {
					require.False(t, ok)
				} else {
					require.Equal(t, tc.stored, s)
				}
			})
		}
	}
}

func TestParseScore(t *testing.T) {
	tests := []struct {
		in  string
		v   float64
		ok  bool
		rng bool // accepted as a range bound
	}{
		{"1", 1, true, true},
		{"-1.5", -1.5, true, true},
		{"+2", 2, true, true},
		{".5", 0.5, true, true},
		{"5.", 5, true, true},
		{"1e3", 1000, true, true},
		{"0x10", 16, true, true},
		{"0x1p4", 16, true, true},
		{"inf", math.Inf(1), true, true},
		{"-INF", math.Inf(-1), true, true},
		{"+infinity", math.Inf(1), true, true},
		{"nan", 0, false, false},
		{"", 0, false, true},
		{" 1", 0, false, true},
		{"1 ", 0, false, false},
		{"1e400", 0, false, true},
		{"1e-400", 0, false, true},
		{"4.9e-324", 5e-324, true, true},
		{"abc", 0, false, false},
		{"1e", 0, false, false},
		{"0x", 0, false, false},
		{"1\x00", 0, false, true},
	}
	for _, tc := range tests {
		v, ok := ParseScore([]byte(tc.in))
		require.Equal(t, tc.ok, ok, "ParseScore(%q)", tc.in)
		if ok {
			require.Equal(t, tc.v, v, tc.in)
		}
		_, ok = zParseBound([]byte(tc.in))
		require.Equal(t, tc.rng, ok, "bound %q", tc.in)
	}
}

func TestRanges(t *testing.T) {
	r, ok := ParseScoreRange([]byte("(1"), []byte("3"))
	require.True(t, ok)
	require.Equal(t, ScoreRange{Min: 1, Max: 3, MinEx: true}, r)
	_, ok = ParseScoreRange([]byte("x"), []byte("3"))
	require.False(t, ok)

	for _, big := range []bool{false, true} {
		z := NewZSet()
		if big {
			z = NewZSetFor(100, DefaultZSetLimits())
		}
		for i, m := range []string{"a", "b", "c", "d", "e"} {
			z.Add([]byte(m), float64(i), 0, DefaultZSetLimits())
		}
		sr := ScoreRange{Min: 1, Max: 3, MaxEx: true}
		require.Equal(t, 2, z.CountScore(&sr))
		lr, ok := ParseLexRange([]byte("(a"), []byte("[c"))
		require.True(t, ok)
		require.Equal(t, 2, z.CountLex(&lr))
		it := z.IterLex(&lr, true)
		require.Equal(t, "c", string(it.Member()))
		lr, _ = ParseLexRange([]byte("-"), []byte("+"))
		require.Equal(t, 5, z.CountLex(&lr))
		lr, _ = ParseLexRange([]byte("+"), []byte("-"))
		require.Equal(t, 0, z.CountLex(&lr))
		_, ok = ParseLexRange([]byte("a"), []byte("+"))
		require.False(t, ok)

		require.Equal(t, 2, z.RemoveScore(&sr))
		require.Equal(t, []ZPair{{"a", 0}, {"d", 3}, {"e", 4}}, contents(z))
		lr, _ = ParseLexRange([]byte("[d"), []byte("+"))
		require.Equal(t, 2, z.RemoveLex(&lr))
		require.Equal(t, 1, z.RemoveRank(0, 0))
		require.Equal(t, 0, z.Len())
	}
}

func TestZSetScanFindsEverything(t *testing.T) {
	z := NewZSet()
	for i := 0; i < 1000; i++ {
		z.Add([]byte(fmt.Sprint("m", i)), float64(i), 0, DefaultZSetLimits())
	}
	seen := map[string]bool{}
	var cursor uint64
	calls := 0
	for {
		cursor = z.Scan(cursor, func(m []byte, _ float64) { seen[string(m)] = true })
		calls++
		// grow and shrink between calls: elements present throughout
		// must still all be returned
		if calls == 50 {
			for i := 1000; i < 3000; i++ {
				z.Add([]byte(fmt.Sprint("m", i)), float64(i), 0, DefaultZSetLimits())
			}
		}
		if calls == 400 {
			for i := 1000; i < 3000; i++ {
				z.Remove([]byte(fmt.Sprint("m", i)))
			}
		}
		if cursor == 0 {
			break
		}
	}
	for i := 0; i < 1000; i++ {
		require.True(t, seen[fmt.Sprint("m", i)], i)
	}
}

func TestFormatListpackScore(t *testing.T) {
	for in, want := range map[float64]string{
		1: "1", -0.5: "-0.5", 1e17: "100000000000000000", 1e20: "1e+20",
		math.Copysign(0, -1): "-0", math.Inf(1): "inf", 0.1: "0.10000000000000001",
	} {
		require.Equal(t, want, FormatListpackScore(in))
	}
}

func TestNewZSetFromSorted(t *testing.T) {
	pairs := []ZPair{{"a", 1}, {"b", 2}}
	z := NewZSetFromSorted(pairs, DefaultZSetLimits())
	require.Equal(t, "listpack", z.Encoding())
	require.Equal(t, pairs, contents(z))
	var many []ZPair
	for i := 0; i < 200; i++ {
		many = append(many, ZPair{fmt.Sprintf("%03d", i), 1})
	}
	z = NewZSetFromSorted(many, DefaultZSetLimits())
	require.Equal(t, "skiplist", z.Encoding())
	require.Equal(t, many, contents(z))
}

func BenchmarkZSetAddRandom(b *testing.B) {
	z := NewZSet()
	members := make([][]byte, 100000)
	for i := range members {
		members[i] = []byte(fmt.Sprintf("element:%012d", i))
	}
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		z.Add(members[r.IntN(len(members))], float64(r.IntN(100000)), 0, DefaultZSetLimits())
	}
}

func BenchmarkZSetAddSmall(b *testing.B) {
	members := make([][]byte, 100)
	for i := range members {
		members[i] = []byte(fmt.Sprintf("m%d", i))
	}
	b.ReportAllocs()
	z := NewZSet()
	for i := 0; i < b.N; i++ {
		z.Add(members[i%len(members)], float64(i%37), 0, DefaultZSetLimits())
	}
}
