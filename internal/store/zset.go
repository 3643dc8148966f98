package store

import (
	"hash/maphash"
	"math"
	"math/rand/v2"
	"unsafe"
)

// Sorted set encoding thresholds (zset-max-listpack-entries and
// zset-max-listpack-value, Redis 7.0 defaults).
const (
	ZSetMaxListpackEntries = 128
	ZSetMaxListpackValue   = 64
)

// ZSetLimits are the thresholds of the compact encoding, as configured.
type ZSetLimits struct {
	MaxListpackEntries int // zset-max-listpack-entries
	MaxListpackValue   int // zset-max-listpack-value
}

// DefaultZSetLimits returns Redis 7.0's default thresholds.
func DefaultZSetLimits() ZSetLimits {
	return ZSetLimits{MaxListpackEntries: ZSetMaxListpackEntries, MaxListpackValue: ZSetMaxListpackValue}
}

// fits reports whether n members, the longest maxLen bytes, stay compact.
func (l ZSetLimits) fits(n, maxLen int) bool {
	return n <= l.MaxListpackEntries && maxLen <= l.MaxListpackValue
}

// ZSet is a sorted set: members ordered by score, then by member bytes.
// Small sets use a compact sorted array ("listpack"); past the thresholds
// they convert, for good, to a skiplist plus a member dictionary
// ("skiplist").
type ZSet struct {
	small zsmall
	big   *zbig
}

type zbig struct {
	sl    zskiplist
	d     zdict
	bytes int // total length of the members
}

// ZADD input flags.
const (
	ZAddNX = 1 << iota
	ZAddXX
	ZAddGT
	ZAddLT
	ZAddIncr
)

// ZADD outcome flags.
const (
	ZAddNaN     = 1 << iota // the resulting score would be NaN: nothing changed
	ZAddAdded               // a new member was added
	ZAddUpdated             // an existing member got a new score
	ZAddNop                 // nothing done because of NX, XX, GT or LT
)

// NewZSet returns an empty sorted set in the compact encoding.
func NewZSet() *ZSet { return &ZSet{} }

// NewZSetFor returns an empty sorted set in the encoding ZADD creates for
// a first member of length firstLen: a skiplist right away when the
// listpack holds no entries or the member is longer than its value limit.
func NewZSetFor(firstLen int, lim ZSetLimits) *ZSet {
	if lim.MaxListpackEntries == 0 || firstLen > lim.MaxListpackValue {
		return newBigZSet(0)
	}
	return &ZSet{}
}

func newBigZSet(hint int) *ZSet {
	return &ZSet{big: &zbig{sl: newZSkiplist(), d: newZDict(hint)}}
}

func zhash(m []byte) uint64 { return maphash.Bytes(zsetSeed, m) }

// Len returns the number of members.
func (z *ZSet) Len() int {
	if z.big != nil {
		return z.big.sl.length
	}
	return len(z.small.ents)
}

// Encoding returns the OBJECT ENCODING name.
func (z *ZSet) Encoding() string {
	if z.big != nil {
		return "skiplist"
	}
	return "listpack"
}

// IsCompact reports whether the set uses the compact (listpack) encoding.
func (z *ZSet) IsCompact() bool { return z.big == nil }

// convert moves a compact set to the skiplist encoding.
func (z *ZSet) convert() {
	n := len(z.small.ents)
	b := &zbig{sl: newZSkiplist(), d: newZDict(n)}
	for i := n - 1; i >= 0; i-- {
		b.insertNew(string(z.small.member(i)), z.small.ents[i].score)
	}
	z.big = b
	z.small = zsmall{}
}

// insertNew adds a member known to be absent.
func (b *zbig) insertNew(member string, score float64) *znode {
	x := newZNode(zslRandomLevel())
	x.member = member
	x.score = score
	x.hash = uint32(maphash.String(zsetSeed, member))
	b.sl.insertNode(x)
	b.d.add(x)
	b.bytes += len(member)
	return x
}

func (b *zbig) find(m []byte) *znode { return b.d.find(bstr(m), zhash(m)) }

func (b *zbig) drop(x *znode) {
	b.d.remove(x)
	b.bytes -= len(x.member)
}

// Score returns the score of member m.
func (z *ZSet) Score(m []byte) (float64, bool) {
	if z.big != nil {
		if x := z.big.find(m); x != nil {
			return x.score, true
		}
		return 0, false
	}
	if i := z.small.find(m); i >= 0 {
		return z.small.ents[i].score, true
	}
	return 0, false
}

