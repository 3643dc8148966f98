package replication

// Backlog is the replication backlog: a circular buffer holding the most
// recent bytes of the replication stream, so that a replica that lost its
// link can continue with a partial resynchronization.
//
// Offsets follow Redis: the stream's bytes are numbered from 1, Offset is
// master_repl_offset (the number of the last byte written) and
// FirstByteOffset is repl_backlog_first_byte_offset. The buffer is
// allocated as data arrives, up to Size bytes. A Backlog is not safe for
// concurrent use.
type Backlog struct {
	buf     []byte // len(buf) <= size; circular once len(buf) == size
	size    int
	idx     int   // where the next byte goes
	histlen int64 // bytes of history held (<= size)
	offset  int64 // master_repl_offset
}

// NewBacklog returns an empty backlog of size bytes whose next byte will be
// offset+1 (Redis creates it with repl_backlog_first_byte_offset =
// master_repl_offset+1).
func NewBacklog(size int, offset int64) *Backlog {
	if size < 1 {
		size = 1
	}
	return &Backlog{size: size, offset: offset}
}

// Size returns the capacity in bytes (repl_backlog_size).
func (b *Backlog) Size() int { return b.size }

// Offset returns the number of the last byte written (master_repl_offset).
func (b *Backlog) Offset() int64 { return b.offset }

// HistLen returns the number of bytes of history held
// (repl_backlog_histlen).
func (b *Backlog) HistLen() int64 { return b.histlen }

// FirstByteOffset returns the number of the oldest byte held
// (repl_backlog_first_byte_offset); Offset()+1 when empty.
func (b *Backlog) FirstByteOffset() int64 { return b.offset - b.histlen + 1 }

// Write appends p to the stream.
func (b *Backlog) Write(p []byte) {
	n := len(p)
	if n == 0 {
		return
	}
	b.offset += int64(n)
	b.histlen = min(b.histlen+int64(n), int64(b.size))
	if n >= b.size {
		// Only the last size bytes survive.
		if len(b.buf) < b.size {
			b.buf = make([]byte, b.size)
		}
		copy(b.buf, p[n-b.size:])
		b.idx = 0
		return
	}
	if len(b.buf) < b.size {
		// Growing: data occupies buf[:len(buf)] and idx == len(buf).
		room := b.size - len(b.buf)
		k := min(room, n)
		b.buf = b.grow(k)
		copy(b.buf[len(b.buf)-k:], p[:k])
		p = p[k:]
		b.idx = len(b.buf) % b.size
		if len(p) == 0 {
			return
		}
	}
	for len(p) > 0 {
		k := copy(b.buf[b.idx:], p)
		p = p[k:]
		b.idx = (b.idx + k) % b.size
	}
}

// grow extends buf by k bytes without exceeding size in capacity.
func (b *Backlog) grow(k int) []byte {
	need := len(b.buf) + k
	if need <= cap(b.buf) {
		return b.buf[:need]
	}
	c := max(2*cap(b.buf), need, 4096)
	c = min(c, b.size)
	nb := make([]byte, need, c)
	copy(nb, b.buf)
	return nb
}

// CanServe reports whether a replica asking for the stream from byte off on
// (PSYNC's offset: the first byte it has not received) can be served:
// FirstByteOffset() <= off <= Offset()+1.
func (b *Backlog) CanServe(off int64) bool {
	return off >= b.FirstByteOffset() && off <= b.offset+1
}

// AppendFrom appends the held bytes from byte off to the end of the stream
// to dst. ok is false when off cannot be served.
func (b *Backlog) AppendFrom(dst []byte, off int64) (out []byte, ok bool) {
	if !b.CanServe(off) {
		return dst, false
	}
	n := int(b.offset + 1 - off) // bytes wanted
	if n == 0 {
		return dst, true
	}
	l := len(b.buf)
	start := ((b.idx-n)%l + l) % l
	if start+n <= l {
		return append(dst, b.buf[start:start+n]...), true
	}
	dst = append(dst, b.buf[start:]...)
	return append(dst, b.buf[:n-(l-start)]...), true
}

// Resize changes the capacity, keeping the most recent history that fits.
func (b *Backlog) Resize(size int) {
	if size < 1 {
		size = 1
	}
	if size == b.size {
		return
	}
	keep := min(b.histlen, int64(size))
	data, _ := b.AppendFrom(make([]byte, 0, keep), b.offset+1-keep)
	b.buf = data
	b.size = size
	b.histlen = keep
	b.idx = len(data) % size
	if len(data) == 0 {
		b.buf = nil
		b.idx = 0
	}
}
