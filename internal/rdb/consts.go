package rdb

// Version is the RDB format version written by this package (Redis 7.0).
const Version = 10

// RDB object type bytes, as stored before each key (and first in a DUMP
// payload).
const (
	TypeString           = 0
	TypeList             = 1
	TypeSet              = 2
	TypeZSet             = 3
	TypeHash             = 4
	TypeZSet2            = 5
	TypeModule           = 6
	TypeModule2          = 7
	TypeHashZipmap       = 9
	TypeListZiplist      = 10
	TypeSetIntset        = 11
	TypeZSetZiplist      = 12
	TypeHashZiplist      = 13
	TypeListQuicklist    = 14
	TypeStreamListpacks  = 15
	TypeHashListpack     = 16
	TypeZSetListpack     = 17
	TypeListQuicklist2   = 18
	TypeStreamListpacks2 = 19
	// TypeSetListpack is Redis 7.2's listpack set; 7.0 refuses it and so do we.
	TypeSetListpack = 20
)

// Opcodes that can appear where a type byte is expected.
const (
	opFunction2    = 245
	opFunction     = 246
	opModuleAux    = 247
	opIdle         = 248
	opFreq         = 249
	opAux          = 250
	opResizeDB     = 251
	opExpireTimeMs = 252
	opExpireTime   = 253
	opSelectDB     = 254
	opEOF          = 255
)

// Length encodings (top two bits of the first byte).
const (
	len6Bit  = 0
	len14Bit = 1
	len32Bit = 0x80
	len64Bit = 0x81
	lenEnc   = 3
)

// Special string encodings (low six bits when the top two bits are 11).
const (
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// Quicklist node containers (RDB_TYPE_LIST_QUICKLIST_2).
const (
	containerPlain  = 1
	containerPacked = 2
)

// isObjectType reports whether t is a valid object type for Redis 7.0
// (rdbIsObjectType).
func isObjectType(t int) bool {
	return (t >= 0 && t <= 7) || (t >= 9 && t <= 19)
}
