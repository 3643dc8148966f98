// Package resp encodes replies in RESP2 or RESP3 and parses client requests
// with the rules and error messages of Redis 7.0's networking.c.
package resp

import (
	"math"
	"strconv"

	"github.com/tidwall/redcon"
)

// Writer appends replies to a buffer in the protocol version chosen with
// HELLO. RESP3-only types degrade to their RESP2 forms like Redis does.
type Writer struct {
	Buf   []byte
	Proto int // 2 or 3
}

// NewWriter returns a RESP2 writer.
func NewWriter() *Writer { return &Writer{Proto: 2} }

// Len returns the number of buffered bytes.
func (w *Writer) Len() int { return len(w.Buf) }

// Reset empties the buffer, keeping its capacity.
func (w *Writer) Reset() { w.Buf = w.Buf[:0] }

// Raw appends already-encoded bytes.
func (w *Writer) Raw(b []byte) { w.Buf = append(w.Buf, b...) }

// OK appends +OK.
func (w *Writer) OK() { w.Buf = append(w.Buf, "+OK\r\n"...) }

// Status appends a simple string (+s).
func (w *Writer) Status(s string) { w.Buf = redcon.AppendString(w.Buf, s) }

// Error appends an error reply; msg must carry its code, e.g. "ERR syntax error".
// Newlines are replaced by spaces as Redis does.
func (w *Writer) Error(msg string) { w.Buf = redcon.AppendError(w.Buf, msg) }

// Int appends an integer reply.
func (w *Writer) Int(n int64) { w.Buf = redcon.AppendInt(w.Buf, n) }

// Bulk appends a bulk string.
func (w *Writer) Bulk(b []byte) { w.Buf = redcon.AppendBulk(w.Buf, b) }

// BulkString appends a bulk string.
func (w *Writer) BulkString(s string) { w.Buf = redcon.AppendBulkString(w.Buf, s) }

// BulkInt appends an integer formatted as a bulk string.
func (w *Writer) BulkInt(n int64) {
	var tmp [24]byte
	w.Bulk(strconv.AppendInt(tmp[:0], n, 10))
}

// Null appends the null bulk string ($-1 in RESP2, _ in RESP3).
func (w *Writer) Null() {
	if w.Proto == 3 {
		w.Buf = append(w.Buf, "_\r\n"...)
	} else {
		w.Buf = append(w.Buf, "$-1\r\n"...)
	}
}

// NullArray appends the null array (*-1 in RESP2, _ in RESP3).
func (w *Writer) NullArray() {
	if w.Proto == 3 {
		w.Buf = append(w.Buf, "_\r\n"...)
	} else {
		w.Buf = append(w.Buf, "*-1\r\n"...)
	}
}

// Array appends an array header of n elements.
func (w *Writer) Array(n int) { w.Buf = redcon.AppendArray(w.Buf, n) }

// Map appends a map header of n key/value pairs (*2n in RESP2).
func (w *Writer) Map(n int) {
	if w.Proto == 3 {
		w.Buf = appendHeader(w.Buf, '%', n)
	} else {
		w.Buf = appendHeader(w.Buf, '*', 2*n)
	}
}

// Set appends a set header of n elements (* in RESP2).
func (w *Writer) Set(n int) {
	if w.Proto == 3 {
		w.Buf = appendHeader(w.Buf, '~', n)
	} else {
		w.Buf = appendHeader(w.Buf, '*', n)
	}
}

// Push appends a push header of n elements (* in RESP2).
func (w *Writer) Push(n int) {
	if w.Proto == 3 {
		w.Buf = appendHeader(w.Buf, '>', n)
	} else {
		w.Buf = appendHeader(w.Buf, '*', n)
	}
}

// Bool appends a boolean (:1/:0 in RESP2).
func (w *Writer) Bool(b bool) {
	if w.Proto == 3 {
		if b {
			w.Buf = append(w.Buf, "#t\r\n"...)
		} else {
			w.Buf = append(w.Buf, "#f\r\n"...)
		}
		return
	}
	if b {
		w.Int(1)
	} else {
		w.Int(0)
	}
}

// Double appends a double: RESP3 ",d", RESP2 a bulk string, both formatted
// with %.17g like Redis 7.0's addReplyDouble.
func (w *Writer) Double(f float64) {
	s := FormatDouble(f)
	if w.Proto == 3 {
		w.Buf = append(w.Buf, ',')
		w.Buf = append(w.Buf, s...)
		w.Buf = append(w.Buf, '\r', '\n')
		return
	}
	w.BulkString(s)
}

// Verbatim appends a verbatim string (=len\r\ntxt:...) in RESP3, a bulk
// string in RESP2. format is a three-letter type such as "txt".
func (w *Writer) Verbatim(s, format string) {
	if w.Proto == 3 {
		w.Buf = appendHeader(w.Buf, '=', len(s)+4)
		w.Buf = append(w.Buf, format...)
		w.Buf = append(w.Buf, ':')
		w.Buf = append(w.Buf, s...)
		w.Buf = append(w.Buf, '\r', '\n')
		return
	}
	w.BulkString(s)
}

// FormatDouble formats f like C's "%.17g", with inf/-inf/nan spelled as Redis does.
func FormatDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

func appendHeader(b []byte, c byte, n int) []byte {
	b = append(b, c)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}
