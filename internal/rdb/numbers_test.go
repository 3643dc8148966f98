package rdb

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseStrictInt64(t *testing.T) {
	ok := map[string]int64{
		"0": 0, "1": 1, "-1": -1, "127": 127, "9223372036854775807": math.MaxInt64,
		"-9223372036854775808": math.MinInt64, "12345678901": 12345678901,
	}
	for s, v := range ok {
		got, good := parseStrictInt64([]byte(s))
		require.True(t, good, s)
		require.Equal(t, v, got, s)
	}
	for _, s := range []string{"", "-", "-0", "01", "+1", " 1", "1 ", "1a", "9223372036854775808",
		"-9223372036854775809", "18446744073709551616", "99999999999999999999", "1.0", "00"} {
		_, good := parseStrictInt64([]byte(s))
		require.False(t, good, s)
	}
}

func formatScore(d float64) string { return string(appendScore(nil, d)) }

func TestFormatScore(t *testing.T) {
	cases := map[float64]string{
		1: "1", -5: "-5", 1.5: "1.5", 0.1: "0.10000000000000001", math.Inf(1): "inf",
		math.Inf(-1): "-inf", math.Copysign(0, -1): "-0", 1e300: "1.0000000000000001e+300",
		4611686018427387904: "4611686018427387904", 1e19: "1e+19", 1e-5: "1.0000000000000001e-05",
	}
	for f, s := range cases {
		require.Equal(t, s, formatScore(f))
	}
	_, ok := double2ll(math.Copysign(0, -1))
	require.True(t, ok)
	_, ok = double2ll(math.NaN())
	require.False(t, ok)
	_, ok = double2ll(1e19)
	require.False(t, ok)
}
