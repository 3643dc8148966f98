package config

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/resp"
)

func TestMemToUll(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"", 0, true}, {"0", 0, true}, {"1", 1, true}, {"1b", 1, true}, {"1B", 1, true},
		{"1k", 1000, true}, {"1K", 1000, true}, {"1kb", 1024, true}, {"1KB", 1024, true}, {"1Kb", 1024, true},
		{"2m", 2000000, true}, {"2mb", 2 << 20, true}, {"1g", 1000000000, true}, {"1gb", 1 << 30, true},
		{"1GB", 1 << 30, true}, {"kb", 0, true}, {"010", 10, true},
		{"99999999999999999999", math.MaxUint64, true},
		{"99999999999999999999gb", 18446744072635809792, true},
		{"-1", 0, false}, {"+1", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"1x", 0, false},
		{"1kbb", 0, false}, {"0x10", 0, false}, {"1.5mb", 0, false}, {"1tb", 0, false},
	} {
		got, ok := memToUll(tc.in)
		require.Equal(t, tc.ok, ok, "memToUll(%q)", tc.in)
		require.Equal(t, tc.want, got, "memToUll(%q)", tc.in)
	}
}

func TestString2ll(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"-1", -1, true}, {"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true}, {"9223372036854775808", 0, false},
		{"-0", 0, false}, {"007", 0, false}, {"+1", 0, false}, {"", 0, false}, {"-", 0, false},
		{" 1", 0, false}, {"1 ", 0, false}, {"1.0", 0, false}, {"1e3", 0, false},
		{"99999999999999999999", 0, false},
	} {
		got, ok := resp.ParseInt(tc.in)
		require.Equal(t, tc.ok, ok, "resp.ParseInt(%q)", tc.in)
		require.Equal(t, tc.want, got, "resp.ParseInt(%q)", tc.in)
	}
}

func TestStrtoll(t *testing.T) {
	for _, tc := range []struct {
		in      string
		base    int
		want    int64
		ok, ovf bool
	}{
		{"", 10, 0, true, false},
		{"12", 10, 12, true, false},
		{" \t12", 10, 12, true, false},
		{"+5", 10, 5, true, false},
		{"-5", 10, -5, true, false},
		{"12a", 10, 12, false, false},
		{"a", 10, 0, false, false},
		{" ", 10, 0, false, false},
		{"0x10", 10, 0, false, false},
		{"777", 8, 511, true, false},
		{"0777", 8, 511, true, false},
		{"8", 8, 0, false, false},
		{"99999999999999999999", 10, math.MaxInt64, true, true},
		{"-99999999999999999999", 10, math.MinInt64, true, true},
	} {
		got, ok, ovf := strtoll(tc.in, tc.base)
		require.Equal(t, tc.want, got, "strtoll(%q)", tc.in)
		require.Equal(t, tc.ok, ok, "strtoll(%q) ok", tc.in)
		require.Equal(t, tc.ovf, ovf, "strtoll(%q) overflow", tc.in)
	}
}

func TestString2d(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1", 1, true}, {"99.9", 99.9, true}, {"-1.5", -1.5, true}, {"1e2", 100, true}, {"+3", 3, true},
		{"inf", math.Inf(1), true}, {"0x10", 16, true},
		{"", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"abc", 0, false}, {"nan", 0, false},
		{"1e400", 0, false},
	} {
		got, ok := string2d(tc.in)
		require.Equal(t, tc.ok, ok, "string2d(%q)", tc.in)
		if ok {
			require.Equal(t, tc.want, got, "string2d(%q)", tc.in)
		}
	}
}

func TestRepr(t *testing.T) {
	for in, want := range map[string]string{
		"":                 `""`,
		"abc":              `"abc"`,
		`a"b\c`:            `"a\"b\\c"`,
		"\n\r\t\a\b":       `"\n\r\t\a\b"`,
		"\x00\x01\x7f\xff": `"\x00\x01\x7f\xff"`,
		"a b'c":            `"a b'c"`,
	} {
		require.Equal(t, want, Repr(in), "Repr(%q)", in)
	}
}

func TestTrimDouble(t *testing.T) {
	for in, want := range map[float64]string{50: "50", 99: "99", 99.9: "99.9", 0.5: "0.5", 1e-7: "0", 100: "100", 12.25: "12.25"} {
		require.Equal(t, want, trimDouble(in))
	}
}

func TestFormatMemory(t *testing.T) {
	for in, want := range map[int64]string{
		0: "0", 1: "1", 1000: "1000", 1024: "1kb", 1536: "1536", 3 << 20: "3mb",
		2 << 30: "2gb", 1<<30 + 1024: "1048577kb", 512 << 20: "512mb",
	} {
		require.Equal(t, want, formatMemory(in))
	}
}
