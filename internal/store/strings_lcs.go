package store

// LCSMatch is one matching range reported by LCS IDX: A and B are the
// inclusive byte ranges in the first and second string.
type LCSMatch struct {
	AStart, AEnd, BStart, BEnd uint32
}

// Len is the length of the match.
func (m LCSMatch) Len() uint32 { return m.AEnd - m.AStart + 1 }

// LCSTableBytes is the size of the transient table LCS needs for strings
// of lengths la and lb (Redis refuses it above proto-max-bulk-len).
func LCSTableBytes(la, lb int) uint64 { return uint64(la+1) * uint64(lb+1) * 4 }

// LCSResult is what LCS computes.
type LCSResult struct {
	Len     uint32
	Str     []byte     // the subsequence, when requested
	Matches []LCSMatch // ranges from the end of the strings backwards, when requested
}

// LCS computes the longest common subsequence of a and b with the dynamic
// programming table Redis uses, walking it back from the end the same way
// so that ties resolve identically. wantStr asks for the subsequence,
// wantIdx for the matching ranges of at least minLen bytes (0: all).
func LCS(a, b []byte, wantStr, wantIdx bool, minLen int64) LCSResult {
	la, lb := len(a), len(b)
	w := lb + 1
	t := make([]uint32, (la+1)*w)
	for i := 1; i <= la; i++ {
		row, prev := t[i*w:(i+1)*w], t[(i-1)*w:i*w]
		ai := a[i-1]
		for j := 1; j <= lb; j++ {
			switch {
			case ai == b[j-1]:
				row[j] = prev[j-1] + 1
			case prev[j] > row[j-1]:
				row[j] = prev[j]
			default:
				row[j] = row[j-1]
			}
		}
	}
	res := LCSResult{Len: t[la*w+lb]}
	if !wantStr && !wantIdx {
		return res
	}
	idx := res.Len
	if wantStr {
		res.Str = make([]byte, idx)
	}
	unset := uint32(la)
	aStart, aEnd, bStart, bEnd := unset, uint32(0), uint32(0), uint32(0)
	i, j := la, lb
	for i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			if wantStr {
				res.Str[idx-1] = a[i-1]
			}
			if aStart == unset {
				aStart, aEnd = uint32(i-1), uint32(i-1)
				bStart, bEnd = uint32(j-1), uint32(j-1)
			} else if aStart == uint32(i) && bStart == uint32(j) {
				aStart--
				bStart--
			} else {
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if t[(i-1)*w+j] > t[i*w+j-1] {
				i--
			} else {
				j--
			}
			if aStart != unset {
				emit = true
			}
		}
		if emit {
			m := LCSMatch{AStart: aStart, AEnd: aEnd, BStart: bStart, BEnd: bEnd}
			if wantIdx && (minLen == 0 || int64(m.Len()) >= minLen) {
				res.Matches = append(res.Matches, m)
			}
			aStart = unset
		}
	}
	return res
}
