package rdb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strconv"
)

const (
	// DefaultMaxStringLen bounds every string and blob length read from the
	// input unless DecoderOptions.MaxStringLen says otherwise (listpacks and
	// quicklist PLAIN nodes are below 4 GiB by construction).
	DefaultMaxStringLen = 1<<32 - 1
	// chunkSize is the allocation step used when reading a long string from
	// an input of unknown size: memory grows with the data actually received,
	// so a bogus length cannot make us allocate gigabytes up front.
	chunkSize = 1 << 20
	// maxPrealloc caps slice preallocation driven by counts from the input.
	maxPrealloc = 4096
)

// reader is the decoder's input: it tracks the offset and CRC64 of every
// byte consumed and bounds lengths against limits and the bytes left.
//
// It reads through a window of the bufio.Reader's buffer (Peek) and
// discards what it consumed, checksummed in one pass, only when the window
// is exhausted or at flush: a byte or a short string then costs an index
// and a copy, and the CRC runs over whole buffers rather than over every
// few-byte item. The input past the bytes consumed is never discarded, so
// that a caller can go on reading the bufio.Reader after flush.
type reader struct {
	br        *bufio.Reader
	win       []byte // bytes peeked from br: win[:pos] consumed, not yet discarded
	pos       int
	crc       uint64 // CRC64 of the input before win (see sum)
	base      int64  // offset of win[0]
	size      int64  // total input size, -1 when unknown
	maxString uint64
	small     [9]byte
	lzfBuf    []byte // reused for compressed input up to chunkSize
}

func newReader(r io.Reader, size int64, maxString uint64) *reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		n := 64 << 10
		if size >= 0 && size < int64(n) {
			n = int(size) + 16
		}
		br = bufio.NewReaderSize(r, n)
	}
	if maxString == 0 {
		maxString = DefaultMaxStringLen
	}
	return &reader{br: br, size: size, maxString: maxString}
}

// offset returns the number of input bytes consumed.
func (r *reader) offset() int64 { return r.base + int64(r.pos) }

// flush checksums and discards the bytes consumed from the window: the
// bufio.Reader is then positioned right after them.
func (r *reader) flush() {
	if r.pos > 0 {
		r.crc = UpdateCRC64(r.crc, r.win[:r.pos])
		r.br.Discard(r.pos) // peeked: cannot fail
		r.base += int64(r.pos)
	}
	r.win, r.pos = nil, 0
}

// sum returns the CRC64 of the bytes consumed.
func (r *reader) sum() uint64 {
	r.flush()
	return r.crc
}

// refill flushes and peeks at what the bufio.Reader holds, reading from
// the input when it holds nothing.
func (r *reader) refill() error {
	r.flush()
	if _, err := r.br.Peek(1); err != nil {
		return eofErr(err)
	}
	r.win, _ = r.br.Peek(r.br.Buffered())
	return nil
}

// remaining returns the number of input bytes left, or -1 when unknown.
func (r *reader) remaining() int64 {
	if r.size < 0 {
		return -1
	}
	return r.size - r.offset()
}

// eofErr turns a short read into io.ErrUnexpectedEOF.
func eofErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (r *reader) readByte() (byte, error) {
	if r.pos < len(r.win) {
		b := r.win[r.pos]
		r.pos++
		return b, nil
	}
	if err := r.refill(); err != nil {
		return 0, err
	}
	b := r.win[0]
	r.pos = 1
	return b, nil
}

// readFull fills p.
func (r *reader) readFull(p []byte) error {
	if len(r.win)-r.pos >= len(p) {
		r.pos += copy(p, r.win[r.pos:])
		return nil
	}
	return r.readFullSlow(p)
}

// readFullSlow is readFull past the window: what it holds, then the rest
// straight from the bufio.Reader.
func (r *reader) readFullSlow(p []byte) error {
	n := copy(p, r.win[r.pos:])
	r.pos += n
	r.flush()
	m, err := io.ReadFull(r.br, p[n:])
	r.crc = UpdateCRC64(r.crc, p[n:n+m])
	r.base += int64(m)
	if err != nil {
		return eofErr(err)
	}
	return nil
}

// readSmall reads n <= 9 bytes into a scratch array.
func (r *reader) readSmall(n int) ([]byte, error) {
	p := r.small[:n]
	return p, r.readFull(p)
}

func (r *reader) readUint64LE() (uint64, error) {
	p, err := r.readSmall(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p), nil
}

// checkCount bounds a count of items that each take at least minBytes.
func (r *reader) checkCount(n uint64, minBytes int64, what string) error {
	if n > math.MaxInt32*16 {
		return limitf("%s count %d", what, n)
	}
	if rem := r.remaining(); rem >= 0 && n > uint64(rem/minBytes) {
		return limitf("%s count %d exceeds the %d bytes left", what, n, rem)
	}
	return nil
}

// checkLen bounds a string length.
func (r *reader) checkLen(n uint64, what string) error {
	if n > r.maxString {
		return limitf("%s length %d exceeds the limit %d", what, n, r.maxString)
	}
	if rem := r.remaining(); rem >= 0 && n > uint64(rem) {
		return limitf("%s length %d exceeds the %d bytes left", what, n, rem)
	}
	return nil
}

