package rdb

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

func lzfRoundTrip(t testing.TB, src []byte) {
	var tab LZFTable
	dst := make([]byte, len(src)+len(src)/32+2)
	n := lzfCompressRedis(dst, src, &tab)
	if n == 0 {
		// Declined (tiny input): the writer stores such strings raw.
		require.Less(t, len(src), 64, "compression into a roomy buffer must succeed")
		return
	}
	out := make([]byte, len(src))
	require.NoError(t, lzfDecompress(out, dst[:n]))
	require.Equal(t, src, out)
}

func TestLZFRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	cases := [][]byte{
		[]byte("a"),
		[]byte("abc"),
		bytes.Repeat([]byte("a"), 200),
		bytes.Repeat([]byte("abcdefgh"), 1000),
		[]byte("hello hello hello hello world world world"),
	}
	for i := 0; i < 200; i++ {
		n := rng.Intn(20000)
		p := make([]byte, n)
		alpha := 1 + rng.Intn(255)
		for j := range p {
			p[j] = byte(rng.Intn(alpha))
		}
		cases = append(cases, p)
	}
	for _, c := range cases {
		lzfRoundTrip(t, c)
	}
}

func TestLZFBudget(t *testing.T) {
	var tab LZFTable
	rng := rand.New(rand.NewSource(3))
	p := make([]byte, 1000)
	rng.Read(p)
	dst := make([]byte, len(p)-4)
	require.Zero(t, lzfCompressRedis(dst, p, &tab), "random data must not fit in len-4")
	q := bytes.Repeat([]byte("x"), 1000)
	dst = make([]byte, len(q)-4)
	n := lzfCompressRedis(dst, q, &tab)
	require.NotZero(t, n)
	require.Less(t, n, 30)
}

func TestLZFDecompressKnown(t *testing.T) {
	// "aaaaaaaaaa": literal 'a', then a back reference of 9 bytes at offset 0.
	src := []byte{0x00, 'a', 0xe0, 0x00, 0x00}
	out := make([]byte, 10)
	require.NoError(t, lzfDecompress(out, src))
	require.Equal(t, "aaaaaaaaaa", string(out))
	// Wrong declared lengths and bad references fail cleanly.
	require.Error(t, lzfDecompress(make([]byte, 9), src))
	require.Error(t, lzfDecompress(make([]byte, 11), src))
	require.Error(t, lzfDecompress(make([]byte, 3), []byte{0x20, 0x05}))
	require.Error(t, lzfDecompress(make([]byte, 3), []byte{0x05, 'a'}))
	require.Error(t, lzfDecompress(make([]byte, 3), []byte{0xe0}))
}

func FuzzLZF(f *testing.F) {
	f.Add([]byte("hello hello hello"), 17)
	f.Add([]byte{0x00, 'a', 0xe0, 0x00, 0x00}, 10)
	f.Add(bytes.Repeat([]byte{1, 2, 3}, 100), 300)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		// Arbitrary input must never panic when decompressed.
		if n >= 0 && n < 1<<20 {
			_ = lzfDecompress(make([]byte, n), data)
		}
		// Any input must round-trip through the compressor.
		lzfRoundTrip(t, data)
	})
}
