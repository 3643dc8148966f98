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
