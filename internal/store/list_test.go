package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// listOf builds a list by pushing vals at the tail.
func listOf(vals ...string) *List {
	l := NewList()
	for _, v := range vals {
		l.PushBack([]byte(v))
	}
	return l
}

// listContents returns the elements head to tail, checking the node invariants.
func listContents(t *testing.T, l *List) []string {
	t.Helper()
	out := []string{}
	total := 0
	for i := 0; i < int(l.nn); i++ {
		nd := l.node(i)
		require.Positive(t, nd.count, "node %d is empty", i)
		c := 0
		for p := int(nd.start); p < int(nd.end); {
			ds, de, np := nd.next(p)
			out = append(out, string(nd.buf[ds:de]))
			p = np
			c++
		}
		require.Equal(t, int(nd.count), c, "node %d count", i)
		total += c
	}
	require.Equal(t, l.Len(), total)
	// the iterators agree with the node walk both ways
	var fw, bw []string
	it := l.Iter(0, false)
	for v, ok := it.Next(); ok; v, ok = it.Next() {
		fw = append(fw, string(v))
	}
	it = l.Iter(l.Len()-1, true)
	for v, ok := it.Next(); ok; v, ok = it.Next() {
		bw = append([]string{string(v)}, bw...)
	}
	if len(out) > 0 {
		require.Equal(t, out, fw)
		require.Equal(t, out, bw)
	}
	return out
}

func TestListEntryEncoding(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 70000} {
		v := bytes.Repeat([]byte{'x'}, n)
		b := make([]byte, entrySize(n))
		putEntry(b, v)
		nd := lnode{buf: b, end: int32(len(b))}
		ds, de, np := nd.next(0)
		require.Equal(t, len(b), np)
		require.Equal(t, v, b[ds:de])
		ds2, de2, pp := nd.prev(len(b))
		require.Equal(t, 0, pp)
		require.Equal(t, ds, ds2)
		require.Equal(t, de, de2)
	}
}

func TestListPushPop(t *testing.T) {
	tests := []struct {
		name string
		ops  func(l *List)
		want []string
	}{
		{"empty", func(l *List) {}, []string{}},
		{"push back", func(l *List) { l.PushBack([]byte("a")); l.PushBack([]byte("b")) }, []string{"a", "b"}},
		{"push front", func(l *List) { l.PushFront([]byte("a")); l.PushFront([]byte("b")) }, []string{"b", "a"}},
		{"mixed", func(l *List) {
			l.PushFront([]byte("b"))
			l.PushBack([]byte("c"))
			l.PushFront([]byte("a"))
			l.PushBack([]byte(""))
		}, []string{"a", "b", "c", ""}},
		{"pop both", func(l *List) {
			for _, s := range []string{"1", "2", "3", "4"} {
				l.PushBack([]byte(s))
			}
			l.PopFront()
			l.PopBack()
		}, []string{"2", "3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := NewList()
			tc.ops(l)
			require.Equal(t, tc.want, listContents(t, l))
		})
	}
	l := NewList()
	_, ok := l.PopFront()
	require.False(t, ok)
	_, ok = l.PopBack()
	require.False(t, ok)
	require.Equal(t, "quicklist", l.Encoding())
}

func TestListIndexSet(t *testing.T) {
	l := listOf("a", "b", "c", "d")
	tests := []struct {
		i    int
		want string
		ok   bool
	}{{0, "a", true}, {3, "d", true}, {-1, "d", true}, {-4, "a", true}, {4, "", false}, {-5, "", false}}
	for _, tc := range tests {
		v, ok := l.Index(tc.i)
		require.Equal(t, tc.ok, ok, "index %d", tc.i)
		require.Equal(t, tc.want, string(v), "index %d", tc.i)
	}
	require.True(t, l.Set(1, []byte("BB")))
	require.True(t, l.Set(-1, []byte("")))
	require.False(t, l.Set(9, []byte("x")))
	require.Equal(t, []string{"a", "BB", "c", ""}, listContents(t, l))
}

func TestListInsertRemove(t *testing.T) {
	l := listOf("a", "b", "a", "c", "a")
	require.True(t, l.Insert([]byte("b"), []byte("X"), false))
	require.True(t, l.Insert([]byte("c"), []byte("Y"), true))
	require.False(t, l.Insert([]byte("zz"), []byte("Y"), true))
	require.Equal(t, []string{"a", "X", "b", "a", "c", "Y", "a"}, listContents(t, l))

	tests := []struct {
		count int
		want  []string
		n     int
	}{
		{1, []string{"X", "b", "a", "c", "Y", "a"}, 1},
		{-1, []string{"a", "X", "b", "a", "c", "Y"}, 1},
		{0, []string{"X", "b", "c", "Y"}, 3},
		{-2, []string{"a", "X", "b", "c", "Y"}, 2},
		{10, []string{"X", "b", "c", "Y"}, 3},
	}
	for _, tc := range tests {
		l := listOf("a", "X", "b", "a", "c", "Y", "a")
		require.Equal(t, tc.n, l.Remove(tc.count, []byte("a")), "count %d", tc.count)
		require.Equal(t, tc.want, listContents(t, l), "count %d", tc.count)
	}
	l = listOf("a", "a")
	require.Equal(t, 2, l.Remove(0, []byte("a")))
	require.Equal(t, 0, l.Len())
	require.Equal(t, int32(0), l.nn)
}

