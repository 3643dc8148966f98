package rdb

import (
	"encoding/binary"
	"sort"
	"strconv"
)

// Intset layout (RDB type 11), little-endian: u32 encoding (2, 4 or 8 bytes
// per element), u32 length, then the elements sorted ascending.

// intsetValues validates an intset blob and returns its elements.
func intsetValues(b []byte) ([]int64, error) {
	if len(b) < 8 {
		return nil, corruptf("intset: %d bytes is too short", len(b))
	}
	enc := binary.LittleEndian.Uint32(b)
	if enc != 2 && enc != 4 && enc != 8 {
		return nil, corruptf("intset: invalid encoding %d", enc)
	}
	n := uint64(binary.LittleEndian.Uint32(b[4:]))
	if uint64(len(b)-8) != n*uint64(enc) {
		return nil, corruptf("intset: %d elements of %d bytes do not fill %d bytes", n, enc, len(b)-8)
	}
	out := make([]int64, n)
	p := b[8:]
	for i := range out {
		var v int64
		switch enc {
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(p)))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(p)))
		default:
			v = int64(binary.LittleEndian.Uint64(p))
		}
		p = p[enc:]
		if i > 0 && v <= out[i-1] {
			return nil, corruptf("intset: elements not sorted or duplicated")
		}
		out[i] = v
	}
	return out, nil
}

// intsetStrings decodes an intset as decimal strings sharing one array.
func intsetStrings(b []byte) ([][]byte, error) {
	vals, err := intsetValues(b)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, v := range vals {
		total += intTextLen(v)
	}
	arena := make([]byte, 0, total)
	out := make([][]byte, len(vals))
	for i, v := range vals {
		start := len(arena)
		arena = strconv.AppendInt(arena, v, 10)
		out[i] = arena[start:len(arena):len(arena)]
	}
	return out, nil
}

// intsetBlob encodes integers as an intset with the smallest element width.
// vals is sorted in place and must not contain duplicates.
func intsetBlob(vals []int64) []byte {
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	enc := 2
	for _, v := range vals {
		if v < -32768 || v > 32767 {
			enc = 4
		}
		if v < -2147483648 || v > 2147483647 {
			enc = 8
			break
		}
	}
	out := make([]byte, 8, 8+enc*len(vals))
	binary.LittleEndian.PutUint32(out, uint32(enc))
	binary.LittleEndian.PutUint32(out[4:], uint32(len(vals)))
	for _, v := range vals {
		switch enc {
		case 2:
			out = binary.LittleEndian.AppendUint16(out, uint16(v))
		case 4:
			out = binary.LittleEndian.AppendUint32(out, uint32(v))
		default:
			out = binary.LittleEndian.AppendUint64(out, uint64(v))
		}
	}
	return out
}
