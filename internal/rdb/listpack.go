package rdb

import (
	"encoding/binary"
	"strconv"
)

// Listpack layout (all little-endian):
//
//	u32 total bytes | u16 element count (65535: count by scanning) |
//	entries | 0xFF
//
// Each entry is encoding+data followed by its "backlen": the size of
// encoding+data written in 1..5 bytes of 7 bits, most significant first,
// every byte but the first carrying the 0x80 flag.

const (
	lpHeaderSize   = 6
	lpEOF          = 0xff
	lpUnknownCount = 65535
	// lpMaxSafeSize is the largest listpack Redis builds (lpSafeToAdd).
	lpMaxSafeSize = 1 << 30
)

// lpEntry is one decoded listpack element: either a string or an integer.
type lpEntry struct {
	str   []byte // aliases the listpack
	ival  int64
	isInt bool
}

// appendTo appends the element's bytes (decimal text for integers).
func (e *lpEntry) appendTo(dst []byte) []byte {
	if e.isInt {
		return strconv.AppendInt(dst, e.ival, 10)
	}
	return append(dst, e.str...)
}

// textLen is the length of the element as a string.
func (e *lpEntry) textLen() int {
	if e.isInt {
		return intTextLen(e.ival)
	}
	return len(e.str)
}

// intTextLen is len(strconv.FormatInt(v, 10)).
func intTextLen(v int64) int {
	n := 1
	u := uint64(v)
	if v < 0 {
		n++
		u = -u
	}
	for u >= 10 {
		u /= 10
		n++
	}
	return n
}

// lpReader walks a listpack, validating every entry. It never reads out of
// bounds whatever the input.
type lpReader struct {
	lp     []byte
	pos    int
	header int // element count from the header
	seen   int
}

// newLPReader validates the listpack header and returns a reader positioned
// on the first entry.
func newLPReader(lp []byte) (lpReader, error) {
	if len(lp) < lpHeaderSize+1 {
		return lpReader{}, corruptf("listpack: %d bytes is too short", len(lp))
	}
	if total := binary.LittleEndian.Uint32(lp); int64(total) != int64(len(lp)) {
		return lpReader{}, corruptf("listpack: header says %d bytes, blob has %d", total, len(lp))
	}
	if lp[len(lp)-1] != lpEOF {
		return lpReader{}, corruptf("listpack: missing terminator")
	}
	return lpReader{lp: lp, pos: lpHeaderSize, header: int(binary.LittleEndian.Uint16(lp[4:]))}, nil
}

// next decodes the next entry. ok is false at the end of the listpack, where
// the element count is checked against the header.
func (r *lpReader) next() (e lpEntry, ok bool, err error) {
	lp := r.lp
	end := len(lp) - 1 // index of the terminator
	p := r.pos
	if p >= end {
		if p != end {
			return e, false, corruptf("listpack: entries overrun the terminator")
		}
		if r.header != lpUnknownCount && r.header != r.seen {
			return e, false, corruptf("listpack: header counts %d elements, found %d", r.header, r.seen)
		}
		return e, false, nil
	}
	b := lp[p]
	var size int // encoding + data
	switch {
	case b&0x80 == 0: // 7 bit uint
		e.isInt, e.ival, size = true, int64(b&0x7f), 1
	case b&0xc0 == 0x80: // 6 bit string length
		n := int(b & 0x3f)
		if p+1+n > end {
			return e, false, corruptf("listpack: string past the end")
		}
		e.str, size = lp[p+1:p+1+n], 1+n
	case b&0xe0 == 0xc0: // 13 bit int
		if p+2 > end {
			return e, false, corruptf("listpack: truncated int")
		}
		v := int64(b&0x1f)<<8 | int64(lp[p+1])
		if v >= 1<<12 {
			v -= 1 << 13
		}
		e.isInt, e.ival, size = true, v, 2
	case b&0xf0 == 0xe0: // 12 bit string length
		if p+2 > end {
			return e, false, corruptf("listpack: truncated string length")
		}
		n := int(b&0x0f)<<8 | int(lp[p+1])
		if p+2+n > end {
			return e, false, corruptf("listpack: string past the end")
		}
		e.str, size = lp[p+2:p+2+n], 2+n
	case b == 0xf0: // 32 bit string length
		if p+5 > end {
			return e, false, corruptf("listpack: truncated string length")
		}
		n := int64(binary.LittleEndian.Uint32(lp[p+1:]))
		if int64(p)+5+n > int64(end) {
			return e, false, corruptf("listpack: string past the end")
		}
		e.str, size = lp[p+5:p+5+int(n)], 5+int(n)
	case b == 0xf1, b == 0xf2, b == 0xf3, b == 0xf4:
		w := int(b-0xf0) + 1 // 2, 3, 4 bytes
		if b == 0xf4 {
			w = 8
		}
		if p+1+w > end {
			return e, false, corruptf("listpack: truncated int")
		}
		var u uint64
		for i := w - 1; i >= 0; i-- {
			u = u<<8 | uint64(lp[p+1+i])
		}
		shift := uint(64 - 8*w)
		e.isInt, e.ival, size = true, int64(u<<shift)>>shift, 1+w
	default:
		return e, false, corruptf("listpack: invalid entry encoding 0x%02x", b)
	}
	bl := backlenSize(uint64(size))
	if p+size+bl > end {
		return e, false, corruptf("listpack: backlen past the end")
	}
	if v, ok := decodeBacklen(lp[p+size : p+size+bl]); !ok || v != uint64(size) {
		return e, false, corruptf("listpack: backlen does not match the entry size")
	}
	r.pos = p + size + bl
	r.seen++
	return e, true, nil
}