// Add implements zsetAdd: it adds member m with score, or updates it, as
// the ZAdd* flags say. It returns the resulting score (meaningful when
// the outcome has ZAddAdded, ZAddUpdated or neither NaN nor Nop) and the
// ZADD outcome flags. m is copied when stored. A compact set converts to
// a skiplist when the new member would break lim (lim is not read for a
// skiplist-encoded set).
func (z *ZSet) Add(m []byte, score float64, flags int, lim ZSetLimits) (float64, int) {
	if math.IsNaN(score) {
		return 0, ZAddNaN
	}
	if z.big == nil {
		i := z.small.find(m)
		if i >= 0 {
			cur := z.small.ents[i].score
			ns, out := addExisting(cur, score, flags)
			if out&ZAddUpdated != 0 {
				z.small.setScore(i, ns)
			}
			return ns, out
		}
		if flags&ZAddXX != 0 {
			return 0, ZAddNop
		}
		if lim.fits(len(z.small.ents)+1, len(m)) {
			z.small.insert(score, m)
			return score, ZAddAdded
		}
		z.convert()
	}
	b := z.big
	h := zhash(m)
	if x := b.d.find(bstr(m), h); x != nil {
		ns, out := addExisting(x.score, score, flags)
		if out&ZAddUpdated != 0 {
			b.sl.updateScore(x, ns)
		}
		return ns, out
	}
	if flags&ZAddXX != 0 {
		return 0, ZAddNop
	}
	x := newZNode(zslRandomLevel())
	x.member = string(m)
	x.score = score
	x.hash = uint32(h)
	b.sl.insertNode(x)
	b.d.add(x)
	b.bytes += len(m)
	return score, ZAddAdded
}

// addExisting decides the fate of a member already present with score cur.
func addExisting(cur, score float64, flags int) (float64, int) {
	if flags&ZAddNX != 0 {
		return cur, ZAddNop
	}
	if flags&ZAddIncr != 0 {
		score += cur
		if math.IsNaN(score) {
			return 0, ZAddNaN
		}
	}
	if (flags&ZAddLT != 0 && score >= cur) || (flags&ZAddGT != 0 && score <= cur) {
		return cur, ZAddNop
	}
	if score != cur {
		return score, ZAddUpdated
	}
	return score, 0
}

// Remove deletes member m and reports whether it was present.
func (z *ZSet) Remove(m []byte) bool {
	if z.big != nil {
		x := z.big.find(m)
		if x == nil {
			return false
		}
		z.big.sl.remove(x)
		z.big.drop(x)
		z.big.d.maybeShrink()
		return true
	}
	i := z.small.find(m)
	if i < 0 {
		return false
	}
	z.small.removeAt(i)
	return true
}

// Rank returns the 0-based rank of member m, from the highest score when
// rev is set.
func (z *ZSet) Rank(m []byte, rev bool) (int, bool) {
	n := z.Len()
	var r int
	if z.big != nil {
		x := z.big.find(m)
		if x == nil {
			return 0, false
		}
		r = z.big.sl.rank(x) - 1
	} else {
		r = z.small.find(m)
		if r < 0 {
			return 0, false
		}
	}
	if rev {
		r = n - 1 - r
	}
	return r, true
}

// ZIter walks a sorted set forwards or backwards. It is invalidated by any
// change to the set.
type ZIter struct {
	z   *ZSet
	i   int
	n   *znode
	rev bool
}

// Valid reports whether the iterator is on an element.
func (it *ZIter) Valid() bool {
	if it.z == nil {
		return false
	}
	if it.z.big != nil {
		return it.n != nil
	}
	return it.i >= 0 && it.i < len(it.z.small.ents)
}

// Member returns the current member. The bytes belong to the set: do not
// modify or keep them past a change to the set.
func (it *ZIter) Member() []byte {
	if it.z.big != nil {
		return sbytes(it.n.member)
	}
	return it.z.small.member(it.i)
}

// Score returns the current score.
func (it *ZIter) Score() float64 {
	if it.z.big != nil {
		return it.n.score
	}
	return it.z.small.ents[it.i].score
}

// Next moves one element in the iteration direction.
func (it *ZIter) Next() {
	if it.z.big != nil {
		if it.rev {
			it.n = it.n.back
		} else {
			it.n = it.n.lvl(0).next
		}
		return
	}
	if it.rev {
		it.i--
	} else {
		it.i++
	}
}

