package rdb

import "encoding/binary"

// Ziplist layout (legacy, RDB types 10, 12, 13, 14), little-endian except the
// string lengths:
//
//	u32 zlbytes | u32 zltail (offset of the last entry) | u16 zllen
//	(65535: count by scanning) | entries | 0xFF
//
// Entry: prevlen (1 byte if < 254, else 0xFE + u32), encoding, data.
// Encodings: 00pppppp string (6 bit length), 01pppppp qqqqqqqq string (14 bit
// big-endian length), 10xxxxxx + u32 big-endian length, 0xC0 int16,
// 0xD0 int32, 0xE0 int64, 0xF0 int24, 0xFE int8, 0xF1..0xFD immediate 0..12.

const (
	zlHeaderSize   = 10
	zlEnd          = 0xff
	zlUnknownCount = 65535
)

// zlReader walks a ziplist validating every entry.
type zlReader struct {
	zl       []byte
	pos      int
	prevSize int
	lastPos  int
	header   int
	seen     int
}

// newZLReader validates the ziplist header.
func newZLReader(zl []byte) (zlReader, error) {
	if len(zl) < zlHeaderSize+1 {
		return zlReader{}, corruptf("ziplist: %d bytes is too short", len(zl))
	}
	if n := binary.LittleEndian.Uint32(zl); int64(n) != int64(len(zl)) {
		return zlReader{}, corruptf("ziplist: header says %d bytes, blob has %d", n, len(zl))
	}
	if zl[len(zl)-1] != zlEnd {
		return zlReader{}, corruptf("ziplist: missing terminator")
	}
	return zlReader{zl: zl, pos: zlHeaderSize, lastPos: zlHeaderSize,
		header: int(binary.LittleEndian.Uint16(zl[8:]))}, nil
}

// next decodes the next entry; ok is false at the end, where the count and
// tail offset are checked.
func (r *zlReader) next() (e lpEntry, ok bool, err error) {
	zl := r.zl
	end := len(zl) - 1
	p := r.pos
	if p >= end {
		if p != end {
			return e, false, corruptf("ziplist: entries overrun the terminator")
		}
		if r.header != zlUnknownCount && r.header != r.seen {
			return e, false, corruptf("ziplist: header counts %d entries, found %d", r.header, r.seen)
		}
		if tail := binary.LittleEndian.Uint32(zl[4:]); int64(tail) != int64(r.lastPos) {
			return e, false, corruptf("ziplist: tail offset %d, last entry at %d", tail, r.lastPos)
		}
		return e, false, nil
	}
	start := p
	// prevlen
	var prev int
	if zl[p] < 254 {
		prev = int(zl[p])
		p++
	} else if zl[p] == 254 {
		if p+5 > end {
			return e, false, corruptf("ziplist: truncated prevlen")
		}
		prev = int(binary.LittleEndian.Uint32(zl[p+1:]))
		p += 5
	} else {
		return e, false, corruptf("ziplist: invalid prevlen")
	}
	if prev != r.prevSize {
		return e, false, corruptf("ziplist: prevlen %d, previous entry is %d bytes", prev, r.prevSize)
	}
	if p >= end {
		return e, false, corruptf("ziplist: truncated entry")
	}
	b := zl[p]
	switch {
	case b>>6 == 0:
		n := int(b & 0x3f)
		if p+1+n > end {
			return e, false, corruptf("ziplist: string past the end")
		}
		e.str = zl[p+1 : p+1+n]
		p += 1 + n
	case b>>6 == 1:
		if p+2 > end {
			return e, false, corruptf("ziplist: truncated length")
		}
		n := int(b&0x3f)<<8 | int(zl[p+1])
		if p+2+n > end {
			return e, false, corruptf("ziplist: string past the end")
		}
		e.str = zl[p+2 : p+2+n]
		p += 2 + n
	case b>>6 == 2:
		if p+5 > end {
			return e, false, corruptf("ziplist: truncated length")
		}
		n := int64(binary.BigEndian.Uint32(zl[p+1:]))
		if int64(p)+5+n > int64(end) {
			return e, false, corruptf("ziplist: string past the end")
		}
		e.str = zl[p+5 : p+5+int(n)]
		p += 5 + int(n)
	default:
		var w int
		switch b {
		case 0xc0:
			w = 2
		case 0xd0:
			w = 4
		case 0xe0:
			w = 8
		case 0xf0:
			w = 3
		case 0xfe:
			w = 1
		default:
			if b >= 0xf1 && b <= 0xfd {
				e.isInt, e.ival = true, int64(b&0x0f)-1
				p++
				break
			}
			return e, false, corruptf("ziplist: invalid encoding 0x%02x", b)
		}
		if w > 0 {
			if p+1+w > end {
				return e, false, corruptf("ziplist: truncated int")
			}
			var u uint64
			for i := w - 1; i >= 0; i-- {
				u = u<<8 | uint64(zl[p+1+i])
			}
			shift := uint(64 - 8*w)
			e.isInt, e.ival = true, int64(u<<shift)>>shift
			p += 1 + w
		}
	}
	r.lastPos = start
	r.prevSize = p - start
	r.pos = p
	r.seen++
	return e, true, nil
}

// zlStrings decodes every entry of a ziplist as a string (shared backing
// array, capacities clipped).
func zlStrings(zl []byte) ([][]byte, error) {
	r, err := newZLReader(zl)
	if err != nil {
		return nil, err
	}
	count, total := 0, 0
	for {
		e, ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		count++
		total += e.textLen()
	}
	out := make([][]byte, 0, count)
	arena := make([]byte, 0, total)
	r, _ = newZLReader(zl)
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
