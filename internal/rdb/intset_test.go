package rdb

import (
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIntsetKnownBytes(t *testing.T) {
	// SADD t:set 1 2 70000 as captured from redis 7.0.15.
	want := unhex(t, "04000000 03000000 01000000 02000000 70110100")
	require.Equal(t, want, intsetBlob([]int64{70000, 2, 1}))
	got, err := intsetStrings(want)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("1"), []byte("2"), []byte("70000")}, got)
}

func TestIntsetWidths(t *testing.T) {
	for _, c := range []struct {
		vals []int64
		enc  byte
	}{
		{[]int64{-32768, 0, 32767}, 2},
		{[]int64{-32769, 5}, 4},
		{[]int64{math.MaxInt32, math.MinInt32}, 4},
		{[]int64{math.MaxInt64, math.MinInt64, 0}, 8},
		{nil, 2},
	} {
		b := intsetBlob(append([]int64(nil), c.vals...))
		require.Equal(t, c.enc, b[0])
		vals, err := intsetValues(b)
		require.NoError(t, err)
		require.Len(t, vals, len(c.vals))
		for i := 1; i < len(vals); i++ {
			require.Less(t, vals[i-1], vals[i])
		}
	}
}

func TestIntsetCorrupt(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		unhex(t, "03000000 01000000 010000"),
		unhex(t, "02000000 02000000 0100"),
		unhex(t, "02000000 02000000 0200 0100"),
		unhex(t, "02000000 02000000 0100 0100"),
	} {
		_, err := intsetValues(b)
		require.ErrorIs(t, err, ErrCorrupt)
	}
}

func FuzzIntset(f *testing.F) {
	f.Add(intsetBlob([]int64{1, 2, 70000}))
	f.Add(intsetBlob([]int64{math.MinInt64, -1, math.MaxInt64}))
	f.Fuzz(func(t *testing.T, data []byte) {
		strs, err := intsetStrings(data)
		if err != nil {
			return
		}
		vals := make([]int64, len(strs))
		for i, s := range strs {
			v, err := strconv.ParseInt(string(s), 10, 64)
			require.NoError(t, err)
			vals[i] = v
		}
		again, err := intsetStrings(intsetBlob(vals))
		require.NoError(t, err)
		require.Equal(t, strs, again)
	})
}