// readLenEnc reads a length; when the top bits are 11 it returns the special
// encoding number with encoded set.
func (r *reader) readLenEnc() (n uint64, encoded bool, err error) {
	b, err := r.readByte()
	if err != nil {
		return 0, false, err
	}
	switch b >> 6 {
	case lenEnc:
		return uint64(b & 0x3f), true, nil
	case len6Bit:
		return uint64(b & 0x3f), false, nil
	case len14Bit:
		b2, err := r.readByte()
		if err != nil {
			return 0, false, err
		}
		return uint64(b&0x3f)<<8 | uint64(b2), false, nil
	}
	switch b {
	case len32Bit:
		p, err := r.readSmall(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(p)), false, nil
	case len64Bit:
		p, err := r.readSmall(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(p), false, nil
	}
	return 0, false, corruptf("unknown length encoding 0x%02x", b)
}

// readLen reads a plain length (an encoded-string marker is an error).
func (r *reader) readLen() (uint64, error) {
	n, enc, err := r.readLenEnc()
	if err != nil {
		return 0, err
	}
	if enc {
		return 0, corruptf("unexpected string encoding %d where a length is expected", n)
	}
	return n, nil
}

// readCount reads a length used as an item count.
func (r *reader) readCount(what string) (int, error) {
	n, err := r.readLen()
	if err != nil {
		return 0, err
	}
	if err := r.checkCount(n, 1, what); err != nil {
		return 0, err
	}
	return int(n), nil
}

// readString reads a string in any of its encodings into freshly allocated
// memory.
func (r *reader) readString() ([]byte, error) {
	return r.readStringBuf(nil)
}

// readStringBuf reads a string; when scratch is non-nil the result may use
// (and returns) that buffer, valid until the next call with it.
func (r *reader) readStringBuf(scratch *[]byte) ([]byte, error) {
	n, enc, err := r.readLenEnc()
	if err != nil {
		return nil, err
	}
	if enc {
		switch n {
		case encInt8:
			b, err := r.readByte()
			if err != nil {
				return nil, err
			}
			return appendInt(scratch, int64(int8(b))), nil
		case encInt16:
			p, err := r.readSmall(2)
			if err != nil {
				return nil, err
			}
			return appendInt(scratch, int64(int16(binary.LittleEndian.Uint16(p)))), nil
		case encInt32:
			p, err := r.readSmall(4)
			if err != nil {
				return nil, err
			}
			return appendInt(scratch, int64(int32(binary.LittleEndian.Uint32(p)))), nil
		case encLZF:
			return r.readLZF(scratch)
		}
		return nil, corruptf("unknown string encoding %d", n)
	}
	if err := r.checkLen(n, "string"); err != nil {
		return nil, err
	}
	return r.readRaw(int(n), scratch)
}

// appendInt formats an integer-encoded string, into *scratch when given.
func appendInt(scratch *[]byte, v int64) []byte {
	if scratch == nil {
		return strconv.AppendInt(nil, v, 10)
	}
	*scratch = strconv.AppendInt((*scratch)[:0], v, 10)
	return *scratch
}

// readRaw reads n bytes, into *scratch when given.
func (r *reader) readRaw(n int, scratch *[]byte) ([]byte, error) {
	if scratch != nil && cap(*scratch) >= n {
		p := (*scratch)[:n]
		return p, r.readFull(p)
	}
	if n <= chunkSize || r.remaining() >= 0 {
		p := make([]byte, n)
		if scratch != nil {
			*scratch = p
		}
		return p, r.readFull(p)
	}
	// Unknown input size: grow with the data actually read.
	p := make([]byte, 0, chunkSize)
	for len(p) < n {
		if len(p) == cap(p) {
			grown := make([]byte, len(p), min(2*cap(p), n))
			copy(grown, p)
			p = grown
		}
		step := min(cap(p), n) - len(p)
		if err := r.readFull(p[len(p) : len(p)+step]); err != nil {
			return nil, err
		}
		p = p[:len(p)+step]
	}
	if scratch != nil {
		*scratch = p
	}
	return p, nil
}

// readLZF reads an LZF-compressed string (after its 0xC3 marker).
func (r *reader) readLZF(scratch *[]byte) ([]byte, error) {
	clen, err := r.readLen()
	if err != nil {
		return nil, err
	}
	ulen, err := r.readLen()
	if err != nil {
		return nil, err
	}
	if err := r.checkLen(clen, "compressed string"); err != nil {
		return nil, err
	}
	if ulen > r.maxString {
		return nil, limitf("uncompressed string length %d exceeds the limit %d", ulen, r.maxString)
	}
	if ulen > clen*lzfMaxRatio || (ulen == 0) != (clen == 0) {
		return nil, corruptf("lzf: %d compressed bytes cannot expand to %d", clen, ulen)
	}
	var comp []byte
	if clen <= chunkSize {
		comp, err = r.readRaw(int(clen), &r.lzfBuf)
	} else {
		comp, err = r.readRaw(int(clen), nil)
	}
	if err != nil {
		return nil, err
	}
	var out []byte
	if scratch != nil && cap(*scratch) >= int(ulen) {
		out = (*scratch)[:ulen]
	} else {
		out = make([]byte, ulen)
		if scratch != nil {
			*scratch = out
		}
	}
	if err := lzfDecompress(out, comp); err != nil {
		return nil, err
	}
	return out, nil
}
