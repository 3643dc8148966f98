package rdb

import (
	"bytes"
	"encoding/hex"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func buildLP(elems ...[]byte) []byte {
	w := newLPWriter(0)
	for _, e := range elems {
		w.appendString(e)
	}
	return w.finish()
}

func TestListpackKnownBytes(t *testing.T) {
	// HSET t:h f v n 5, as captured from redis 7.0.15.
	want := unhex(t, "12000000 0400 8166 02 8176 02 816e 02 05 01 ff")
	require.Equal(t, want, buildLP([]byte("f"), []byte("v"), []byte("n"), []byte("5")))
	got, err := lpStrings(want)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("f"), []byte("v"), []byte("n"), []byte("5")}, got)
	// RPUSH t:l a 1 300.
	want = unhex(t, "0f000000 0300 8161 02 01 01 c12c 02 ff")
	require.Equal(t, want, buildLP([]byte("a"), []byte("1"), []byte("300")))
	// ZADD t:z 1.5 a 2 b.
	want = unhex(t, "14000000 0400 8161 02 83312e35 04 8162 02 02 01 ff")
	require.Equal(t, want, buildLP([]byte("a"), []byte("1.5"), []byte("b"), []byte("2")))
}

func TestListpackRoundTrip(t *testing.T) {
	ints := []int64{0, 1, 127, 128, -1, -4096, 4095, 4096, -4097, 32767, -32768, 32768, 8388607,
		-8388608, 8388608, math.MaxInt32, math.MinInt32, math.MaxInt32 + 1, math.MaxInt64, math.MinInt64}
	var elems [][]byte
	for _, v := range ints {
		elems = append(elems, []byte(strconv.FormatInt(v, 10)))
	}
	for _, n := range []int{0, 1, 63, 64, 127, 128, 4095, 4096, 16383, 16384, 70000} {
		elems = append(elems, bytes.Repeat([]byte{'x'}, n))
	}
	elems = append(elems, []byte("-0"), []byte("007"), []byte("1.5"), []byte(" 1"))
	lp := buildLP(elems...)
	got, err := lpStrings(lp)
	require.NoError(t, err)
	require.Equal(t, len(elems), len(got))
	for i := range elems {
		require.Equal(t, elems[i], got[i], "element %d", i)
	}
	// Entry sizes predicted by lpEntrySize add up to the listpack size.
	total := lpHeaderSize + 1
	for _, e := range elems {
		total += lpEntrySize(e)
	}
	require.Equal(t, len(lp), total)
}

func TestListpackManyElements(t *testing.T) {
	// >= 65535 elements: the header count is 65535 ("unknown") and readers
	// must scan rather than trust it.
	w := newLPWriter(0)
	for i := 0; i < 70000; i++ {
		w.appendInt(int64(i % 100))
	}
	lp := w.finish()
	require.Equal(t, []byte{0xff, 0xff}, lp[4:6])
	n, _, err := lpScan(lp)
	require.NoError(t, err)
	require.Equal(t, 70000, n)
}

func TestListpackBacklen(t *testing.T) {
	for _, l := range []uint64{0, 5, 127, 128, 200, 16382, 16383, 16384, 2097150, 2097151, 268435454, 268435455, 1 << 31} {
		b := appendBacklen(nil, l)
		require.Equal(t, backlenSize(l), len(b))
		v, ok := decodeBacklen(b)
		require.True(t, ok)
		require.Equal(t, l, v)
	}
	require.Equal(t, []byte{0x01, 0xc8}, appendBacklen(nil, 200))
}

func TestListpackCorrupt(t *testing.T) {
	good := buildLP([]byte("f"), []byte("v"), []byte("300"))
	bad := [][]byte{
		nil, {1, 2, 3}, good[:len(good)-1],
		append(append([]byte{}, good...), 0xff),
	}
	// Wrong count.
	c := append([]byte{}, good...)
	c[4] = 7
	bad = append(bad, c)
	// Wrong backlen.
	c = append([]byte{}, good...)
	c[8] = 9
	bad = append(bad, c)
	// Invalid encoding byte.
	c = append([]byte{}, good...)
	c[6] = 0xf7
	bad = append(bad, c)
	for i, b := range bad {
		_, err := lpStrings(b)
		require.Error(t, err, "case %d", i)
		require.ErrorIs(t, err, ErrCorrupt)
	}
}

func FuzzListpack(f *testing.F) {
	f.Add(buildLP([]byte("f"), []byte("v"), []byte("n"), []byte("5")))
	f.Add(buildLP([]byte("-4096"), []byte("70000"), []byte("9223372036854775807"), bytes.Repeat([]byte("y"), 300)))
	f.Add([]byte{7, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		elems, err := lpStrings(data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to something that decodes to the
		// same elements.
		again, err := lpStrings(buildLP(elems...))
		require.NoError(t, err)
		require.Equal(t, len(elems), len(again))
		for i := range elems {
			require.Equal(t, elems[i], again[i])
		}
	})
}

func TestListpackRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for iter := 0; iter < 200; iter++ {
		var elems [][]byte
		for i := rng.Intn(50); i > 0; i-- {
			if rng.Intn(2) == 0 {
				elems = append(elems, []byte(strconv.FormatInt(rng.Int63()>>uint(rng.Intn(63)), 10)))
			} else {
				b := make([]byte, rng.Intn(5000))
				rng.Read(b)
				elems = append(elems, b)
			}
		}
		got, err := lpStrings(buildLP(elems...))
		require.NoError(t, err)
		require.Equal(t, len(elems), len(got))
		for i := range elems {
			require.True(t, bytes.Equal(elems[i], got[i]))
		}
	}
}
