package store

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/redcluster/redcluster/internal/resp"
)

// Set is the value of a set key.
//
// A set whose members are all canonical integers (as Redis's string2ll
// reads them) and that has at most Limits.SetMaxIntsetEntries members uses the
// "intset" encoding: a sorted []int64, so it iterates in ascending order
// like Redis's intset. Any other set uses the "hashtable" encoding, a
// scanTable. The conversion is one-way.
type Set struct {
	ints []int64
	ht   *scanTable[struct{}]
}

// SetMember is one member as iteration hands it out: an integer of an
// intset (IsInt) or a string.
type SetMember struct {
	Str   string
	Int   int64
	IsInt bool
}

// String returns the member as a string.
func (m SetMember) String() string {
	if m.IsInt {
		return strconv.FormatInt(m.Int, 10)
	}
	return m.Str
}

// AppendTo appends the member's bytes to dst.
func (m SetMember) AppendTo(dst []byte) []byte {
	if m.IsInt {
		return strconv.AppendInt(dst, m.Int, 10)
	}
	return append(dst, m.Str...)
}

// NewSet returns an empty intset-encoded set (it converts itself when a
// non-integer member is added).
func NewSet() *Set { return &Set{} }

// Encoding is the OBJECT ENCODING name: "intset" or "hashtable".
func (s *Set) Encoding() string {
	if s.ht != nil {
		return "hashtable"
	}
	return "intset"
}

// Len returns the number of members.
func (s *Set) Len() int {
	if s.ht != nil {
		return s.ht.count
	}
	return len(s.ints)
}

// IsIntset reports whether the set uses the intset encoding.
func (s *Set) IsIntset() bool { return s.ht == nil }

// Add adds m (copied) and reports whether it was new.
func (s *Set) Add(m []byte, lim Limits) bool {
	if s.ht == nil {
		if n, ok := resp.ParseInt(m); ok {
			return s.addInt(n, lim)
		}
		s.toTable()
	}
	if s.ht.find(bstr(m)) != nil {
		return false
	}
	s.ht.insert(string(m), struct{}{})
	return true
}

// AddMember adds a member taken from another set and reports whether it was new.
func (s *Set) AddMember(m SetMember, lim Limits) bool {
	if !m.IsInt {
		if s.ht == nil {
			return s.Add(sbytes(m.Str), lim)
		}
		if s.ht.find(m.Str) != nil {
			return false
		}
		s.ht.insert(m.Str, struct{}{})
		return true
	}
	if s.ht == nil {
		return s.addInt(m.Int, lim)
	}
	var buf [20]byte
	b := strconv.AppendInt(buf[:0], m.Int, 10)
	if s.ht.find(bstr(b)) != nil {
		return false
	}
	s.ht.insert(string(b), struct{}{})
	return true
}

func (s *Set) addInt(n int64, lim Limits) bool {
	i, found := slices.BinarySearch(s.ints, n)
	if found {
		return false
	}
	s.ints = slices.Insert(s.ints, i, n)
	if len(s.ints) > lim.SetMaxIntsetEntries {
		s.toTable()
	}
	return true
}

// Remove deletes m and reports whether it was a member.
func (s *Set) Remove(m []byte) bool {
	if s.ht != nil {
		return s.ht.remove(bstr(m))
	}
	n, ok := resp.ParseInt(m)
	if !ok {
		return false
	}
	return s.removeInt(n)
}

func (s *Set) removeInt(n int64) bool {
	i, found := slices.BinarySearch(s.ints, n)
	if !found {
		return false
	}
	s.ints = slices.Delete(s.ints, i, i+1)
	switch {
	case len(s.ints) == 0:
		s.ints = nil
	case cap(s.ints) > 2*len(s.ints)+8:
		s.ints = slices.Clip(slices.Clone(s.ints))
	}
	return true
}

// RemoveMember deletes a member handed out by iteration.
func (s *Set) RemoveMember(m SetMember) bool {
	if m.IsInt && s.ht == nil {
		return s.removeInt(m.Int)
	}
	if !m.IsInt {
		return s.Remove(sbytes(m.Str))
	}
	var buf [20]byte
	return s.Remove(strconv.AppendInt(buf[:0], m.Int, 10))
}

// Has reports whether m is a member.
func (s *Set) Has(m []byte) bool {
	if s.ht != nil {
		return s.ht.find(bstr(m)) != nil
	}
	n, ok := resp.ParseInt(m)
	if !ok {
		return false
	}
	_, found := slices.BinarySearch(s.ints, n)
	return found
}

// HasMember reports whether a member handed out by another set's iteration
// is a member of s.
func (s *Set) HasMember(m SetMember) bool {
	if !m.IsInt {
		return s.Has(sbytes(m.Str))
	}
	if s.ht == nil {
		_, found := slices.BinarySearch(s.ints, m.Int)
		return found
	}
	var buf [20]byte
	return s.ht.find(bstr(strconv.AppendInt(buf[:0], m.Int, 10))) != nil
}

