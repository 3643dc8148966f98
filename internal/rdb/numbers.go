package rdb

import (
	"math"
	"strconv"
)

// parseStrictInt64 parses b when it is the canonical decimal form of an int64
// (no sign other than a leading '-', no leading zeros, no spaces, "-0"
// rejected), the way Redis decides that a string can be stored as an integer
// (string2ll / lpStringToInt64).
func parseStrictInt64(b []byte) (int64, bool) {
	n := len(b)
	if n == 0 || n > 20 {
		return 0, false
	}
	if n == 1 && b[0] == '0' {
		return 0, true
	}
	i := 0
	neg := false
	if b[0] == '-' {
		neg = true
		i = 1
		if n == 1 {
			return 0, false
		}
	}
	if b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < n; i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > math.MaxUint64/10 {
			return 0, false
		}
		v *= 10
		d := uint64(c - '0')
		if v > math.MaxUint64-d {
			return 0, false
		}
		v += d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// double2ll reports whether d is integral and safely representable as an
// int64 (Redis's double2ll: |d| <= LLONG_MAX/2). -0 converts to 0.
func double2ll(d float64) (int64, bool) {
	const lim = float64(math.MaxInt64 / 2)
	if !(d >= -lim && d <= lim) {
		return 0, false
	}
	v := int64(d)
	if float64(v) != d {
		return 0, false
	}
	return v, true
}

// appendScore appends a score formatted as Redis's d2string does (integers
// without a decimal point, otherwise %.17g; "inf", "-inf", "-0", "nan").
func appendScore(dst []byte, d float64) []byte {
	switch {
	case math.IsNaN(d):
		return append(dst, "nan"...)
	case math.IsInf(d, 1):
		return append(dst, "inf"...)
	case math.IsInf(d, -1):
		return append(dst, "-inf"...)
	case d == 0:
		if math.Signbit(d) {
			return append(dst, "-0"...)
		}
		return append(dst, '0')
	}
	if v, ok := double2ll(d); ok {
		return strconv.AppendInt(dst, v, 10)
	}
	return strconv.AppendFloat(dst, d, 'g', 17, 64)
}

// parseScore parses a score stored as text (listpack/ziplist zsets, legacy
// ZSET doubles) like strtod would, rejecting NaN and garbage.
func parseScore(b []byte) (float64, error) {
	s := string(b)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// strtod saturates on overflow instead of failing.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, nil
		}
		return 0, corruptf("invalid score %q", s)
	}
	if math.IsNaN(f) {
		return 0, corruptf("NaN score")
	}
	return f, nil
}
