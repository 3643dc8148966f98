package store

import "github.com/redcluster/redcluster/internal/resp"

import "strconv"

// StrEnc records, in a string Object's Enc, an OBJECT ENCODING that the
// value's bytes alone would not imply. Redis reports "raw" for strings that
// APPEND, SETRANGE, SETBIT, BITFIELD or BITOP produced and "embstr" for the
// output of INCRBYFLOAT even when it looks like an integer. A string object
// whose Enc is 0 (StrEncAuto) takes the encoding SET would give it
// (StringEncoding).
type StrEnc uint8

// The encodings a string object can be pinned to.
const (
	StrEncAuto StrEnc = iota
	StrEncRaw
	StrEncEmbstr
)

// embstrMaxLen is OBJ_ENCODING_EMBSTR_SIZE_LIMIT: longer strings are "raw".
const embstrMaxLen = 44

// StringEncoding returns the OBJECT ENCODING Redis 7.0 reports for a value
// stored by SET: "int" for a canonical int64, "embstr" up to 44 bytes,
// "raw" beyond.
func StringEncoding(b []byte) string {
	if len(b) <= 20 {
		if _, ok := resp.ParseInt(b); ok {
			return "int"
		}
	}
	if len(b) <= embstrMaxLen {
		return "embstr"
	}
	return "raw"
}

// StringObjectEncoding is StringEncoding for a string object, honouring the
// encoding a command pinned in o.Enc (see StrEnc).
func StringObjectEncoding(o *Object) string {
	switch o.Enc {
	case StrEncRaw:
		return "raw"
	case StrEncEmbstr:
		return "embstr"
	}
	return StringEncoding(o.Bytes())
}

// CloneString copies a string object's bytes and encoding marker into a new
// object without TTL (COPY, RESTORE-like duplication).
func CloneString(o *Object) *Object {
	cl := &Object{Type: TypeString, Enc: o.Enc}
	cl.SetBytes(CopyBytes(o.Bytes()))
	return cl
}

// CopyBytes returns an exact-size copy of b.
func CopyBytes(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

// ReuseBytes copies src into dst's storage when it fits without wasting
// much memory, else into a fresh exact-size slice. The caller must own dst.
func ReuseBytes(dst, src []byte) []byte {
	n := len(src)
	if c := cap(dst); c >= n && c <= n+n/2+16 {
		dst = dst[:n]
		copy(dst, src)
		return dst
	}
	return CopyBytes(src)
}

// AppendInt64 appends the decimal form of v to dst.
func AppendInt64(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }

// ClampRange normalises an inclusive start/end pair against length n the
// way GETRANGE, BITCOUNT and BITPOS do: negative indexes count from the
// end, then both are clamped into [0, n-1] (start may end up past end).
func ClampRange(start, end, n int64) (int64, int64) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= n {
		end = n - 1
	}
	return start, end
}

// GetRange returns the bytes of s between start and end inclusive with
// GETRANGE's rules: negative indexes count from the end, the range is
// clamped, an empty or inverted range yields an empty slice.
func GetRange(s []byte, start, end int64) []byte {
	n := int64(len(s))
	if start < 0 && end < 0 && start > end {
		return nil
	}
	start, end = ClampRange(start, end, n)
	if start > end || n == 0 {
		return nil
	}
	return s[start : end+1]
}
