package rdb

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lzfInputs are strings over more or less repetitive alphabets, with
// matches that run to the end of the input, past 264 bytes, and literal
// runs longer than 32 bytes.
func lzfInputs() [][]byte {
	rnd := rand.New(rand.NewSource(7))
	var out [][]byte
	add := func(s string) { out = append(out, []byte(s)) }
	add(strings.Repeat("a", 100))
	add(strings.Repeat("ab", 50))
	add(strings.Repeat("hello world ", 40))
	add(strings.Repeat("x", 100000))
	for k := 10; k < 45; k++ {
		add("xyzw" + strings.Repeat("a", k))
		add(strings.Repeat("q", k) + "0123456789")
		add("abcdefghijklmnopqrstuvwxyz0123456789"[:k%36+1] + strings.Repeat("abc", k))
	}
	for _, alpha := range []int{2, 3, 4, 16, 64, 256} {
		for i := 0; i < 40; i++ {
			n := 21 + rnd.Intn(3000)
			b := make([]byte, n)
			for j := range b {
				b[j] = byte(rnd.Intn(alpha))
				if alpha < 256 {
					b[j] += 'a'
				}
			}
			out = append(out, b)
		}
	}
	// text with long-distance repeats (offsets near the 8 KB limit)
	block := make([]byte, 8190)
	for j := range block {
		block[j] = byte('a' + rnd.Intn(26))
	}
	out = append(out, append(append([]byte(nil), block...), block[:500]...))
	return out
}

// TestLZFCompressRedisMatchesRedis: for every input, lzfCompressRedis
// gives the bytes redis-server 7.0 puts in a DUMP payload, and declines
// where redis-server stores the string uncompressed.
func TestLZFCompressRedisMatchesRedis(t *testing.T) {
	p := startRedis(t, "")
	rc := p.dial(t)
	var tab LZFTable
	compared := 0
	for i, in := range lzfInputs() {
		if len(in) <= 20 {
			continue // Redis compresses longer strings only
		}
		rc.must(t, "SET", "k", in)
		payload, ok := rc.must(t, "DUMP", "k").([]byte)
		require.True(t, ok)
		r := newReader(bytes.NewReader(payload[1:]), int64(len(payload)-1), 0)
		n, enc, err := r.readLenEnc()
		require.NoError(t, err)
		budget := len(in) - 4
		dst := make([]byte, budget)
		got := lzfCompressRedis(dst, in, &tab)
		if !enc || n != encLZF {
			require.Zero(t, got, "input %d (%d bytes): redis-server stored it raw", i, len(in))
			continue
		}
		clen, err := r.readLen()
		require.NoError(t, err)
		ulen, err := r.readLen()
		require.NoError(t, err)
		require.Equal(t, uint64(len(in)), ulen)
		want, err := r.readRaw(int(clen), nil)
		require.NoError(t, err)
		require.Equal(t, want, dst[:got], "input %d (%d bytes)", i, len(in))
		compared++
		// and it decompresses back
		back := make([]byte, len(in))
		require.NoError(t, lzfDecompress(back, dst[:got]))
		require.Equal(t, in, back)
	}
	require.Greater(t, compared, 200)
}

// TestLZFCompressRedisRoundTrip: without redis-server, compressed data
// always expands back to the input, and the budget is respected.
func TestLZFCompressRedisRoundTrip(t *testing.T) {
	var tab LZFTable
	for i, in := range lzfInputs() {
		for _, budget := range []int{len(in) - 4, len(in) / 2, 8} {
			dst := make([]byte, budget)
			n := lzfCompressRedis(dst, in, &tab)
			require.LessOrEqual(t, n, budget)
			if n == 0 {
				continue
			}
			back := make([]byte, len(in))
			require.NoError(t, lzfDecompress(back, dst[:n]), "input %d budget %d", i, budget)
			require.Equal(t, in, back, "input %d budget %d", i, budget)
		}
	}
}
