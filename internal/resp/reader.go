package resp

import (
	"bytes"
	"errors"
)

// InlineMaxSize is Redis's PROTO_INLINE_MAX_SIZE: the longest inline request
// line, and the longest "*N" or "$N" header line, that is accepted.
const InlineMaxSize = 64 * 1024

// ProtocolError is a malformed request. Redis replies "-ERR <msg>" and
// closes the connection after the reply.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return e.Msg }

func protoErr(msg string) error { return &ProtocolError{Msg: "Protocol error: " + msg} }

// ErrIncomplete means more bytes are needed to complete the next request.
var ErrIncomplete = errors.New("incomplete request")

// Limits bound what a request may carry, as proto-max-bulk-len does and as
// Redis does for clients that have not authenticated yet.
type Limits struct {
	MaxBulkLen      int64 // proto-max-bulk-len
	Unauthenticated bool  // stricter limits before AUTH, like Redis 7.0
	// resumeFrom overrides resumeMin (tests exercise ParseResume's
	// incremental path on small requests with it).
	resumeFrom int
}

// Parse reads one request from buf. It returns the arguments (sub-slices of
// buf, valid until buf is modified), the number of bytes consumed, and an
// error: ErrIncomplete when buf holds no whole request yet, or a
// *ProtocolError. A request with no arguments (an empty inline line, "*0")
// is consumed and returns nil args.
func Parse(buf []byte, lim Limits, args [][]byte) ([][]byte, int, error) {
	if len(buf) == 0 {
		return nil, 0, ErrIncomplete
	}
	if buf[0] == '*' {
		return parseMultibulk(buf, lim, args[:0])
	}
	return parseInline(buf, args[:0])
}

func parseMultibulk(buf []byte, lim Limits, args [][]byte) ([][]byte, int, error) {
	count, pos, err := parseMultibulkHeader(buf, lim)
	if err != nil || count <= 0 {
		return nil, pos, err
	}
	for i := int64(0); i < count; i++ {
		start, end, next, err := parseBulkAt(buf, pos, lim)
		if err != nil {
			return nil, 0, err
		}
		args = append(args, buf[start:end])
		pos = next
	}
	return args, pos, nil
}

// parseMultibulkHeader reads the "*N\r\n" line: the argument count and the
// offset after the line (with a count <= 0 the request is that line).
func parseMultibulkHeader(buf []byte, lim Limits) (int64, int, error) {
	nl := bytes.IndexByte(buf, '\r')
	if nl < 0 {
		if len(buf) > InlineMaxSize {
			return 0, 0, protoErr("too big mbulk count string")
		}
		return 0, 0, ErrIncomplete
	}
	if nl > InlineMaxSize {
		return 0, 0, protoErr("too big mbulk count string")
	}
	// Redis needs the "\n" after "\r" too before it parses the count.
	if nl+1 >= len(buf) {
		return 0, 0, ErrIncomplete
	}
	count, ok := ParseInt(buf[1:nl])
	if !ok || count > 1<<31-1 {
		return 0, 0, protoErr("invalid multibulk length")
	}
	if lim.Unauthenticated && count > 10 {
		return 0, 0, protoErr("unauthenticated multibulk length")
	}
	return count, nl + 2, nil
}

// parseBulkAt reads the bulk argument whose "$N\r\n" header starts at pos:
// its payload is buf[start:end] and the next argument starts at next.
func parseBulkAt(buf []byte, pos int, lim Limits) (start, end, next int, err error) {
	if pos >= len(buf) {
		return 0, 0, 0, ErrIncomplete
	}
	rel := bytes.IndexByte(buf[pos:], '\r')
	if rel < 0 {
		if len(buf)-pos > InlineMaxSize {
			return 0, 0, 0, protoErr("too big bulk count string")
		}
		return 0, 0, 0, ErrIncomplete
	}
	if rel > InlineMaxSize {
		return 0, 0, 0, protoErr("too big bulk count string")
	}
	if buf[pos] != '$' {
		return 0, 0, 0, protoErr("expected '$', got '" + string(buf[pos]) + "'")
	}
	if pos+rel+1 >= len(buf) {
		return 0, 0, 0, ErrIncomplete
	}
	n, ok := ParseInt(buf[pos+1 : pos+rel])
	if !ok || n < 0 || n > lim.MaxBulkLen {
		return 0, 0, 0, protoErr("invalid bulk length")
	}
	if lim.Unauthenticated && n > 16384 {
		return 0, 0, 0, protoErr("unauthenticated bulk length")
	}
	pos += rel + 2
	// Like Redis, the two bytes after the payload are skipped unchecked.
	if int64(len(buf)-pos) < n+2 {
		return 0, 0, 0, ErrIncomplete
	}
	return pos, pos + int(n), pos + int(n) + 2, nil
}

// resumeMin is the size from which an incomplete multibulk request is
// parsed incrementally by ParseResume.
const resumeMin = 32 * 1024

// Resume is the progress of ParseResume through a multibulk request that
// is still arriving. The zero value is "no request in progress".
type Resume struct {
	count int64 // arguments announced; 0: no request in progress
	pos   int   // offset of the next argument's header
	offs  []int // start and end offsets of the arguments read so far
}