// Ints returns the members of an intset in ascending order (nil for a
// hashtable). The slice must not be modified.
func (s *Set) Ints() []int64 { return s.ints }

// ForEach calls fn for every member (intset: ascending) until fn returns
// false. fn must not modify the set.
func (s *Set) ForEach(fn func(m SetMember) bool) {
	if s.ht != nil {
		s.ht.each(func(e *tableEntry[struct{}]) bool {
			return fn(SetMember{Str: e.key})
		})
		return
	}
	for _, n := range s.ints {
		if !fn(SetMember{Int: n, IsInt: true}) {
			return
		}
	}
}

// Scan is one SSCAN step: an intset returns every member and cursor 0; a
// hashtable visits buckets in Redis's dictScan order until about count
// members were found or 10*count buckets tried.
func (s *Set) Scan(cursor uint64, count int, fn func(m SetMember)) uint64 {
	if s.ht == nil {
		for _, n := range s.ints {
			fn(SetMember{Int: n, IsInt: true})
		}
		return 0
	}
	if count > 1<<40 {
		count = 1 << 40
	}
	maxIter := count * 10
	found := 0
	for {
		cursor = s.ht.scanStep(cursor, func(e *tableEntry[struct{}]) {
			fn(SetMember{Str: e.key})
			found++
		})
		if cursor == 0 || maxIter == 0 {
			return cursor
		}
		maxIter--
		if found >= count {
			return cursor
		}
	}
}

// Random returns a random member of a non-empty set.
func (s *Set) Random() SetMember {
	if s.ht != nil {
		return SetMember{Str: s.ht.random().key}
	}
	return SetMember{Int: s.ints[rand.IntN(len(s.ints))], IsInt: true}
}

// Pop removes and returns a random member of a non-empty set.
func (s *Set) Pop() SetMember {
	m := s.Random()
	s.RemoveMember(m)
	return m
}

// DistinctMembers calls fn for count distinct random members; count must be
// smaller than Len (SRANDMEMBER with a positive count).
func (s *Set) DistinctMembers(count int, fn func(m SetMember)) {
	size := s.Len()
	if count*3 > size {
		all := make([]SetMember, 0, size)
		s.ForEach(func(m SetMember) bool {
			all = append(all, m)
			return true
		})
		for i := 0; i < count && i < len(all); i++ {
			j := i + rand.IntN(len(all)-i)
			all[i], all[j] = all[j], all[i]
			fn(all[i])
		}
		return
	}
	seen := make(map[SetMember]struct{}, count)
	for len(seen) < count {
		m := s.Random()
		if _, dup := seen[m]; dup {
			continue
		}
		seen[m] = struct{}{}
		fn(m)
	}
}

// Dup returns a deep copy with the same encoding (COPY).
func (s *Set) Dup() any {
	if s.ht == nil {
		return &Set{ints: slices.Clone(s.ints)}
	}
	t := newScanTable[struct{}](s.ht.count)
	s.ht.each(func(e *tableEntry[struct{}]) bool {
		t.insert(e.key, struct{}{})
		return true
	})
	return &Set{ht: t}
}

func (s *Set) toTable() {
	t := newScanTable[struct{}](len(s.ints))
	for _, n := range s.ints {
		t.insert(strconv.FormatInt(n, 10), struct{}{})
	}
	s.ints = nil
	s.ht = t
}

// SetInter calls fn for each member of the intersection of sets (none nil)
// until fn returns false. Like Redis it walks the smallest set (the first
// of equal-sized ones), so an intset yields ascending order.
func SetInter(sets []*Set, fn func(m SetMember) bool) {
	if len(sets) == 0 {
		return
	}
	sorted := slices.Clone(sets)
	slices.SortStableFunc(sorted, func(a, b *Set) int { return cmp.Compare(a.Len(), b.Len()) })
	first := sorted[0]
	first.ForEach(func(m SetMember) bool {
		for _, o := range sorted[1:] {
			if o != first && !o.HasMember(m) {
				return true
			}
		}
		return fn(m)
	})
}

// SetUnion returns the union of sets (nil ones count as empty), built like
// Redis: an intset while every member is an integer.
func SetUnion(sets []*Set, lim Limits) *Set {
	dst := NewSet()
	for _, s := range sets {
		if s == nil {
			continue
		}
		s.ForEach(func(m SetMember) bool {
			dst.AddMember(m, lim)
			return true
		})
	}
	return dst
}

// SetDiff returns the members of sets[0] that are in none of the other
// sets (nil ones count as empty).
func SetDiff(sets []*Set, lim Limits) *Set {
	dst := NewSet()
	if len(sets) == 0 || sets[0] == nil {
		return dst
	}
	first := sets[0]
	for _, o := range sets[1:] {
		if o == first {
			return dst
		}
	}
	first.ForEach(func(m SetMember) bool {
		for _, o := range sets[1:] {
			if o != nil && o.HasMember(m) {
				return true
			}
		}
		dst.AddMember(m, lim)
		return true
	})
	return dst
}