// IterAt returns an iterator on the element of 0-based (ascending) rank r,
// moving towards lower ranks when rev is set. It is invalid when r is out
// of range.
func (z *ZSet) IterAt(r int, rev bool) ZIter {
	it := ZIter{z: z, i: r, rev: rev}
	if z.big != nil {
		switch {
		case r == 0:
			it.n = z.big.sl.first()
		case r == z.big.sl.length-1:
			it.n = z.big.sl.tail
		default:
			it.n = z.big.sl.byRank(r + 1)
		}
	}
	return it
}

// IterScore returns an iterator on the first element inside r (the last
// one when rev is set), invalid when none is.
func (z *ZSet) IterScore(r *ScoreRange, rev bool) ZIter {
	it := ZIter{z: z, i: -1, rev: rev}
	if z.big != nil {
		if rev {
			it.n = z.big.sl.lastInScore(r)
		} else {
			it.n = z.big.sl.firstInScore(r)
		}
		return it
	}
	s := &z.small
	n := len(s.ents)
	if n == 0 || r.empty() || !r.GteMin(s.ents[n-1].score) || !r.LteMax(s.ents[0].score) {
		return it
	}
	if rev {
		for i := n - 1; i >= 0; i-- {
			if sc := s.ents[i].score; r.LteMax(sc) {
				if r.GteMin(sc) {
					it.i = i
				}
				return it
			}
		}
		return it
	}
	for i := 0; i < n; i++ {
		if sc := s.ents[i].score; r.GteMin(sc) {
			if r.LteMax(sc) {
				it.i = i
			}
			return it
		}
	}
	return it
}

// IterLex returns an iterator on the first element inside the lex range
// r (the last one when rev is set), invalid when none is.
func (z *ZSet) IterLex(r *LexRange, rev bool) ZIter {
	it := ZIter{z: z, i: -1, rev: rev}
	if z.big != nil {
		if rev {
			it.n = z.big.sl.lastInLex(r)
		} else {
			it.n = z.big.sl.firstInLex(r)
		}
		return it
	}
	s := &z.small
	n := len(s.ents)
	if n == 0 || r.empty() || !r.GteMin(s.member(n-1)) || !r.LteMax(s.member(0)) {
		return it
	}
	if rev {
		for i := n - 1; i >= 0; i-- {
			if m := s.member(i); r.LteMax(m) {
				if r.GteMin(m) {
					it.i = i
				}
				return it
			}
		}
		return it
	}
	for i := 0; i < n; i++ {
		if m := s.member(i); r.GteMin(m) {
			if r.LteMax(m) {
				it.i = i
			}
			return it
		}
	}
	return it
}

// RankOf returns the 0-based ascending rank of the iterator's element.
func (it *ZIter) RankOf() int {
	if it.z.big != nil {
		return it.z.big.sl.rank(it.n) - 1
	}
	return it.i
}

// CountScore returns the number of members whose score is inside r.
func (z *ZSet) CountScore(r *ScoreRange) int {
	first := z.IterScore(r, false)
	if !first.Valid() {
		return 0
	}
	last := z.IterScore(r, true)
	if !last.Valid() {
		return z.Len() - first.RankOf()
	}
	return last.RankOf() - first.RankOf() + 1
}

// CountLex returns the number of members inside the lex range r.
func (z *ZSet) CountLex(r *LexRange) int {
	if z.big == nil {
		// Mirror the listpack walk: from the first member in range,
		// count while members stay at or below max.
		it := z.IterLex(r, false)
		n := 0
		for ; it.Valid() && r.LteMax(it.Member()); it.Next() {
			n++
		}
		return n
	}
	first := z.IterLex(r, false)
	if !first.Valid() {
		return 0
	}
	last := z.IterLex(r, true)
	if !last.Valid() {
		return z.Len() - first.RankOf()
	}
	return last.RankOf() - first.RankOf() + 1
}

// RemoveRank deletes the members of 0-based ranks start..end (inclusive,
// already clamped to the set) and returns how many went.
func (z *ZSet) RemoveRank(start, end int) int {
	if start > end {
		return 0
	}
	if z.big != nil {
		n := z.big.sl.deleteRank(start+1, end+1, z.big.drop)
		z.big.d.maybeShrink()
		return n
	}
	z.small.removeRange(start, end+1)
	return end - start + 1
}

// RemoveScore deletes the members whose score is inside r.
func (z *ZSet) RemoveScore(r *ScoreRange) int {
	if z.big != nil {
		n := z.big.sl.deleteWhile(
			func(x *znode) bool { return !r.GteMin(x.score) },
			func(x *znode) bool { return r.LteMax(x.score) },
			z.big.drop)
		z.big.d.maybeShrink()
		return n
	}
	it := z.IterScore(r, false)
	if !it.Valid() {
		return 0
	}
	end := it.i
	for end < len(z.small.ents) && r.LteMax(z.small.ents[end].score) {
		end++
	}
	z.small.removeRange(it.i, end)
	return end - it.i
}

