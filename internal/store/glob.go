package store

// GlobMatch reports whether s matches the glob pattern the way Redis 7.0's
// stringmatchlen does (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET): '*' any
// run of bytes, '?' one byte, "[abc]", "[^abc]", "[a-z]" classes and '\'
// escapes. nocase folds ASCII letters only. Bytes past the end of the
// pattern read as NUL, reproducing Redis's behaviour on malformed patterns
// such as a trailing '[' or '\'.
func GlobMatch(pattern, s []byte, nocase bool) bool {
	skipLonger := false
	return globMatch(pattern, 0, s, nocase, &skipLonger, 0)
}

// globNestingLimit bounds the recursion of '*' like Redis (abusive patterns
// simply do not match).
const globNestingLimit = 1000

func lowerASCII(c int) int {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// globMatch matches pattern[pi:] against s. pattern is kept whole so that
// reads past its end behave like reading the C string's terminator.
func globMatch(pattern []byte, pi int, s []byte, nocase bool, skipLonger *bool, nesting int) bool {
	if nesting > globNestingLimit {
		return false
	}
	n := len(pattern)
	at := func(i int) int { // signed char semantics, NUL past the end
		if i < 0 || i >= n {
			return 0
		}
		return int(int8(pattern[i]))
	}
	si := 0
	for n-pi > 0 && len(s)-si > 0 {
		switch pattern[pi] {
		case '*':
			for n-pi > 0 && at(pi+1) == '*' {
				pi++
			}
			if n-pi == 1 {
				return true
			}
			for len(s)-si > 0 {
				if globMatch(pattern, pi+1, s[si:], nocase, skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				si++
			}
			*skipLonger = true
			return false
		case '?':
			si++
		case '[':
			pi++
			not := at(pi) == '^'
			if not {
				pi++
			}
			match := false
			c := int(int8(s[si]))
			for {
				if at(pi) == '\\' && n-pi >= 2 {
					pi++
					if at(pi) == c {
						match = true
					}
				} else if at(pi) == ']' {
					break
				} else if n-pi == 0 {
					pi--
					break
				} else if n-pi >= 3 && at(pi+1) == '-' {
					start, end, cc := at(pi), at(pi+2), c
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, cc = lowerASCII(start), lowerASCII(end), lowerASCII(cc)
					}
					pi += 2
					if cc >= start && cc <= end {
						match = true
					}
				} else if nocase {
					if lowerASCII(at(pi)) == lowerASCII(c) {
						match = true
					}
				} else if at(pi) == c {
					match = true
				}
				pi++
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			si++
		default:
			if pattern[pi] == '\\' && n-pi >= 2 {
				pi++
			}
			pc, c := at(pi), int(int8(s[si]))
			if nocase {
				pc, c = lowerASCII(pc), lowerASCII(c)
			}
			if pc != c {
				return false
			}
			si++
		}
		pi++
		if len(s)-si == 0 {
			for at(pi) == '*' {
				pi++
			}
			break
		}
	}
	return n-pi == 0 && len(s)-si == 0
}