// Reset forgets any request in progress.
func (r *Resume) Reset() {
	r.count, r.pos = 0, 0
	if cap(r.offs) > 1024 {
		r.offs = nil
	} else {
		r.offs = r.offs[:0]
	}
}

// ParseResume is Parse for a connection's input: when a big multibulk
// request is incomplete it records in r how far its arguments are complete,
// so that the next call, made once more bytes were appended to the same
// request (buf must start at it again, wherever it now lives in memory),
// continues from there instead of reading every argument again. Without it
// a request of many arguments arriving in pieces costs time quadratic in
// its size. Results and errors are those of Parse on the same bytes.
func ParseResume(buf []byte, lim Limits, args [][]byte, r *Resume) ([][]byte, int, error) {
	if r.count == 0 {
		out, n, err := Parse(buf, lim, args)
		from := resumeMin
		if lim.resumeFrom > 0 {
			from = lim.resumeFrom
		}
		if err != ErrIncomplete || len(buf) < from || buf[0] != '*' {
			return out, n, err
		}
		count, pos, err := parseMultibulkHeader(buf, lim)
		if err != nil || count <= 0 {
			return nil, 0, ErrIncomplete // cannot happen: Parse said incomplete
		}
		r.count, r.pos, r.offs = count, pos, r.offs[:0]
	}
	pos := r.pos
	for int64(len(r.offs)/2) < r.count {
		start, end, next, err := parseBulkAt(buf, pos, lim)
		if err == ErrIncomplete {
			r.pos = pos
			return nil, 0, err
		}
		if err != nil {
			r.Reset()
			return nil, 0, err
		}
		r.offs = append(r.offs, start, end)
		pos = next
	}
	args = args[:0]
	for i := 0; i < len(r.offs); i += 2 {
		args = append(args, buf[r.offs[i]:r.offs[i+1]])
	}
	r.Reset()
	return args, pos, nil
}

func parseInline(buf []byte, args [][]byte) ([][]byte, int, error) {
	nl := bytes.IndexByte(buf, '\n')
	if nl < 0 {
		if len(buf) > InlineMaxSize {
			return nil, 0, protoErr("too big inline request")
		}
		return nil, 0, ErrIncomplete
	}
	line := buf[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	parts, ok := SplitArgs(line)
	if !ok {
		return nil, 0, protoErr("unbalanced quotes in request")
	}
	if len(parts) == 0 {
		return nil, nl + 1, nil
	}
	args = append(args, parts...)
	return args, nl + 1, nil
}

// ParseInt parses a decimal int64 with Redis's string2ll rules: an optional
// '-', no '+', no spaces, no leading zeros ("0" alone is fine, "-0" is not),
// within int64. It is the project's one strict integer parser (request
// headers, command arguments, nodes.conf, redis.conf, the replication
// stream) and never allocates.
func ParseInt[T ~string | ~[]byte](b T) (int64, bool) {
	n := len(b)
	if n == 0 || n > 20 {
		return 0, false
	}
	if n == 1 && b[0] == '0' {
		return 0, true
	}
	i := 0
	neg := b[0] == '-'
	if neg {
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
		d := uint64(b[i] - '0')
		if d > 9 || v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

// SplitArgs splits a line into arguments like Redis's sdssplitargs: blanks
// separate words; "double quotes" allow \n \r \t \b \a \\ \" and \xHH
// escapes; 'single quotes' allow \'. A closing quote must be followed by a
// blank or the end of line. It reports false on unbalanced quotes.
func SplitArgs(line []byte) ([][]byte, bool) {
	var out [][]byte
	p := 0
	for {
		for p < len(line) && isSpace(line[p]) {
			p++
		}
		if p >= len(line) {
			return out, true
		}
		var cur []byte
		inq, insq, done := false, false, false
		for !done {
			if inq {
				if p >= len(line) {
					return nil, false
				}
				c := line[p]
				if c == '\\' && p+3 < len(line) && line[p+1] == 'x' && isHex(line[p+2]) && isHex(line[p+3]) {
					cur = append(cur, hexVal(line[p+2])<<4|hexVal(line[p+3]))
					p += 3
				} else if c == '\\' && p+1 < len(line) {
					p++
					switch line[p] {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, line[p])
					}
				} else if c == '"' {
					if p+1 < len(line) && !isSpace(line[p+1]) {
						return nil, false
					}
					done = true
				} else {
					cur = append(cur, c)
				}
			} else if insq {
				if p >= len(line) {
					return nil, false
				}
				c := line[p]
				if c == '\\' && p+1 < len(line) && line[p+1] == '\'' {
					p++
					cur = append(cur, '\'')
				} else if c == '\'' {
					if p+1 < len(line) && !isSpace(line[p+1]) {
						return nil, false
					}
					done = true
				} else {
					cur = append(cur, c)
				}
			} else {
				if p >= len(line) {
					break
				}
				switch c := line[p]; c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					cur = append(cur, c)
				}
			}
			if p < len(line) {
				p++
			}
		}
		if cur == nil {
			cur = []byte{}
		}
		out = append(out, cur)
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