// RemoveLex deletes the members inside the lex range r.
func (z *ZSet) RemoveLex(r *LexRange) int {
	if z.big != nil {
		n := z.big.sl.deleteWhile(
			func(x *znode) bool { return !r.GteMin(sbytes(x.member)) },
			func(x *znode) bool { return r.LteMax(sbytes(x.member)) },
			z.big.drop)
		z.big.d.maybeShrink()
		return n
	}
	it := z.IterLex(r, false)
	if !it.Valid() {
		return 0
	}
	end := it.i
	for end < len(z.small.ents) && r.LteMax(z.small.member(end)) {
		end++
	}
	z.small.removeRange(it.i, end)
	return end - it.i
}

// Random returns a uniformly chosen element of a non-empty set.
func (z *ZSet) Random() ([]byte, float64) {
	it := z.IterAt(rand.IntN(z.Len()), false)
	return it.Member(), it.Score()
}

// ForEach calls fn for every element in ascending order until fn returns
// false. fn must not change the set.
func (z *ZSet) ForEach(fn func(member []byte, score float64) bool) {
	for it := z.IterAt(0, false); it.Valid(); it.Next() {
		if !fn(it.Member(), it.Score()) {
			return
		}
	}
}

// Scan visits the dictionary bucket cursor designates in a skiplist-encoded
// set and returns the next cursor (0 once every bucket was visited), with
// Redis's dictScan guarantees. A compact set is visited whole, returning 0.
func (z *ZSet) Scan(cursor uint64, fn func(member []byte, score float64)) uint64 {
	if z.big == nil {
		for i := range z.small.ents {
			fn(z.small.member(i), z.small.ents[i].score)
		}
		return 0
	}
	return z.big.d.scan(cursor, func(x *znode) { fn(sbytes(x.member), x.score) })
}

// MemoryUsage estimates the heap bytes the set occupies.
func (z *ZSet) MemoryUsage() int64 {
	if z.big == nil {
		return int64(48 + cap(z.small.ents)*int(unsafe.Sizeof(zent{})) + cap(z.small.data))
	}
	b := z.big
	n := int64(b.sl.length)
	// a node with 4/3 levels on average, its member and its bucket slot
	perNode := int64(znodeSize) + 4*int64(zlevelSize)/3 + 8
	buckets := int64(len(b.d.t[0])+len(b.d.t[1])) * 8
	return 64 + n*perNode + int64(b.bytes) + buckets
}

// Dup returns a deep copy with the same encoding (COPY).
func (z *ZSet) Dup() any {
	if z.big == nil {
		return &ZSet{small: z.small.dup()}
	}
	c := newBigZSet(z.Len())
	for x := z.big.sl.tail; x != nil; x = x.back {
		c.big.insertNew(x.member, x.score)
	}
	return c
}

// ZPair is a member with its score.
type ZPair struct {
	Member string
	Score  float64
}

// NewZSetFromSorted builds a set from distinct pairs already in set order
// (score, then member), choosing the encoding a store command would end
// with: compact when within both listpack thresholds.
func NewZSetFromSorted(pairs []ZPair, lim ZSetLimits) *ZSet {
	maxLen := 0
	for i := range pairs {
		if len(pairs[i].Member) > maxLen {
			maxLen = len(pairs[i].Member)
		}
	}
	if lim.fits(len(pairs), maxLen) {
		z := &ZSet{}
		total := 0
		for i := range pairs {
			total += len(pairs[i].Member)
		}
		z.small.ents = make([]zent, 0, len(pairs))
		z.small.data = make([]byte, 0, total)
		for i := range pairs {
			z.small.appendSorted(pairs[i].Score, sbytes(pairs[i].Member))
		}
		return z
	}
	z := newBigZSet(len(pairs))
	for i := len(pairs) - 1; i >= 0; i-- {
		z.big.insertNew(pairs[i].Member, pairs[i].Score)
	}
	return z
}

// ComparePairs orders pairs as a sorted set does.
func ComparePairs(a, b *ZPair) int {
	switch {
	case a.Score < b.Score:
		return -1
	case a.Score > b.Score:
		return 1
	case a.Member < b.Member:
		return -1
	case a.Member > b.Member:
		return 1
	}
	return 0
}
