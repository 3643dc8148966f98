package config

import (
	"math"
	"strconv"
	"strings"
)

// memToUll parses a memory value like Redis's memtoull: digits followed by
// an optional unit b, k (1000), kb (1024), m, mb, g, gb, case-insensitive.
// Overflow wraps as in C.
func memToUll(s string) (uint64, bool) {
	if strings.HasPrefix(s, "-") {
		return 0, false
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	var mul uint64
	switch strings.ToLower(s[i:]) {
	case "", "b":
		mul = 1
	case "k":
		mul = 1000
	case "kb":
		mul = 1024
	case "m":
		mul = 1000 * 1000
	case "mb":
		mul = 1024 * 1024
	case "g":
		mul = 1000 * 1000 * 1000
	case "gb":
		mul = 1024 * 1024 * 1024
	default:
		return 0, false
	}
	if i >= 128 {
		return 0, false
	}
	var v uint64
	for _, ch := range []byte(s[:i]) {
		d := uint64(ch - '0')
		if v > (math.MaxUint64-d)/10 {
			v = math.MaxUint64 // strtoull saturates
			break
		}
		v = v*10 + d
	}
	return v * mul, true
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// strtoll converts like C's strtoll in the given base. ok is true when the
// whole string was consumed (C: *endptr == '\0'), so "" is ok with 0 as in
// C; ovf reports ERANGE (the value is then saturated).
func strtoll(s string, base int) (v int64, ok, ovf bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if base == 16 && i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') {
		i += 2
	}
	start := i
	var u uint64
	limit := uint64(math.MaxInt64)
	if neg {
		limit = 1 << 63
	}
	for i < len(s) {
		d := digitVal(s[i])
		if d < 0 || d >= base {
			break
		}
		if !ovf {
			if u > (limit-uint64(d))/uint64(base) {
				ovf = true
			} else {
				u = u*uint64(base) + uint64(d)
			}
		}
		i++
	}
	if i == start {
		// no digits: endptr is the start of the string
		return 0, len(s) == 0, false
	}
	if ovf {
		if neg {
			return math.MinInt64, i == len(s), true
		}
		return math.MaxInt64, i == len(s), true
	}
	if neg {
		return -int64(u), i == len(s), false
	}
	return int64(u), i == len(s), false
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return -1
}

// string2d is Redis's strict double parser (no leading space, whole
// string, no overflow, no NaN).
func string2d(s string) (float64, bool) {
	if len(s) == 0 || isCSpace(s[0]) {
		return 0, false
	}
	low := strings.ToLower(s)
	if strings.Contains(low, "nan") || strings.Contains(low, "_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && strings.HasPrefix(strings.TrimLeft(low, "+-"), "0x") && !strings.Contains(low, "p") {
		// C accepts hexadecimal floats without an exponent
		f, err = strconv.ParseFloat(s+"p0", 64)
	}
	if err != nil {
		return 0, false
	}
	return f, true
}

// trimDouble formats f like "%f" with trailing zeros (and a trailing dot)
// removed, as Redis's trimDoubleString.
func trimDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', 6, 64)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// Repr quotes s like Redis's sdscatrepr: double quotes, backslash escapes
// for \\ \" \n \r \t \a \b and \xHH for other unprintable bytes.
func Repr(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		default:
			if c >= 0x20 && c < 0x7f {
				b.WriteByte(c)
			} else {
				const hex = "0123456789abcdef"
				b.WriteString(`\x`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// formatMemory writes bytes for redis.conf using gb, mb or kb when exact,
// as Redis's rewriteConfigFormatMemory.
func formatMemory(v int64) string {
	const kb, mb, gb = 1024, 1024 * 1024, 1024 * 1024 * 1024
	switch {
	case v != 0 && v%gb == 0:
		return strconv.FormatInt(v/gb, 10) + "gb"
	case v != 0 && v%mb == 0:
		return strconv.FormatInt(v/mb, 10) + "mb"
	case v != 0 && v%kb == 0:
		return strconv.FormatInt(v/kb, 10) + "kb"
	}
	return strconv.FormatInt(v, 10)
}
