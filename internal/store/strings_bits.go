package store

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// Bit numbering follows Redis: bit 0 is the most significant bit of the
// first byte.

// PopCount returns the number of set bits in p.
func PopCount(p []byte) int64 {
	var n int
	for len(p) >= 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(p))
		p = p[8:]
	}
	for _, c := range p {
		n += bits.OnesCount8(c)
	}
	return int64(n)
}

// FirstBit returns the position of the first bit equal to bit (0 or 1) in
// p. Like Redis's redisBitpos it returns -1 when looking for a 1 that is
// not there, and len(p)*8 when looking for a 0 that is not there (the
// string is taken as zero padded on the right).
func FirstBit(p []byte, bit int) int64 {
	skip := byte(0)
	if bit == 0 {
		skip = 0xff
	}
	i := 0
	if bit == 1 {
		for i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:]) == 0 {
			i += 8
		}
	} else {
		for i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:]) == math.MaxUint64 {
			i += 8
		}
	}
	for ; i < len(p); i++ {
		if p[i] != skip {
			c := p[i]
			if bit == 0 {
				c = ^c
			}
			return int64(i)*8 + int64(bits.LeadingZeros8(c))
		}
	}
	if bit == 1 {
		return -1
	}
	return int64(len(p)) * 8
}

// BitCount counts the set bits of p between start and end, already
// normalised by the caller into 0 <= start <= end < len(p) in byte units;
// firstMask and lastMask are BITCOUNT's masks of the bits of the first and
// last byte that lie outside a BIT range (0 in BYTE mode).
func BitCount(p []byte, start, end int64, firstMask, lastMask byte) int64 {
	n := PopCount(p[start : end+1])
	if firstMask != 0 {
		n -= int64(bits.OnesCount8(p[start] & firstMask))
	}
	if lastMask != 0 {
		n -= int64(bits.OnesCount8(p[end] & lastMask))
	}
	return n
}

// BitRangeMasks converts a normalised bit range into byte offsets plus the
// masks of the out-of-range bits in the first and last byte.
func BitRangeMasks(start, end int64) (int64, int64, byte, byte) {
	first := byte(^((1 << (8 - (start & 7))) - 1) & 0xff)
	last := byte((1 << (7 - (end & 7))) - 1)
	return start >> 3, end >> 3, first, last
}

// BitPos finds the first bit equal to bit in p[start..end] (byte offsets,
// start <= end, normalised by the caller) with BITPOS's edge masks. It
// returns the absolute bit position or -1, following Redis 7.0 exactly,
// including its treatment of an explicit end when looking for 0.
func BitPos(p []byte, bit int, start, end int64, firstMask, lastMask byte, endGiven bool) int64 {
	nbytes := end - start + 1
	var pos int64
	one := func(c byte) int64 { return FirstBit([]byte{c}, bit) }
	edge := func(c, mask byte) byte {
		if bit == 1 {
			return c &^ mask
		}
		return c | mask
	}
	done := false
	if firstMask != 0 {
		c := edge(p[start], firstMask)
		if lastMask != 0 && nbytes == 1 {
			c = edge(c, lastMask)
		}
		pos = one(c)
		if nbytes == 1 || (pos != -1 && pos != 8) {
			done = true
		} else {
			start++
			nbytes--
		}
	}
	if !done {
		cur := nbytes
		if lastMask != 0 {
			cur--
		}
		if cur > 0 {
			pos = FirstBit(p[start:start+cur], bit)
			if nbytes == cur || (pos != -1 && pos != cur<<3) {
				done = true
			} else {
				start += cur
				nbytes -= cur
			}
		}
		if !done {
			pos = one(edge(p[end], lastMask))
		}
	}
	if endGiven && bit == 0 && pos == nbytes<<3 {
		return -1
	}
	if pos != -1 {
		pos += start << 3
	}
	return pos
}

// BitOp names the BITOP operations.
type BitOp uint8

// The BITOP operations.
const (
	BitAnd BitOp = iota
	BitOr
	BitXor
	BitNot
)

