package rdb

import (
	"encoding/binary"
	"io"
	"strconv"
	"sync"
)

const writeBufSize = 64 << 10

// lzfTables recycles the 512 KB hash tables of lzfCompressRedis between
// writers (a DUMP makes a writer per call).
var lzfTables = sync.Pool{New: func() any { return new(LZFTable) }}

// writer buffers output, tracking its CRC64 and size. With a nil io.Writer
// everything stays in buf (DUMP payloads).
type writer struct {
	w    io.Writer
	buf  []byte
	crc  uint64
	n    int64 // bytes flushed
	err  error
	lzf  []byte
	comp bool
}

func newWriter(w io.Writer, compress bool) *writer {
	size := 256
	if w != nil {
		size = writeBufSize
	}
	return &writer{w: w, buf: make([]byte, 0, size), comp: compress}
}

// flush hands the buffered bytes to the underlying writer.
func (w *writer) flush() {
	if w.w == nil || len(w.buf) == 0 || w.err != nil {
		return
	}
	w.crc = UpdateCRC64(w.crc, w.buf)
	_, err := w.w.Write(w.buf)
	w.n += int64(len(w.buf))
	w.buf = w.buf[:0]
	if err != nil {
		w.err = err
	}
}

func (w *writer) maybeFlush() {
	if w.w != nil && len(w.buf) >= writeBufSize {
		w.flush()
	}
}

func (w *writer) writeByte(b byte) {
	w.buf = append(w.buf, b)
	w.maybeFlush()
}

func (w *writer) write(p []byte) {
	if w.w != nil && len(p) >= writeBufSize {
		w.flush()
		if w.err != nil {
			return
		}
		w.crc = UpdateCRC64(w.crc, p)
		_, err := w.w.Write(p)
		w.n += int64(len(p))
		if err != nil {
			w.err = err
		}
		return
	}
	w.buf = append(w.buf, p...)
	w.maybeFlush()
}

// checksum returns the CRC64 of everything written so far.
func (w *writer) checksum() uint64 {
	if w.w == nil {
		return UpdateCRC64(0, w.buf)
	}
	return UpdateCRC64(w.crc, w.buf)
}

// writeLen writes a length with the shortest encoding (rdbSaveLen).
func (w *writer) writeLen(n uint64) {
	switch {
	case n < 1<<6:
		w.buf = append(w.buf, byte(n))
	case n < 1<<14:
		w.buf = append(w.buf, byte(n>>8)|len14Bit<<6, byte(n))
	case n <= 0xffffffff:
		w.buf = append(w.buf, len32Bit)
		w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(n))
	default:
		w.buf = append(w.buf, len64Bit)
		w.buf = binary.BigEndian.AppendUint64(w.buf, n)
	}
	w.maybeFlush()
}

func (w *writer) writeUint64LE(v uint64) {
	w.buf = binary.LittleEndian.AppendUint64(w.buf, v)
	w.maybeFlush()
}

// writeInt writes an integer as Redis's rdbSaveLongLongAsStringObject: an
// INT8/16/32 encoding when it fits, else its decimal text.
func (w *writer) writeInt(v int64) {
	switch {
	case v >= -(1<<7) && v <= 1<<7-1:
		w.buf = append(w.buf, lenEnc<<6|encInt8, byte(v))
	case v >= -(1<<15) && v <= 1<<15-1:
		w.buf = append(w.buf, lenEnc<<6|encInt16, byte(v), byte(v>>8))
	case v >= -(1<<31) && v <= 1<<31-1:
		w.buf = append(w.buf, lenEnc<<6|encInt32, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	default:
		var tmp [20]byte
		s := strconv.AppendInt(tmp[:0], v, 10)
		w.writeLen(uint64(len(s)))
		w.buf = append(w.buf, s...)
	}
	w.maybeFlush()
}

// writeString writes s as rdbSaveRawString does: integer encoding for short
// canonical int32 text, LZF (when compression is on) for strings longer than
// 20 bytes that shrink by at least 4 bytes, else raw.
func (w *writer) writeString(s []byte) {
	if len(s) <= 11 {
		if v, ok := parseStrictInt64(s); ok && v >= -(1<<31) && v <= 1<<31-1 {
			w.writeInt(v)
			return
		}
	}
	if w.comp && len(s) > 20 {
		budget := len(s) - 4
		if cap(w.lzf) < budget {
			w.lzf = make([]byte, budget)
		}
		// Redis's own compressor, so that payloads are byte-identical to
		// redis-server's (DUMP, RDB files).
		t := lzfTables.Get().(*LZFTable)
		n := lzfCompressRedis(w.lzf[:budget], s, t)
		lzfTables.Put(t)
		if n > 0 {
			w.buf = append(w.buf, lenEnc<<6|encLZF)
			w.writeLen(uint64(n))
			w.writeLen(uint64(len(s)))
			w.write(w.lzf[:n])
			if cap(w.lzf) > 4*chunkSize {
				w.lzf = nil
			}
			return
		}
	}
	w.writeLen(uint64(len(s)))
	w.write(s)
}
