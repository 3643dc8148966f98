package store

import (
	"math"
	"strconv"
)

// Score and range parsing with the rules of C's strtod as Redis 7.0 uses it
// for sorted sets: ZADD scores and WEIGHTS go through string2d (strict),
// ZRANGEBYSCORE-style bounds through a bare strtod (lenient).

func zIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func zIsHexDigit(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func zHasPrefixFold(s []byte, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

// zStrtod parses the longest prefix of s that glibc's strtod accepts. It
// returns the value, the number of bytes consumed (0 when no conversion was
// possible) and whether strtod would set ERANGE with a result of zero or
// ±HUGE_VAL (overflow, or underflow to zero).
func zStrtod(s []byte) (v float64, n int, erange bool) {
	i := 0
	for i < len(s) && zIsSpace(s[i]) {
		i++
	}
	start := i
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	rest := s[i:]
	switch {
	case zHasPrefixFold(rest, "infinity"):
		return zSigned(math.Inf(1), neg), i + 8, false
	case zHasPrefixFold(rest, "inf"):
		return zSigned(math.Inf(1), neg), i + 3, false
	case zHasPrefixFold(rest, "nan"):
		j := i + 3
		if j < len(s) && s[j] == '(' {
			k := j + 1
			for k < len(s) && (s[k] == '_' || (s[k] >= '0' && s[k] <= '9') ||
				(s[k]|0x20 >= 'a' && s[k]|0x20 <= 'z')) {
				k++
			}
			if k < len(s) && s[k] == ')' {
				j = k + 1
			}
		}
		return math.NaN(), j, false
	}
	if len(rest) >= 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X') {
		if v, n, er, ok := zStrtodHex(s, i+2, neg); ok {
			return v, n, er
		}
	}
	// decimal: digits [. digits] [e [sign] digits]
	j := i
	digits, nonzero := 0, false
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		nonzero = nonzero || s[j] != '0'
		j++
		digits++
	}
	if j < len(s) && s[j] == '.' {
		j++
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			nonzero = nonzero || s[j] != '0'
			j++
			digits++
		}
	}
	if digits == 0 {
		return 0, 0, false
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && s[k] >= '0' && s[k] <= '9' {
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			j = k
		}
	}
	f, err := strconv.ParseFloat(bstr(s[start:j]), 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, 0, false
	}
	return f, j, math.IsInf(f, 0) || (f == 0 && nonzero)
}

// zStrtodHex parses the hexadecimal form after "0x" (at s[i:]). ok is false
// when no hex digit follows, in which case strtod reads just the "0".
func zStrtodHex(s []byte, i int, neg bool) (v float64, n int, erange, ok bool) {
	j := i
	digits, nonzero := 0, false
	var mant []byte
	mant = append(mant, "0x"...)
	for j < len(s) && zIsHexDigit(s[j]) {
		nonzero = nonzero || s[j] != '0'
		mant = append(mant, s[j])
		j++
		digits++
	}
	if j < len(s) && s[j] == '.' {
		k := j + 1
		frac := 0
		for k < len(s) && zIsHexDigit(s[k]) {
			k++
			frac++
		}
		if digits+frac > 0 {
			mant = append(mant, s[j:k]...)
			for _, c := range s[j+1 : k] {
				nonzero = nonzero || c != '0'
			}
			digits += frac
			j = k
		}
	}
	if digits == 0 {
		return 0, 0, false, false
	}
	exp := "p0"
	if j < len(s) && (s[j] == 'p' || s[j] == 'P') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && s[k] >= '0' && s[k] <= '9' {
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			exp = "p" + string(s[j+1:k])
			j = k
		}
	}
	f, err := strconv.ParseFloat(string(mant)+exp, 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, 0, false, false
	}
	f = zSigned(f, neg)
	return f, j, math.IsInf(f, 0) || (f == 0 && nonzero), true
}

func zSigned(f float64, neg bool) float64 {
	if neg {
		return -f
	}
	return f
}

// ParseScore parses b as Redis's string2d does (ZADD scores, ZINCRBY
// increments, WEIGHTS): the whole string must be a strtod number, without
// leading space, not NaN, and not out of range ("1e400", "1e-400").
func ParseScore(b []byte) (float64, bool) {
	if len(b) == 0 || zIsSpace(b[0]) {
		return 0, false
	}
	v, n, erange := zStrtod(b)
	if n != len(b) || math.IsNaN(v) || (erange && (v == 0 || math.IsInf(v, 0))) {
		return 0, false
	}
	return v, true
}

