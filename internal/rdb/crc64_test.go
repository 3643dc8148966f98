package rdb

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// crcBitwise is the textbook bit-at-a-time reflected CRC, used as a reference.
func crcBitwise(p []byte) uint64 {
	var crc uint64
	for _, b := range p {
		crc ^= uint64(b)
		for i := 0; i < 8; i++ {
			if crc&1 == 1 {
				crc = crc>>1 ^ crcPoly
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func TestCRC64CheckValues(t *testing.T) {
	require.Equal(t, uint64(0xe9c6d914c4b8d9ca), CRC64([]byte("123456789")))
	require.Equal(t, uint64(0xdaa27f0f405c9b5d), CRC64([]byte{0x0a, 0x00}))
	require.Equal(t, uint64(0), CRC64(nil))
}

func TestCRC64MatchesBitwise(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 300; n++ {
		p := make([]byte, n)
		rng.Read(p)
		require.Equal(t, crcBitwise(p), CRC64(p), "len %d", n)
		// Incremental updates at every split point give the same result.
		split := rng.Intn(n + 1)
		require.Equal(t, CRC64(p), UpdateCRC64(UpdateCRC64(0, p[:split]), p[split:]))
	}
}

func BenchmarkCRC64(b *testing.B) {
	p := make([]byte, 64<<10)
	b.SetBytes(int64(len(p)))
	for i := 0; i < b.N; i++ {
		CRC64(p)
	}
}
