package replication

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/redcluster/redcluster/internal/resp"
)

// Limits of the command stream parser.
const (
	maxLineLen = 64 << 10 // PROTO_INLINE_MAX_SIZE: "*N" / "$N" lines
	readChunk  = 1 << 20  // payloads are read in steps of at most this
	// DefaultMaxBulkLen bounds one argument of the master's stream
	// (masters are exempt from proto-max-bulk-len in Redis; this only
	// guards against a corrupt length).
	DefaultMaxBulkLen = 1 << 32
	maxArgs           = 1<<31 - 1
)

// ProtocolError is a malformed replication stream. A replica drops the link
// and discards its cached master (the next sync is a full one).
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "replication: protocol error: " + e.Msg }

func protocolErrorf(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// itemKind is what streamReader.next found.
type itemKind uint8

const (
	itemCommand   itemKind = iota + 1 // a command: args and raw are set
	itemKeepalive                     // a bare newline (not part of the stream)
	itemEmpty                         // "*0" or "*-1": counts, does nothing
)

// streamReader parses a replication stream: RESP arrays of bulk strings,
// plus bare newlines (keepalives). raw holds the exact bytes of the last
// item, args point into raw; both are valid until the next call.
type streamReader struct {
	br      *bufio.Reader
	raw     []byte
	args    [][]byte
	pos     []int // start,end of every arg in raw
	maxBulk int64
	// inline allows inline commands (a replica talking to its master may
	// send them); otherwise a non-empty inline line is a protocol error,
	// as Redis refuses inline protocol from its master.
	inline bool
}

func newStreamReader(br *bufio.Reader) *streamReader {
	return &streamReader{br: br, maxBulk: DefaultMaxBulkLen}
}

// readLine reads a line through '\n' and appends it to raw. It returns the
// line without its terminator ("\r\n", or "\n" for bare newlines).
func (s *streamReader) readLine() ([]byte, error) {
	start := len(s.raw)
	for {
		chunk, err := s.br.ReadSlice('\n')
		s.raw = append(s.raw, chunk...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(s.raw)-start > maxLineLen {
				return nil, protocolErrorf("too big line")
			}
			continue
		}
		if errors.Is(err, io.EOF) && len(s.raw) > start {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line := s.raw[start : len(s.raw)-1]
	if len(line) > maxLineLen {
		return nil, protocolErrorf("too big line")
	}
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}

// next reads the next item.
func (s *streamReader) next() (itemKind, error) {
	s.raw = s.raw[:0]
	if cap(s.raw) > 4*readChunk {
		s.raw = nil
	}
	s.args = s.args[:0]
	s.pos = s.pos[:0]
	b, err := s.br.Peek(1)
	if err != nil {
		return 0, err
	}
	if b[0] == '*' && s.nextBuffered() {
		return itemCommand, nil
	}
	if b[0] != '*' {
		line, err := s.readLine()
		if err != nil {
			return 0, err
		}
		if len(line) == 0 {
			return itemKeepalive, nil
		}
		if !s.inline {
			return 0, protocolErrorf("master using the inline protocol: %q", truncate(line))
		}
		for _, f := range bytes.Fields(line) {
			s.args = append(s.args, f)
		}
		return itemCommand, nil
	}
	line, err := s.readLine()
	if err != nil {
		return 0, err
	}
	if !bytes.HasSuffix(s.raw, []byte("\r\n")) {
		return 0, protocolErrorf("multibulk count not terminated by CRLF")
	}
	count, ok := resp.ParseInt(line[1:])
	if !ok || count > maxArgs {
		return 0, protocolErrorf("invalid multibulk length")
	}
	if count <= 0 {
		return itemEmpty, nil
	}
	for i := int64(0); i < count; i++ {
		hdr, err := s.readLine()
		if err != nil {
			return 0, eofInItem(err)
		}
		if len(hdr) == 0 || hdr[0] != '$' {
			c := ""
			if len(hdr) > 0 {
				c = string(hdr[0])
			}
			return 0, protocolErrorf("expected '$', got '%s'", c)
		}
		if !bytes.HasSuffix(s.raw, []byte("\r\n")) {
			return 0, protocolErrorf("bulk length not terminated by CRLF")
		}
		n, ok := resp.ParseInt(hdr[1:])
		if !ok || n < 0 || n > s.maxBulk {
			return 0, protocolErrorf("invalid bulk length")
		}
		start := len(s.raw)
		if err := s.readPayload(n + 2); err != nil {
			return 0, eofInItem(err)
		}
		if s.raw[len(s.raw)-2] != '\r' || s.raw[len(s.raw)-1] != '\n' {
			return 0, protocolErrorf("bulk string not terminated by CRLF")
		}
		s.pos = append(s.pos, start, start+int(n))
	}
	for i := 0; i < len(s.pos); i += 2 {
		s.args = append(s.args, s.raw[s.pos[i]:s.pos[i+1]:s.pos[i+1]])
	}
	return itemCommand, nil
}

// tryNextBuffered reads the next item if it is a command whole in the
// reader's buffer (nextBuffered), without reading the connection; false
// (nothing consumed) otherwise.
func (s *streamReader) tryNextBuffered() bool {
	if s.br.Buffered() == 0 {
		return false
	}
	b, _ := s.br.Peek(1)
	if b[0] != '*' {
		return false
	}
	s.raw = s.raw[:0]
	s.args = s.args[:0]
	s.pos = s.pos[:0]
	return s.nextBuffered()
}

// nextBuffered is next's fast path for a well-formed command that is
// already whole in the reader's buffer: it is parsed where it lies and
// copied to raw at once. Anything else (an incomplete or malformed
// command, a count <= 0) returns false having consumed nothing, and the
// general path handles it, errors included.
func (s *streamReader) nextBuffered() bool {
	buf, _ := s.br.Peek(s.br.Buffered())
	// line returns the end of the CRLF-terminated line starting at i
	// (the index of its '\n'), or -1.
	line := func(i int) int {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 2 || j > maxLineLen || buf[i+j-1] != '\r' {
			return -1
		}
		return i + j
	}
	e := line(0)
	if e < 0 {
		return false
	}
	count, ok := resp.ParseInt(buf[1 : e-1])
	if !ok || count <= 0 || count > int64(len(buf)) {
		return false
	}
	pos := s.pos[:0]
	i := e + 1
	for k := int64(0); k < count; k++ {
		if i >= len(buf) || buf[i] != '$' {
			return false
		}
		e = line(i)
		if e < 0 {
			return false
		}
		n, ok := resp.ParseInt(buf[i+1 : e-1])
		if !ok || n < 0 || n > s.maxBulk || n > int64(len(buf)-e-1)-2 {
			return false
		}
		start := e + 1
		end := start + int(n)
		if buf[end] != '\r' || buf[end+1] != '\n' {
			return false
		}
		pos = append(pos, start, end)
		i = end + 2
	}
	s.raw = append(s.raw[:0], buf[:i]...)
	s.pos = pos
	s.br.Discard(i)
	for j := 0; j < len(pos); j += 2 {
		s.args = append(s.args, s.raw[pos[j]:pos[j+1]:pos[j+1]])
	}
	return true
}

// readPayload appends n bytes to raw, growing it step by step so that a
// bogus length cannot make us allocate more than the data received.
func (s *streamReader) readPayload(n int64) error {
	for n > 0 {
		k := int(min(n, readChunk))
		l := len(s.raw)
		if cap(s.raw)-l < k {
			nr := make([]byte, l, max(2*cap(s.raw), l+k))
			copy(nr, s.raw)
			s.raw = nr
		}
		s.raw = s.raw[:l+k]
		if _, err := io.ReadFull(s.br, s.raw[l:]); err != nil {
			s.raw = s.raw[:l]
			return err
		}
		n -= int64(k)
	}
	return nil
}

func eofInItem(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// equalFold compares an argument with a lowercase ASCII name.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
