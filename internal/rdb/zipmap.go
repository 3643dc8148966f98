package rdb

import "encoding/binary"

// Zipmap layout (Redis 2.x hashes, RDB type 9):
//
//	zmlen (1 byte, 254+ means unknown) { len field len free value free-bytes }* 0xFF
//
// A length is one byte when < 254, else 0xFE followed by a u32 (little-endian
// on the platforms Redis runs on); 0xFF ends the map.

const (
	zmBigLen = 254
	zmEnd    = 255
)

// zipmapPairs decodes a zipmap into field, value, field, value...
func zipmapPairs(zm []byte) ([][]byte, error) {
	if len(zm) < 2 {
		return nil, corruptf("zipmap: %d bytes is too short", len(zm))
	}
	if zm[len(zm)-1] != zmEnd {
		return nil, corruptf("zipmap: missing terminator")
	}
	end := len(zm) - 1
	p := 1
	readLen := func() (int, bool) {
		if p >= end {
			return 0, false
		}
		b := zm[p]
		if b < zmBigLen {
			p++
			return int(b), true
		}
		if b != zmBigLen || p+5 > end {
			return 0, false
		}
		n := int64(binary.LittleEndian.Uint32(zm[p+1:]))
		p += 5
		return int(n), true
	}
	var out [][]byte
	for p < end {
		fl, ok := readLen()
		if !ok || p+fl > end {
			return nil, corruptf("zipmap: field past the end")
		}
		field := zm[p : p+fl]
		p += fl
		vl, ok := readLen()
		if !ok || p >= end {
			return nil, corruptf("zipmap: value length past the end")
		}
		free := int(zm[p])
		p++
		if p+vl+free > end {
			return nil, corruptf("zipmap: value past the end")
		}
		value := zm[p : p+vl]
		p += vl + free
		out = append(out, append([]byte(nil), field...), append([]byte(nil), value...))
	}
	if p != end {
		return nil, corruptf("zipmap: entries overrun the terminator")
	}
	if len(out) == 0 {
		return nil, corruptf("zipmap: empty")
	}
	if zm[0] != zmBigLen && int(zm[0]) != len(out)/2 {
		return nil, corruptf("zipmap: header counts %d pairs, found %d", zm[0], len(out)/2)
	}
	return out, nil
}