// backlenSize is the number of bytes lpEncodeBacklen uses for l (note the
// upper bounds are exclusive except for the first).
func backlenSize(l uint64) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// appendBacklen appends the backlen encoding of l.
func appendBacklen(dst []byte, l uint64) []byte {
	n := backlenSize(l)
	for i := n - 1; i >= 0; i-- {
		b := byte(l>>(7*uint(i))) & 0x7f
		if i < n-1 { // every byte but the first carries the flag
			b |= 0x80
		}
		dst = append(dst, b)
	}
	return dst
}

// decodeBacklen decodes a backlen stored in p (most significant byte first).
func decodeBacklen(p []byte) (uint64, bool) {
	var v uint64
	for i, b := range p {
		if i == 0 {
			if b&0x80 != 0 {
				return 0, false
			}
		} else if b&0x80 == 0 {
			return 0, false
		}
		v = v<<7 | uint64(b&0x7f)
	}
	return v, true
}

// lpScan validates a whole listpack and returns its element count and the
// total length of its elements as text.
func lpScan(lp []byte) (count, textBytes int, err error) {
	r, err := newLPReader(lp)
	if err != nil {
		return 0, 0, err
	}
	for {
		e, ok, err := r.next()
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			return count, textBytes, nil
		}
		count++
		textBytes += e.textLen()
	}
}

// lpStrings decodes every element of a listpack as a string. The strings
// share one backing array (each with its capacity clipped).
func lpStrings(lp []byte) ([][]byte, error) {
	count, total, err := lpScan(lp)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, count)
	arena := make([]byte, 0, total)
	r, _ := newLPReader(lp)
	for {
		e, ok, _ := r.next()
		if !ok {
			break
		}
		start := len(arena)
		arena = e.appendTo(arena)
		out = append(out, arena[start:len(arena):len(arena)])
	}
	return out, nil
}

// lpWriter builds a listpack the way Redis's lpAppend does.
type lpWriter struct {
	buf   []byte
	count int
}

// newLPWriter starts an empty listpack with room for capHint bytes.
func newLPWriter(capHint int) *lpWriter {
	if capHint < lpHeaderSize+1 {
		capHint = lpHeaderSize + 1
	}
	buf := make([]byte, lpHeaderSize, capHint)
	return &lpWriter{buf: buf}
}

// reset empties the listpack, keeping its buffer.
func (w *lpWriter) reset() {
	w.buf = w.buf[:lpHeaderSize]
	w.count = 0
}

// bytes is the listpack's total size once finished (header, entries, EOF).
func (w *lpWriter) bytes() int { return len(w.buf) + 1 }

// appendString appends s, as an integer when it is a canonical int64 (as
// lpAppend does).
func (w *lpWriter) appendString(s []byte) {
	if v, ok := parseStrictInt64(s); ok {
		w.appendInt(v)
		return
	}
	w.appendRawString(s)
}

// appendRawString appends s with a string encoding.
func (w *lpWriter) appendRawString(s []byte) {
	n := len(s)
	start := len(w.buf)
	switch {
	case n < 64:
		w.buf = append(w.buf, 0x80|byte(n))
	case n < 4096:
		w.buf = append(w.buf, 0xe0|byte(n>>8), byte(n))
	default:
		w.buf = append(w.buf, 0xf0, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	}
	w.buf = append(w.buf, s...)
	w.buf = appendBacklen(w.buf, uint64(len(w.buf)-start))
	w.count++
}

// appendInt appends v with the smallest integer encoding.
func (w *lpWriter) appendInt(v int64) {
	start := len(w.buf)
	switch {
	case v >= 0 && v <= 127:
		w.buf = append(w.buf, byte(v))
	case v >= -4096 && v <= 4095:
		u := uint64(v) & (1<<13 - 1)
		w.buf = append(w.buf, 0xc0|byte(u>>8), byte(u))
	case v >= -32768 && v <= 32767:
		w.buf = append(w.buf, 0xf1, byte(v), byte(v>>8))
	case v >= -8388608 && v <= 8388607:
		w.buf = append(w.buf, 0xf2, byte(v), byte(v>>8), byte(v>>16))
	case v >= -2147483648 && v <= 2147483647:
		w.buf = append(w.buf, 0xf3, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	default:
		w.buf = append(w.buf, 0xf4)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, uint64(v))
	}
	w.buf = appendBacklen(w.buf, uint64(len(w.buf)-start))
	w.count++
}

// finish terminates the listpack, fills in its header and returns it. The
// writer must be reset before it is used again.
func (w *lpWriter) finish() []byte {
	w.buf = append(w.buf, lpEOF)
	binary.LittleEndian.PutUint32(w.buf, uint32(len(w.buf)))
	c := w.count
	if c >= lpUnknownCount {
		c = lpUnknownCount
	}
	binary.LittleEndian.PutUint16(w.buf[4:], uint16(c))
	return w.buf
}

// lpEntrySize is the number of bytes lpAppend would add for s (encoding,
// data and backlen).
func lpEntrySize(s []byte) int {
	var n int
	if v, ok := parseStrictInt64(s); ok {
		switch {
		case v >= 0 && v <= 127:
			n = 1
		case v >= -4096 && v <= 4095:
			n = 2
		case v >= -32768 && v <= 32767:
			n = 3
		case v >= -8388608 && v <= 8388607:
			n = 4
		case v >= -2147483648 && v <= 2147483647:
			n = 5
		default:
			n = 9
		}
	} else {
		switch l := len(s); {
		case l < 64:
			n = 1 + l
		case l < 4096:
			n = 2 + l
		default:
			n = 5 + l
		}
	}
	return n + backlenSize(uint64(n))
}
