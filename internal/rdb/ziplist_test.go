package rdb

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// zlBuilder writes ziplists; Redis 7.0 never writes them, it is used by tests
// to produce legacy inputs.
type zlBuilder struct {
	buf      []byte
	prevSize int
	lastPos  int
	count    int
}

func newZLBuilder() *zlBuilder {
	return &zlBuilder{buf: make([]byte, zlHeaderSize), lastPos: zlHeaderSize}
}

// add appends s, as an integer when it is a canonical int64.
func (b *zlBuilder) add(s []byte) {
	start := len(b.buf)
	if b.prevSize < 254 {
		b.buf = append(b.buf, byte(b.prevSize))
	} else {
		b.buf = append(b.buf, 254)
		b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(b.prevSize))
	}
	if v, ok := parseStrictInt64(s); ok {
		switch {
		case v >= 0 && v <= 12:
			b.buf = append(b.buf, 0xf1+byte(v))
		case v >= -128 && v <= 127:
			b.buf = append(b.buf, 0xfe, byte(v))
		case v >= -32768 && v <= 32767:
			b.buf = append(b.buf, 0xc0, byte(v), byte(v>>8))
		case v >= -8388608 && v <= 8388607:
			b.buf = append(b.buf, 0xf0, byte(v), byte(v>>8), byte(v>>16))
		case v >= -2147483648 && v <= 2147483647:
			b.buf = append(b.buf, 0xd0, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
		default:
			b.buf = append(b.buf, 0xe0)
			b.buf = binary.LittleEndian.AppendUint64(b.buf, uint64(v))
		}
	} else {
		switch n := len(s); {
		case n < 64:
			b.buf = append(b.buf, byte(n))
		case n < 16384:
			b.buf = append(b.buf, 0x40|byte(n>>8), byte(n))
		default:
			b.buf = append(b.buf, 0x80)
			b.buf = binary.BigEndian.AppendUint32(b.buf, uint32(n))
		}
		b.buf = append(b.buf, s...)
	}
	b.lastPos = start
	b.prevSize = len(b.buf) - start
	b.count++
}

// finish returns the ziplist.
func (b *zlBuilder) finish() []byte {
	out := append(b.buf, zlEnd)
	binary.LittleEndian.PutUint32(out, uint32(len(out)))
	binary.LittleEndian.PutUint32(out[4:], uint32(b.lastPos))
	c := b.count
	if c > zlUnknownCount {
		c = zlUnknownCount
	}
	binary.LittleEndian.PutUint16(out[8:], uint16(c))
	return out
}

func buildZL(elems ...[]byte) []byte {
	b := newZLBuilder()
	for _, e := range elems {
		b.add(e)
	}
	return b.finish()
}

func TestZiplistRoundTrip(t *testing.T) {
	var elems [][]byte
	for _, v := range []int64{0, 12, 13, -1, 127, -128, 128, 32767, -32769, 8388607, 8388608,
		math.MaxInt32, math.MinInt32 - 1, math.MaxInt64, math.MinInt64} {
		elems = append(elems, []byte(strconv.FormatInt(v, 10)))
	}
	for _, n := range []int{0, 1, 63, 64, 250, 253, 254, 300, 16383, 16384, 20000} {
		elems = append(elems, bytes.Repeat([]byte{'z'}, n))
	}
	zl := buildZL(elems...)
	got, err := zlStrings(zl)
	require.NoError(t, err)
	require.Equal(t, elems, got)
	empty, err := zlStrings(buildZL())
	require.NoError(t, err)
	require.Empty(t, empty)
}

func TestZiplistCorrupt(t *testing.T) {
	good := buildZL([]byte("a"), []byte("300"), bytes.Repeat([]byte("q"), 300), []byte("x"))
	mut := func(f func(b []byte)) []byte {
		c := append([]byte{}, good...)
		f(c)
		return c
	}
	bad := [][]byte{
		nil, good[:5], good[:len(good)-1],
		mut(func(b []byte) { b[8] = 9 }),                 // count
		mut(func(b []byte) { b[4]++ }),                   // tail
		mut(func(b []byte) { b[zlHeaderSize] = 3 }),      // first prevlen
		mut(func(b []byte) { b[zlHeaderSize+1] = 0xc5 }), // encoding
		mut(func(b []byte) { binary.LittleEndian.PutUint32(b, 3) }),
	}
	for i, b := range bad {
		_, err := zlStrings(b)
		require.ErrorIs(t, err, ErrCorrupt, "case %d", i)
	}
}

func FuzzZiplist(f *testing.F) {
	f.Add(buildZL([]byte("a"), []byte("300"), []byte("-70000"), bytes.Repeat([]byte("q"), 300)))
	f.Add(buildZL())
	f.Fuzz(func(t *testing.T, data []byte) {
		elems, err := zlStrings(data)
		if err != nil {
			return
		}
		again, err := zlStrings(buildZL(elems...))
		require.NoError(t, err)
		require.Equal(t, len(elems), len(again))
		for i := range elems {
			require.Equal(t, elems[i], again[i])
		}
	})
}

func buildZipmap(pairs ...string) []byte {
	out := []byte{byte(len(pairs) / 2)}
	put := func(n int) {
		if n < zmBigLen {
			out = append(out, byte(n))
		} else {
			out = append(out, zmBigLen)
			out = binary.LittleEndian.AppendUint32(out, uint32(n))
		}
	}
	for i := 0; i < len(pairs); i += 2 {
		put(len(pairs[i]))
		out = append(out, pairs[i]...)
		put(len(pairs[i+1]))
		out = append(out, 2) // two free bytes
		out = append(out, pairs[i+1]...)
		out = append(out, 0, 0)
	}
	return append(out, zmEnd)
}

func TestZipmap(t *testing.T) {
	big := string(bytes.Repeat([]byte("v"), 300))
	got, err := zipmapPairs(buildZipmap("foo", "bar", "hello", big))
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("foo"), []byte("bar"), []byte("hello"), []byte(big)}, got)
	// The compact example from Redis's zipmap.c comment.
	got, err = zipmapPairs([]byte("\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff"))
	require.NoError(t, err)
	require.Len(t, got, 4)
	for _, b := range [][]byte{nil, {0xff}, {1, 0xff}, {1, 3, 'a', 0xff}, []byte("\x05\x03foo\x03\x00bar\xff")} {
		_, err := zipmapPairs(b)
		require.ErrorIs(t, err, ErrCorrupt)
	}
}

func FuzzZipmap(f *testing.F) {
	f.Add(buildZipmap("foo", "bar", "hello", "world"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = zipmapPairs(data)
	})
}