func TestListTrim(t *testing.T) {
	l := listOf("a", "b", "c", "d", "e")
	l.TrimFront(1)
	l.TrimBack(2)
	require.Equal(t, []string{"b", "c"}, listContents(t, l))
	l.TrimBack(5)
	require.Equal(t, 0, l.Len())
}

func TestListDup(t *testing.T) {
	l := listOf("a", "b")
	d := l.Dup().(*List)
	l.PushBack([]byte("c"))
	require.Equal(t, []string{"a", "b"}, listContents(t, d))
}

func TestListIterFrom(t *testing.T) {
	l := NewList()
	for i := 0; i < 5000; i++ {
		l.PushBack([]byte(fmt.Sprint(i)))
	}
	it := l.Iter(2500, false)
	v, _ := it.Next()
	require.Equal(t, "2500", string(v))
	v, _ = it.Next()
	require.Equal(t, "2501", string(v))
	it = l.Iter(2500, true)
	v, _ = it.Next()
	require.Equal(t, "2500", string(v))
	v, _ = it.Next()
	require.Equal(t, "2499", string(v))
	it = l.Iter(5000, false)
	_, ok := it.Next()
	require.False(t, ok)
}

// TestListModel runs random operations against a slice model, with
// element sizes that exercise node splits, big entries and many nodes.
func TestListModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	val := func() []byte {
		switch r.IntN(10) {
		case 0:
			return bytes.Repeat([]byte{byte('a' + r.IntN(26))}, r.IntN(20000))
		case 1, 2:
			return []byte(strings.Repeat("v", r.IntN(300)))
		default:
			return []byte(fmt.Sprint(r.IntN(50)))
		}
	}
	for round := 0; round < 8; round++ {
		l := NewList()
		var m []string
		for step := 0; step < 2000; step++ {
			switch op := r.IntN(12); op {
			case 0, 1:
				v := val()
				l.PushFront(v)
				m = append([]string{string(v)}, m...)
			case 2, 3:
				v := val()
				l.PushBack(v)
				m = append(m, string(v))
			case 4:
				v, ok := l.PopFront()
				require.Equal(t, len(m) > 0, ok)
				if ok {
					require.Equal(t, m[0], string(v))
					m = m[1:]
				}
			case 5:
				v, ok := l.PopBack()
				require.Equal(t, len(m) > 0, ok)
				if ok {
					require.Equal(t, m[len(m)-1], string(v))
					m = m[:len(m)-1]
				}
			case 6:
				if len(m) > 0 {
					i := r.IntN(len(m))
					v, ok := l.Index(i)
					require.True(t, ok)
					require.Equal(t, m[i], string(v))
					nv := val()
					l.Set(i, nv)
					m[i] = string(nv)
				}
			case 7:
				if len(m) > 0 {
					pivot := m[r.IntN(len(m))]
					v := val()
					after := r.IntN(2) == 0
					require.True(t, l.Insert([]byte(pivot), v, after))
					for i, x := range m {
						if x == pivot {
							if after {
								i++
							}
							m = append(m[:i], append([]string{string(v)}, m[i:]...)...)
							break
						}
					}
				}
			case 8:
				target := fmt.Sprint(r.IntN(50))
				count := r.IntN(5) - 2
				got := l.Remove(count, []byte(target))
				want := 0
				var nm []string
				if count >= 0 {
					for _, x := range m {
						if x == target && (count == 0 || want < count) {
							want++
							continue
						}
						nm = append(nm, x)
					}
				} else {
					for i := len(m) - 1; i >= 0; i-- {
						if m[i] == target && want < -count {
							want++
							continue
						}
						nm = append([]string{m[i]}, nm...)
					}
				}
				require.Equal(t, want, got)
				m = nm
			case 9:
				if len(m) > 0 && r.IntN(4) == 0 {
					k := r.IntN(len(m) + 1)
					if r.IntN(2) == 0 {
						l.TrimFront(k)
						m = m[k:]
					} else {
						l.TrimBack(k)
						m = m[:len(m)-k]
					}
				}
			case 10, 11:
				var vals [][]byte
				for i := r.IntN(40); i > 0; i-- {
					vals = append(vals, val())
				}
				front := op == 10
				l.PushMany(vals, front)
				for _, v := range vals {
					if front {
						m = append([]string{string(v)}, m...)
					} else {
						m = append(m, string(v))
					}
				}
			}
			require.Equal(t, len(m), l.Len())
		}
		got := listContents(t, l)
		if len(m) == 0 {
			m = []string{}
		}
		require.Equal(t, m, got)
	}
}

func BenchmarkListPushFront(b *testing.B) {
	l := NewList()
	v := []byte("xxx")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		l.PushFront(v)
	}
}

func BenchmarkListQueue(b *testing.B) {
	l := NewList()
	v := []byte("some value")
	for i := 0; i < 100; i++ {
		l.PushBack(v)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		l.PushBack(v)
		l.PopFront()
	}
}

func TestListMemoryUsage(t *testing.T) {
	l := listOf("a", "b")
	small := l.MemoryUsage()
	require.Greater(t, small, int64(80))
	for i := 0; i < 10000; i++ {
		l.PushBack([]byte("some element"))
	}
	require.Greater(t, l.MemoryUsage(), small+10000*14)
}
