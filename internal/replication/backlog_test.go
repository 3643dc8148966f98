package replication

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkBacklog verifies a backlog against the whole stream written so far
// (stream[i] is byte i+1 of the stream).
func checkBacklog(t *testing.T, b *Backlog, base int64, stream []byte) {
	t.Helper()
	total := base + int64(len(stream))
	require.Equal(t, total, b.Offset())
	require.LessOrEqual(t, b.HistLen(), int64(b.Size()))
	require.LessOrEqual(t, b.HistLen(), int64(len(stream)))
	require.Equal(t, total-b.HistLen()+1, b.FirstByteOffset())
	first := b.FirstByteOffset()
	require.False(t, b.CanServe(first-1))
	require.False(t, b.CanServe(total+2))
	offs := []int64{first, first + b.HistLen()/2, total + 1}
	if b.HistLen() > 0 {
		offs = append(offs, total)
	}
	for _, off := range offs {
		require.True(t, b.CanServe(off), "offset %d", off)
		got, ok := b.AppendFrom([]byte("x"), off)
		require.True(t, ok)
		require.Equal(t, "x"+string(stream[off-1-base:]), string(got), "offset %d", off)
	}
	_, ok := b.AppendFrom(nil, first-1)
	require.False(t, ok)
}

func TestBacklogBasics(t *testing.T) {
	b := NewBacklog(10, 100)
	require.Equal(t, int64(100), b.Offset())
	require.Equal(t, int64(101), b.FirstByteOffset())
	require.Equal(t, int64(0), b.HistLen())
	require.True(t, b.CanServe(101))
	require.False(t, b.CanServe(100))
	require.False(t, b.CanServe(102))
	got, ok := b.AppendFrom(nil, 101)
	require.True(t, ok)
	require.Empty(t, got)

	var stream []byte
	write := func(s string) {
		b.Write([]byte(s))
		stream = append(stream, s...)
		checkBacklog(t, b, 100, stream)
	}
	write("abc")                 // growing
	write("defgh")               // still growing
	write("ij")                  // exactly full
	write("k")                   // first wrap
	write("lmnopq")              // wrap in the middle
	write("0123456789")          // exactly size
	write("ABCDEFGHIJKLMNOPQRS") // bigger than size
	write("")
	require.Equal(t, "JKLMNOPQRS", string(must(b.AppendFrom(nil, b.FirstByteOffset()))))
}

func must(b []byte, ok bool) []byte {
	if !ok {
		panic("not servable")
	}
	return b
}

func TestBacklogResize(t *testing.T) {
	b := NewBacklog(8, 0)
	b.Write([]byte("0123456789AB")) // holds 456789AB
	b.Resize(4)
	require.Equal(t, 4, b.Size())
	require.Equal(t, int64(4), b.HistLen())
	require.Equal(t, "89AB", string(must(b.AppendFrom(nil, b.FirstByteOffset()))))
	b.Write([]byte("CD"))
	require.Equal(t, "ABCD", string(must(b.AppendFrom(nil, b.FirstByteOffset()))))
	b.Resize(16)
	require.Equal(t, int64(4), b.HistLen())
	b.Write([]byte("EFGHIJKLMNOP"))
	require.Equal(t, int64(16), b.HistLen())
	require.Equal(t, "ABCDEFGHIJKLMNOP", string(must(b.AppendFrom(nil, b.FirstByteOffset()))))
	b.Write([]byte("Q"))
	require.Equal(t, "BCDEFGHIJKLMNOPQ", string(must(b.AppendFrom(nil, b.FirstByteOffset()))))
	require.Equal(t, int64(12+2+12+1), b.Offset())
	empty := NewBacklog(8, 5)
	empty.Resize(32)
	require.Equal(t, int64(6), empty.FirstByteOffset())
	empty.Write([]byte("xy"))
	require.Equal(t, "xy", string(must(empty.AppendFrom(nil, 6))))
}

// TestBacklogRandom checks wraparound, growth and resizes against a
// reference copy of the whole stream.
func TestBacklogRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 80; iter++ {
		size := 1 + rng.Intn(300)
		base := int64(rng.Intn(1000))
		b := NewBacklog(size, base)
		var stream []byte
		for step := 0; step < 60; step++ {
			if rng.Intn(10) == 0 {
				b.Resize(1 + rng.Intn(300))
				checkBacklog(t, b, base, stream)
				continue
			}
			p := make([]byte, rng.Intn(2*size+1))
			rng.Read(p)
			b.Write(p)
			stream = append(stream, p...)
			checkBacklog(t, b, base, stream)
			// Every servable offset returns the right suffix.
			for off := b.FirstByteOffset(); off <= b.Offset()+1; off++ {
				got, ok := b.AppendFrom(nil, off)
				require.True(t, ok)
				require.Equal(t, string(stream[off-1-base:]), string(got))
			}
		}
	}
}
