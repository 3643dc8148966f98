package rdb

import "encoding/binary"

// crcPoly is the reflected form of the Jones polynomial 0xad93d23594c935a9
// used by Redis for RDB files and DUMP payloads (reflected in and out,
// init 0, xorout 0).
const crcPoly = 0x95ac9329ac4bc9b5

// crcTables are the slicing-by-8 tables: crcTables[0] is the classic
// byte-wise table, crcTables[k][b] is the CRC of byte b followed by k zero
// bytes. They are computed once and never modified.
var crcTables = makeCRCTables()

func makeCRCTables() *[8][256]uint64 {
	t := new([8][256]uint64)
	for i := 0; i < 256; i++ {
		c := uint64(i)
		for j := 0; j < 8; j++ {
			if c&1 == 1 {
				c = c>>1 ^ crcPoly
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := 0; i < 256; i++ {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}

// CRC64 returns the CRC-64/Jones checksum of p as Redis computes it.
// CRC64([]byte("123456789")) == 0xe9c6d914c4b8d9ca.
func CRC64(p []byte) uint64 { return UpdateCRC64(0, p) }

// UpdateCRC64 returns the checksum crc extended with the bytes of p, so that
// UpdateCRC64(UpdateCRC64(0, a), b) == CRC64(a+b).
func UpdateCRC64(crc uint64, p []byte) uint64 {
	t := crcTables
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][byte(crc)] ^
			t[6][byte(crc>>8)] ^
			t[5][byte(crc>>16)] ^
			t[4][byte(crc>>24)] ^
			t[3][byte(crc>>32)] ^
			t[2][byte(crc>>40)] ^
			t[1][byte(crc>>48)] ^
			t[0][byte(crc>>56)]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}
