package rdb

// An LZF compressor whose output is byte for byte what redis-server 7.0
// writes: Redis builds liblzf with a 2^16-entry hash table indexed by a
// multiplicative-like hash of three bytes, in its "very fast" mode (after
// a back reference only the last two positions it covered are indexed),
// never refers back to the first input byte, ends matches two bytes
// before the end of the input and leaves those last bytes as literals.
// lzfCompress (lzf.go) is a different compressor: its output is valid LZF
// that Redis reads, but not the bytes Redis writes.

const (
	redisLZFHashLog = 16
	redisLZFMaxLit  = 1 << 5
	redisLZFMaxOff  = 1 << 13
	redisLZFMaxRef  = 1<<8 + 1<<3
)

// LZFTable is the hash table of lzfCompressRedis. Entries carry the
// number of the compression that wrote them, so that a table is reused
// without clearing it.
type LZFTable struct {
	ent [1 << redisLZFHashLog]uint64 // gen<<32 | position+1
	gen uint32
}

// lzfCompressRedis compresses src into dst as Redis's lzf_compress does,
// and returns the compressed length, or 0 when the output does not fit in
// len(dst) (Redis passes len(src)-4). Inputs shorter than 3 bytes are not
// compressed (Redis only compresses strings longer than 20 bytes).
func lzfCompressRedis(dst, src []byte, t *LZFTable) int {
	inEnd, outEnd := len(src), len(dst)
	if inEnd < 3 || outEnd == 0 {
		return 0
	}
	t.gen++
	if t.gen == 0 { // wrapped: old entries could look current
		clear(t.ent[:])
		t.gen = 1
	}
	gen := uint64(t.gen) << 32
	idx := func(h uint32) uint32 { return ((h >> (3*8 - redisLZFHashLog)) - h*5) & (1<<redisLZFHashLog - 1) }
	// lookup returns the position stored for hash slot h (-1 when none)
	// and stores ip there.
	swap := func(h uint32, ip int) int {
		e := t.ent[h]
		t.ent[h] = gen | uint64(ip+1)
		if e&^(1<<32-1) != gen {
			return -1
		}
		return int(uint32(e)) - 1
	}
	ip, op, lit := 0, 1, 0 // dst[0] is kept for the first literal run's length
	hval := uint32(src[0])<<8 | uint32(src[1])
	for ip < inEnd-2 {
		hval = hval<<8 | uint32(src[ip+2])
		ref := swap(idx(hval), ip)
		if ref > 0 && ref < ip && ip-ref-1 < redisLZFMaxOff &&
			src[ref+2] == src[ip+2] && src[ref] == src[ip] && src[ref+1] == src[ip+1] {
			n := 2
			maxN := min(inEnd-ip-n, redisLZFMaxRef)
			noLit := 0
			if lit == 0 {
				noLit = 1
			}
			if op+3+1 >= outEnd && op-noLit+3+1 >= outEnd {
				return 0
			}
			dst[op-lit-1] = byte(lit - 1) // close the literal run
			op -= noLit                   // or drop it when empty
			matched := false
			if maxN > 16 {
				// the first 16 bytes are compared without the bound, as
				// liblzf's unrolled loop does
				matched = true
				for k := 0; k < 16; k++ {
					n++
					if src[ref+n] != src[ip+n] {
						matched = false
						break
					}
				}
			}
			if maxN <= 16 || matched {
				for {
					n++
					if !(n < maxN && src[ref+n] == src[ip+n]) {
						break
					}
				}
			}
			n -= 2 // now the number of bytes minus one
			off := ip - ref - 1
			ip++
			if n < 7 {
				dst[op] = byte(off>>8 + n<<5)
				op++
			} else {
				dst[op] = byte(off>>8 + 7<<5)
				dst[op+1] = byte(n - 7)
				op += 2
			}
			dst[op] = byte(off)
			op += 2 // and keep a byte for the next literal run
			lit = 0
			ip += n + 1
			if ip >= inEnd-2 {
				break
			}
			// index the last two positions of the match
			ip -= 2
			hval = uint32(src[ip])<<8 | uint32(src[ip+1])
			hval = hval<<8 | uint32(src[ip+2])
			t.ent[idx(hval)] = gen | uint64(ip+1)
			ip++
			hval = hval<<8 | uint32(src[ip+2])
			t.ent[idx(hval)] = gen | uint64(ip+1)
			ip++
			continue
		}
		if op >= outEnd {
			return 0
		}
		lit++
		dst[op] = src[ip]
		op++
		ip++
		if lit == redisLZFMaxLit {
			dst[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	if op+3 > outEnd {
		return 0
	}
	for ip < inEnd {
		lit++
		dst[op] = src[ip]
		op++
		ip++
		if lit == redisLZFMaxLit {
			dst[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	dst[op-lit-1] = byte(lit - 1)
	if lit == 0 {
		op--
	}
	return op
}
