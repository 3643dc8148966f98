package store

// zsmall is the compact encoding of small sorted sets (Redis's listpack):
// a sorted array of fixed-size entries pointing into one byte buffer that
// holds the members. Lookups by member scan linearly, like lpFind.
type zsmall struct {
	ents []zent
	data []byte // member bytes, in no particular order
}

// zent is one element: its score and where its member lives in data.
type zent struct {
	score float64
	off   uint32
	n     uint32
}

func (s *zsmall) len() int { return len(s.ents) }

// member returns the bytes of element i (valid until the next change).
func (s *zsmall) member(i int) []byte {
	e := &s.ents[i]
	return s.data[e.off : e.off+e.n : e.off+e.n]
}

// find returns the index of member m, -1 if absent.
func (s *zsmall) find(m []byte) int {
	ms := bstr(m)
	for i := range s.ents {
		e := &s.ents[i]
		if int(e.n) == len(m) && bstr(s.data[e.off:e.off+e.n]) == ms {
			return i
		}
	}
	return -1
}

// less reports whether element i sorts before (score, m).
func (s *zsmall) less(i int, score float64, m []byte) bool {
	e := &s.ents[i]
	if e.score != score {
		return e.score < score
	}
	return bstr(s.data[e.off:e.off+e.n]) < bstr(m)
}

// insertPos is the index where (score, m) belongs.
func (s *zsmall) insertPos(score float64, m []byte) int {
	lo, hi := 0, len(s.ents)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.less(mid, score, m) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// lpScore is the score as a listpack keeps it: Redis stores "-0" there
// as the integer 0, so negative zero does not survive.
func lpScore(f float64) float64 {
	if f == 0 {
		return 0
	}
	return f
}

// insert adds a member known to be absent and returns its index.
func (s *zsmall) insert(score float64, m []byte) int {
	score = lpScore(score)
	pos := s.insertPos(score, m)
	off := len(s.data)
	s.data = append(s.data, m...)
	s.ents = append(s.ents, zent{})
	copy(s.ents[pos+1:], s.ents[pos:])
	s.ents[pos] = zent{score: score, off: uint32(off), n: uint32(len(m))}
	return pos
}

// appendSorted adds an element that sorts after every present one.
func (s *zsmall) appendSorted(score float64, m []byte) {
	score = lpScore(score)
	off := len(s.data)
	s.data = append(s.data, m...)
	s.ents = append(s.ents, zent{score: score, off: uint32(off), n: uint32(len(m))})
}

// setScore changes the score of element i, moving it to keep the order.
func (s *zsmall) setScore(i int, score float64) {
	e := s.ents[i]
	score = lpScore(score)
	e.score = score
	copy(s.ents[i:], s.ents[i+1:])
	s.ents = s.ents[:len(s.ents)-1]
	pos := s.insertPos(score, s.data[e.off:e.off+e.n])
	s.ents = append(s.ents, zent{})
	copy(s.ents[pos+1:], s.ents[pos:])
	s.ents[pos] = e
}

// removeAt deletes element i.
func (s *zsmall) removeAt(i int) {
	e := s.ents[i]
	end := e.off + e.n
	copy(s.data[e.off:], s.data[end:])
	s.data = s.data[:uint32(len(s.data))-e.n]
	copy(s.ents[i:], s.ents[i+1:])
	s.ents = s.ents[:len(s.ents)-1]
	if e.n == 0 {
		return
	}
	for j := range s.ents {
		if s.ents[j].off >= end {
			s.ents[j].off -= e.n
		}
	}
}

// removeRange deletes elements [from, to) and compacts the member bytes.
func (s *zsmall) removeRange(from, to int) {
	if from >= to {
		return
	}
	if to-from == 1 {
		s.removeAt(from)
		return
	}
	s.ents = append(s.ents[:from], s.ents[to:]...)
	total := 0
	for i := range s.ents {
		total += int(s.ents[i].n)
	}
	data := make([]byte, 0, total)
	for i := range s.ents {
		e := &s.ents[i]
		off := len(data)
		data = append(data, s.data[e.off:e.off+e.n]...)
		e.off = uint32(off)
	}
	s.data = data
}

// dup returns a deep copy.
func (s *zsmall) dup() zsmall {
	return zsmall{
		ents: append([]zent(nil), s.ents...),
		data: append([]byte(nil), s.data...),
	}
}