// BitOpApply computes op over srcs (missing bytes read as zero) into a new
// slice as long as the longest source; nil when every source is empty.
func BitOpApply(op BitOp, srcs [][]byte) []byte {
	maxLen := 0
	for _, s := range srcs {
		if len(s) > maxLen {
			maxLen = len(s)
		}
	}
	if maxLen == 0 {
		return nil
	}
	res := make([]byte, maxLen)
	copy(res, srcs[0])
	switch op {
	case BitNot:
		for i := range res {
			res[i] = ^res[i]
		}
	case BitAnd:
		for _, s := range srcs[1:] {
			n := len(s)
			for i := 0; i < n; i++ {
				res[i] &= s[i]
			}
			clear(res[n:])
		}
	case BitOr:
		for _, s := range srcs[1:] {
			for i, c := range s {
				res[i] |= c
			}
		}
	case BitXor:
		for _, s := range srcs[1:] {
			for i, c := range s {
				res[i] ^= c
			}
		}
	}
	return res
}

// GetBit returns bit number off of p (0 beyond its end).
func GetBit(p []byte, off uint64) int {
	b := off >> 3
	if b >= uint64(len(p)) {
		return 0
	}
	return int(p[b]>>(7-off&7)) & 1
}

// GetUnsignedBitfield reads an unsigned integer of width nbits (1..64) at
// bit offset off; bits beyond the end of p read as zero.
func GetUnsignedBitfield(p []byte, off uint64, nbits int) uint64 {
	var v uint64
	for j := 0; j < nbits; j++ {
		v = v<<1 | uint64(GetBit(p, off))
		off++
	}
	return v
}

// GetSignedBitfield reads a two's complement integer of width nbits.
func GetSignedBitfield(p []byte, off uint64, nbits int) int64 {
	v := GetUnsignedBitfield(p, off, nbits)
	if nbits < 64 && v&(1<<(nbits-1)) != 0 {
		v |= math.MaxUint64 << nbits
	}
	return int64(v)
}

// SetBitfield writes the low nbits of v at bit offset off; p must be long
// enough.
func SetBitfield(p []byte, off uint64, nbits int, v uint64) {
	for j := 0; j < nbits; j++ {
		bit := byte(v>>(nbits-1-j)) & 1
		b := off >> 3
		sh := 7 - off&7
		p[b] = p[b]&^(1<<sh) | bit<<sh
		off++
	}
}

// Overflow is BITFIELD's OVERFLOW behaviour.
type Overflow uint8

// The OVERFLOW modes.
const (
	OverflowWrap Overflow = iota
	OverflowSat
	OverflowFail
)

// UnsignedBitfieldOverflow checks value+incr against an unsigned field of
// nbits (<= 63). It returns 0 when it fits, else +1/-1 for overflow and
// underflow along with the value to store under WRAP or SAT.
func UnsignedBitfieldOverflow(value uint64, incr int64, nbits int, ow Overflow) (int, uint64) {
	maxv := uint64(math.MaxUint64)
	if nbits < 64 {
		maxv = 1<<nbits - 1
	}
	maxincr := int64(maxv - value)
	minincr := -int64(value)
	wrap := func() uint64 {
		res := value + uint64(incr)
		if nbits < 64 {
			res &^= math.MaxUint64 << nbits
		}
		return res
	}
	if value > maxv || (incr > 0 && incr > maxincr) {
		switch ow {
		case OverflowWrap:
			return 1, wrap()
		case OverflowSat:
			return 1, maxv
		}
		return 1, 0
	}
	if incr < 0 && incr < minincr {
		switch ow {
		case OverflowWrap:
			return -1, wrap()
		case OverflowSat:
			return -1, 0
		}
		return -1, 0
	}
	return 0, 0
}

// SignedBitfieldOverflow is UnsignedBitfieldOverflow for signed fields of
// nbits (<= 64).
func SignedBitfieldOverflow(value, incr int64, nbits int, ow Overflow) (int, int64) {
	maxv := int64(math.MaxInt64)
	if nbits < 64 {
		maxv = 1<<(nbits-1) - 1
	}
	minv := -maxv - 1
	maxincr := int64(uint64(maxv) - uint64(value))
	minincr := minv - value
	wrap := func() int64 {
		c := uint64(value) + uint64(incr)
		if nbits < 64 {
			mask := uint64(math.MaxUint64) << nbits
			if c&(1<<(nbits-1)) != 0 {
				c |= mask
			} else {
				c &^= mask
			}
		}
		return int64(c)
	}
	if value > maxv || (nbits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
		switch ow {
		case OverflowWrap:
			return 1, wrap()
		case OverflowSat:
			return 1, maxv
		}
		return 1, 0
	}
	if value < minv || (nbits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
		switch ow {
		case OverflowWrap:
			return -1, wrap()
		case OverflowSat:
			return -1, minv
		}
		return -1, 0
	}
	return 0, 0
}
