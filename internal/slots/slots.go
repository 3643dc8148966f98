// Package slots maps keys to the 16384 hash slots of Redis Cluster and holds
// slot bitmaps and slot-range helpers (cluster-behaviour.md, "Key distribution").
package slots

import (
	"strconv"
	"strings"

	"github.com/sigurn/crc16"
)

// Count is the number of hash slots in a Redis Cluster.
const Count = 16384

// table is the CRC16-XMODEM lookup table; it is immutable after creation.
var table = crc16.MakeTable(crc16.CRC16_XMODEM)

// HashTag returns the part of key that is hashed: the content of the first
// {...} section when it is non-empty, else the whole key.
func HashTag(key []byte) []byte {
	for i := 0; i < len(key); i++ {
		if key[i] == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					if j == i+1 {
						return key
					}
					return key[i+1 : j]
				}
			}
			return key
		}
	}
	return key
}

// KeySlot returns the hash slot of key: CRC16-XMODEM of its hash tag mod 16384.
func KeySlot(key []byte) int {
	return int(crc16.Checksum(HashTag(key), table) & (Count - 1))
}

// KeySlotString is KeySlot for a string key.
func KeySlotString(key string) int {
	return KeySlot([]byte(key))
}

// Bitmap is a set of slots, one bit per slot, laid out like Redis's
// clusterMsg slot bitmap (bit i of byte i/8, least significant bit first).
type Bitmap [Count / 8]byte

// Set marks slot s.
func (b *Bitmap) Set(s int) { b[s>>3] |= 1 << (uint(s) & 7) }

// Clear unmarks slot s.
func (b *Bitmap) Clear(s int) { b[s>>3] &^= 1 << (uint(s) & 7) }

// Has reports whether slot s is marked.
func (b *Bitmap) Has(s int) bool { return b[s>>3]&(1<<(uint(s)&7)) != 0 }

// Count returns how many slots are marked.
func (b *Bitmap) Count() int {
	n := 0
	for _, x := range b {
		for ; x != 0; x &= x - 1 {
			n++
		}
	}
	return n
}

// Range is an inclusive range of slots.
type Range struct{ Start, End int }

// Ranges returns the maximal ranges of marked slots in ascending order.
func (b *Bitmap) Ranges() []Range {
	var out []Range
	start := -1
	for s := 0; s < Count; s++ {
		if b.Has(s) {
			if start < 0 {
				start = s
			}
		} else if start >= 0 {
			out = append(out, Range{start, s - 1})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, Range{start, Count - 1})
	}
	return out
}

// String prints a range the way CLUSTER NODES does: "N" or "A-B".
func (r Range) String() string {
	if r.Start == r.End {
		return strconv.Itoa(r.Start)
	}
	return strconv.Itoa(r.Start) + "-" + strconv.Itoa(r.End)
}

// FormatRanges joins ranges with single spaces, as in CLUSTER NODES.
func FormatRanges(rs []Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, " ")
}

// Parse parses a slot number as the CLUSTER commands do: a decimal integer
// in 0..16383. It reports false for anything else.
func Parse(s []byte) (int, bool) {
	if len(s) == 0 || len(s) > 5 {
		return 0, false
	}
	n, err := strconv.Atoi(string(s))
	if err != nil || n < 0 || n >= Count {
		return 0, false
	}
	return n, true
}