// zParseBound parses a score range bound after its optional '(' the way
// zslParseRange's bare strtod does: leading spaces and overflow are fine,
// the parse must stop at the end of the string (or at a NUL byte, where C
// sees the end), and NaN is refused.
func zParseBound(b []byte) (float64, bool) {
	v, n, _ := zStrtod(b)
	if n < len(b) && b[n] != 0 {
		return 0, false
	}
	if math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// ScoreRange is a ZRANGEBYSCORE interval; MinEx/MaxEx make a bound exclusive.
type ScoreRange struct {
	Min, Max     float64
	MinEx, MaxEx bool
}

// ParseScoreRange parses "min" and "max" ("(1.5", "-inf", "+inf", ...); ok
// is false when either is not a float (ERR min or max is not a float).
func ParseScoreRange(min, max []byte) (r ScoreRange, ok bool) {
	if len(min) > 0 && min[0] == '(' {
		r.MinEx = true
		min = min[1:]
	}
	if len(max) > 0 && max[0] == '(' {
		r.MaxEx = true
		max = max[1:]
	}
	if r.Min, ok = zParseBound(min); !ok {
		return r, false
	}
	r.Max, ok = zParseBound(max)
	return r, ok
}

// GteMin reports whether v is at or above the lower bound.
func (r *ScoreRange) GteMin(v float64) bool {
	if r.MinEx {
		return v > r.Min
	}
	return v >= r.Min
}

// LteMax reports whether v is at or below the upper bound.
func (r *ScoreRange) LteMax(v float64) bool {
	if r.MaxEx {
		return v < r.Max
	}
	return v <= r.Max
}

// empty reports ranges that can hold nothing whatever the set.
func (r *ScoreRange) empty() bool {
	return r.Min > r.Max || (r.Min == r.Max && (r.MinEx || r.MaxEx))
}

// Lex bound kinds: a string value, or the "-" and "+" infinities.
const (
	zLexValue = iota
	zLexMinusInf
	zLexPlusInf
)

// LexBound is one end of a ZRANGEBYLEX interval.
type LexBound struct {
	Kind int8
	Ex   bool
	Val  []byte
}

// LexRange is a ZRANGEBYLEX interval.
type LexRange struct{ Min, Max LexBound }

func zParseLexBound(b []byte) (LexBound, bool) {
	if len(b) == 0 {
		return LexBound{}, false
	}
	switch b[0] {
	case '+':
		if len(b) > 1 && b[1] != 0 {
			return LexBound{}, false
		}
		return LexBound{Kind: zLexPlusInf, Ex: true}, true
	case '-':
		if len(b) > 1 && b[1] != 0 {
			return LexBound{}, false
		}
		return LexBound{Kind: zLexMinusInf, Ex: true}, true
	case '(':
		return LexBound{Ex: true, Val: b[1:]}, true
	case '[':
		return LexBound{Val: b[1:]}, true
	}
	return LexBound{}, false
}

// ParseLexRange parses "[a", "(a", "-" and "+" bounds; ok is false on a
// malformed item (ERR min or max not valid string range item). The values
// alias min and max.
func ParseLexRange(min, max []byte) (r LexRange, ok bool) {
	if r.Min, ok = zParseLexBound(min); !ok {
		return r, false
	}
	r.Max, ok = zParseLexBound(max)
	return r, ok
}

// zCmpLex compares a member with a bound (sdscmplex).
func zCmpLex(v []byte, b *LexBound) int {
	switch b.Kind {
	case zLexMinusInf:
		return 1
	case zLexPlusInf:
		return -1
	}
	return zCompareBytes(v, b.Val)
}

func zCompareBytes(a, b []byte) int {
	sa, sb := bstr(a), bstr(b)
	switch {
	case sa < sb:
		return -1
	case sa > sb:
		return 1
	}
	return 0
}

// GteMin reports whether member v is at or above the lower bound.
func (r *LexRange) GteMin(v []byte) bool {
	if r.Min.Ex {
		return zCmpLex(v, &r.Min) > 0
	}
	return zCmpLex(v, &r.Min) >= 0
}

// LteMax reports whether member v is at or below the upper bound.
func (r *LexRange) LteMax(v []byte) bool {
	if r.Max.Ex {
		return zCmpLex(v, &r.Max) < 0
	}
	return zCmpLex(v, &r.Max) <= 0
}

// empty reports ranges that can hold nothing whatever the set.
func (r *LexRange) empty() bool {
	var cmp int
	switch {
	case r.Min.Kind == r.Max.Kind && r.Min.Kind != zLexValue:
		cmp = 0
	case r.Min.Kind == zLexMinusInf || r.Max.Kind == zLexPlusInf:
		cmp = -1
	case r.Min.Kind == zLexPlusInf || r.Max.Kind == zLexMinusInf:
		cmp = 1
	default:
		cmp = zCompareBytes(r.Min.Val, r.Max.Val)
	}
	return cmp > 0 || (cmp == 0 && (r.Min.Ex || r.Max.Ex))
}

// FormatListpackScore formats a score the way Redis writes it into a
// listpack (d2string): integral values in [-2^62, 2^62] as integers, "-0"
// for negative zero, otherwise %.17g. ZSCAN of a small sorted set shows it.
func FormatListpackScore(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	const lim = float64(math.MaxInt64 / 2)
	if f >= -lim && f <= lim && f == math.Trunc(f) {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}
