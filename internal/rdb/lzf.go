package rdb

// LZF is the compression format used by Redis for strings in RDB files and
// DUMP payloads. The stream is a sequence of chunks introduced by a control
// byte c:
//
//	c < 32:  literal run, the next c+1 bytes are copied as they are
//	c >= 32: back reference; length l = c>>5 (if l == 7 a further byte is
//	         added), offset = (c&31)<<8 | next byte; copy l+2 bytes starting
//	         offset+1 bytes before the current output position (the source
//	         may overlap the bytes being produced).

const (
	lzfMaxLiteral = 32      // longest literal run
	lzfMaxOffset  = 1 << 13 // farthest back reference distance
	lzfMaxMatch   = 264     // longest back reference (7 + 255 + 2)
	lzfMinMatch   = 3       // shortest back reference we emit
	lzfHashLog    = 14
	// lzfMaxRatio bounds the expansion of valid LZF data: a three byte back
	// reference produces at most 264 bytes.
	lzfMaxRatio = 88
)

// lzfDecompress expands src into dst, which must have exactly the
// uncompressed length. It fails (without panicking) on malformed input or
// when the output does not fill dst exactly.
func lzfDecompress(dst, src []byte) error {
	ip, op := 0, 0
	for ip < len(src) {
		ctrl := int(src[ip])
		ip++
		if ctrl < 32 {
			n := ctrl + 1
			if ip+n > len(src) {
				return corruptf("lzf: literal run past the end of the input")
			}
			if op+n > len(dst) {
				return corruptf("lzf: output longer than declared")
			}
			copy(dst[op:], src[ip:ip+n])
			ip += n
			op += n
			continue
		}
		n := ctrl >> 5
		if n == 7 {
			if ip >= len(src) {
				return corruptf("lzf: truncated back reference")
			}
			n += int(src[ip])
			ip++
		}
		if ip >= len(src) {
			return corruptf("lzf: truncated back reference")
		}
		ref := op - ((ctrl&0x1f)<<8 | int(src[ip])) - 1
		ip++
		n += 2
		if ref < 0 {
			return corruptf("lzf: back reference before the start of the output")
		}
		if op+n > len(dst) {
			return corruptf("lzf: output longer than declared")
		}
		if ref+n <= op {
			copy(dst[op:op+n], dst[ref:ref+n])
			op += n
		} else {
			for i := 0; i < n; i++ {
				dst[op] = dst[ref+i]
				op++
			}
		}
	}
	if op != len(dst) {
		return corruptf("lzf: output is %d bytes, expected %d", op, len(dst))
	}
	return nil
}

// lzfCompress compresses src into dst and returns the compressed length, or
// 0 when the result would not fit in len(dst) (Redis passes len(src)-4 so
// that only worthwhile compression is kept). htab is scratch space that is
// reset by the call.
func lzfCompress(dst, src []byte, htab *[1 << lzfHashLog]int32) int {
	if len(src) == 0 {
		return 0
	}
	// Size the hash table to the input: clearing a 64 KB table for every
	// short string would dominate the cost.
	bits := uint(8)
	for bits < lzfHashLog && 1<<bits < len(src) {
		bits++
	}
	tab := htab[:1<<bits]
	clear(tab)
	shift := 32 - bits
	op := 0
	lit := 0 // start of the pending literal bytes
	// flush writes src[lit:end] as literal runs.
	flush := func(end int) bool {
		for lit < end {
			n := end - lit
			if n > lzfMaxLiteral {
				n = lzfMaxLiteral
			}
			if op+1+n > len(dst) {
				return false
			}
			dst[op] = byte(n - 1)
			copy(dst[op+1:], src[lit:lit+n])
			op += 1 + n
			lit += n
		}
		return true
	}
	ip := 0
	for ip+lzfMinMatch <= len(src) {
		h := lzfHash(src[ip:]) >> shift
		ref := int(tab[h]) - 1
		tab[h] = int32(ip + 1)
		if ref >= 0 && ip-ref <= lzfMaxOffset &&
			src[ref] == src[ip] && src[ref+1] == src[ip+1] && src[ref+2] == src[ip+2] {
			max := len(src) - ip
			if max > lzfMaxMatch {
				max = lzfMaxMatch
			}
			n := lzfMinMatch
			for n < max && src[ref+n] == src[ip+n] {
				n++
			}
			if !flush(ip) {
				return 0
			}
			off := ip - ref - 1
			l := n - 2
			if l < 7 {
				if op+2 > len(dst) {
					return 0
				}
				dst[op] = byte(l<<5 | off>>8)
				dst[op+1] = byte(off)
				op += 2
			} else {
				if op+3 > len(dst) {
					return 0
				}
				dst[op] = byte(7<<5 | off>>8)
				dst[op+1] = byte(l - 7)
				dst[op+2] = byte(off)
				op += 3
			}
			// Index the positions covered by the match so later data can
			// refer to them.
			end := ip + n
			for p := ip + 1; p < end && p+lzfMinMatch <= len(src); p++ {
				tab[lzfHash(src[p:])>>shift] = int32(p + 1)
			}
			ip = end
			lit = ip
			continue
		}
		ip++
	}
	if !flush(len(src)) {
		return 0
	}
	return op
}

// lzfHash hashes the three bytes at the start of p (use the top bits).
func lzfHash(p []byte) uint32 {
	v := uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])
	return v * 2654435761
}
