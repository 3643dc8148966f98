package store

import (
	"errors"
	"math/big"
)

// INCRBYFLOAT works in C's long double, which on x86-64 is the x87 80-bit
// extended format: a 64-bit mantissa and a 15-bit exponent. These helpers
// emulate it with math/big floats of 64-bit precision so that the printed
// results match Redis digit for digit.

// Errors returned by IncrByFloat.
var (
	// ErrLongDoubleSyntax means an operand is not a valid long double.
	ErrLongDoubleSyntax = errors.New("value is not a valid float")
	// ErrLongDoubleNaNInf means the sum is infinite or not a number.
	ErrLongDoubleNaNInf = errors.New("increment would produce NaN or Infinity")
)

const (
	ldPrec        = 64     // mantissa bits of the x87 extended format
	ldMaxExp      = 16384  // largest MantExp exponent of a finite value
	ldMinNormExp  = -16381 // MantExp exponent of the smallest normal value
	ldDenormShift = 16445  // 2^-16445 is the smallest denormal
	ldMaxChars    = 5 * 1024
)

// ldValue is a parsed long double: a finite value or an infinity.
type ldValue struct {
	f   *big.Float
	inf int // +1, -1 or 0 (finite)
}

// IncrByFloat adds the long double in incr to the one in cur (an absent key
// counts as 0 when cur is nil) and returns the sum formatted as Redis's
// INCRBYFLOAT stores it ("%.17Lf" with trailing zeros removed).
func IncrByFloat(cur, incr []byte) ([]byte, error) {
	a := ldValue{f: new(big.Float).SetPrec(ldPrec)}
	if cur != nil {
		var ok bool
		if a, ok = parseLongDouble(cur); !ok {
			return nil, ErrLongDoubleSyntax
		}
	}
	b, ok := parseLongDouble(incr)
	if !ok {
		return nil, ErrLongDoubleSyntax
	}
	if a.inf != 0 || b.inf != 0 {
		return nil, ErrLongDoubleNaNInf
	}
	sum := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven).Add(a.f, b.f)
	sum, finite := ldRound(sum)
	if !finite {
		return nil, ErrLongDoubleNaNInf
	}
	return formatLongDoubleHuman(sum), nil
}

// formatLongDoubleHuman prints f with "%.17Lf" and strips trailing zeros
// (and a trailing '.'), turning "-0" into "0", like Redis's ld2string in
// LD_STR_HUMAN mode.
func formatLongDoubleHuman(f *big.Float) []byte {
	out := f.Append(nil, 'f', 17)
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] == '.' {
			end := len(out)
			for end > 0 && out[end-1] == '0' {
				end--
			}
			if end > 0 && out[end-1] == '.' {
				end--
			}
			out = out[:end]
			break
		}
	}
	if len(out) == 2 && out[0] == '-' && out[1] == '0' {
		out = out[1:]
	}
	return out
}

// ldRound brings a 64-bit-precision value into the exponent range of the
// extended format: it reports false on overflow and reduces the precision
// of denormal values. A value below the smallest denormal becomes zero.
func ldRound(f *big.Float) (*big.Float, bool) {
	if f.Sign() == 0 {
		return f, true
	}
	e := f.MantExp(nil)
	if e > ldMaxExp {
		return f, false
	}
	if e >= ldMinNormExp {
		return f, true
	}
	bits := e + ldDenormShift
	if bits <= 0 {
		neg := f.Signbit()
		z := new(big.Float).SetPrec(ldPrec)
		if bits == 0 {
			// In [2^-16446, 2^-16445): rounds to the smallest denormal
			// unless it is exactly the halfway point.
			m := new(big.Float).SetMantExp(f, -e)
			if m.Abs(m).Cmp(big.NewFloat(0.5)) != 0 {
				z.SetMantExp(big.NewFloat(1), -ldDenormShift)
			}
		}
		if neg {
			z.Neg(z)
		}
		return z, true
	}
	z := new(big.Float).SetPrec(uint(bits)).SetMode(big.ToNearestEven).Set(f)
	return z.SetPrec(ldPrec), true
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func foldEq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func hexVal(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// parseExpDigits reads [sign] digits at s[i:], saturating the magnitude.
// It returns the exponent and the index after it, or ok=false.
func parseExpDigits(s []byte, i int) (int64, int, bool) {
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v int64
	for i < len(s) && isDigit(s[i]) {
		if v < 1<<40 {
			v = v*10 + int64(s[i]-'0')
		}
		i++
	}
	if i == start {
		return 0, i, false
	}
	if neg {
		v = -v
	}
	return v, i, true
}

// parseLongDouble parses s the way Redis's string2ld does with strtold: the
// whole string must be a decimal or hexadecimal float or an infinity; no
// leading space; NaN, overflow and underflow to zero are rejected.
func parseLongDouble(s []byte) (ldValue, bool) {
	if len(s) == 0 || len(s) >= ldMaxChars || isCSpace(s[0]) {
		return ldValue{}, false
	}
	i := 0
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		i++
	}
	rest := s[i:]
	if foldEq(rest, "inf") || foldEq(rest, "infinity") {
		if neg {
			return ldValue{inf: -1}, true
		}
		return ldValue{inf: 1}, true
	}
	var f *big.Float
	var ok bool
	if len(rest) >= 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X') {
		f, ok = parseHexLD(rest[2:])
	} else {
		f, ok = parseDecLD(rest)
	}
	if !ok {
		return ldValue{}, false
	}
	if f.IsInf() {
		return ldValue{}, false // strtold overflow (ERANGE, HUGE_VAL)
	}
	if neg {
		f.Neg(f)
	}
	zeroIn := f.Sign() == 0
	f, finite := ldRound(f)
	if !finite || (!zeroIn && f.Sign() == 0) {
		return ldValue{}, false
	}
	return ldValue{f: f}, true
}

// parseDecLD parses digits [. digits] [e [sign] digits] exactly, rounding
// once to 64 bits.
func parseDecLD(s []byte) (*big.Float, bool) {
	mant := make([]byte, 0, len(s))
	i, frac, seen := 0, 0, false
	for i < len(s) && isDigit(s[i]) {
		mant = append(mant, s[i])
		i++
		seen = true
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			mant = append(mant, s[i])
			i++
			frac++
			seen = true
		}
	}
	if !seen {
		return nil, false
	}
	var exp int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		var ok bool
		if exp, i, ok = parseExpDigits(s, i+1); !ok {
			return nil, false
		}
	}
	if i != len(s) {
		return nil, false
	}
	m, _ := new(big.Int).SetString(string(mant), 10)
	z := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven)
	if m.Sign() == 0 {
		return z, true
	}
	e10 := exp - int64(frac)
	// Bound the work: the magnitude is about 10^(digits+e10).
	mag := int64(len(m.String())) + e10
	if mag > 5000 {
		return z.SetInf(false), true // ldRound turns this into overflow
	}
	if mag < -5000 {
		return z, true // underflow to zero
	}
	if e10 >= 0 {
		m.Mul(m, new(big.Int).Exp(big.NewInt(10), big.NewInt(e10), nil))
		return z.SetInt(m), true
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(-e10), nil)
	return z.SetRat(new(big.Rat).SetFrac(m, den)), true
}

// parseHexLD parses hexdigits [. hexdigits] [p [sign] digits] (after "0x").
func parseHexLD(s []byte) (*big.Float, bool) {
	m := new(big.Int)
	i, frac, seen := 0, 0, false
	for i < len(s) {
		d, ok := hexVal(s[i])
		if !ok {
			break
		}
		m.Lsh(m, 4).Or(m, big.NewInt(int64(d)))
		i++
		seen = true
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) {
			d, ok := hexVal(s[i])
			if !ok {
				break
			}
			m.Lsh(m, 4).Or(m, big.NewInt(int64(d)))
			i++
			frac++
			seen = true
		}
	}
	if !seen {
		return nil, false
	}
	var exp int64
	if i < len(s) && (s[i] == 'p' || s[i] == 'P') {
		var ok bool
		if exp, i, ok = parseExpDigits(s, i+1); !ok {
			return nil, false
		}
	}
	if i != len(s) {
		return nil, false
	}
	z := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven)
	if m.Sign() == 0 {
		return z, true
	}
	e2 := exp - 4*int64(frac)
	mag := int64(m.BitLen()) + e2
	if mag > 20000 {
		return z.SetInf(false), true
	}
	if mag < -20000 {
		return z, true
	}
	z.SetInt(m)
	return z.SetMantExp(z, int(e2)), true
}
