package store

import (
	"math/rand/v2"
	"unsafe"
)

// zslMaxLevel bounds the tower height (ZSKIPLIST_MAXLEVEL); one level in
// four is promoted (ZSKIPLIST_P = 0.25).
const zslMaxLevel = 32

// zlevel is one forward link of a node and the number of elements it skips.
type zlevel struct {
	next *znode
	span int
}

// znode is an element of a large sorted set: a skiplist node that is also
// the entry of the member dictionary (hnext, hash). Its level array is
// allocated right after it, so that the score and the first links share
// a cache line during searches; lvl reaches into it.
type znode struct {
	member string
	hnext  *znode
	hash   uint32
	level  uint32
	back   *znode
	score  float64
}

const (
	znodeSize  = unsafe.Sizeof(znode{})
	zlevelSize = unsafe.Sizeof(zlevel{})
)

// znodeWith is the allocation of a node and its level array L.
type znodeWith[L any] struct {
	n znode
	l L
}

func allocZNode[L any]() *znode {
	x := new(znodeWith[L])
	if unsafe.Offsetof(x.l) != znodeSize {
		panic("store: unexpected skiplist node layout")
	}
	return &x.n
}

// lvl returns level i of the node (i < n.level).
func (n *znode) lvl(i int) *zlevel {
	return (*zlevel)(unsafe.Add(unsafe.Pointer(n), znodeSize+uintptr(i)*zlevelSize))
}

// newZNode allocates a node of the given height together with its levels.
func newZNode(level int) *znode {
	var n *znode
	switch {
	case level == 1:
		n = allocZNode[[1]zlevel]()
	case level == 2:
		n = allocZNode[[2]zlevel]()
	case level == 3:
		n = allocZNode[[3]zlevel]()
	case level == 4:
		n = allocZNode[[4]zlevel]()
	case level <= 8:
		n = allocZNode[[8]zlevel]()
	case level <= 16:
		n = allocZNode[[16]zlevel]()
	default:
		n = allocZNode[[zslMaxLevel]zlevel]()
	}
	n.level = uint32(level)
	return n
}

func zslRandomLevel() int {
	level := 1
	r := rand.Uint64()
	for r&3 == 0 && level < zslMaxLevel {
		level++
		r >>= 2
	}
	return level
}

// zskiplist orders nodes by (score, member) and keeps spans for ranks.
type zskiplist struct {
	head   *znode
	tail   *znode
	length int
	level  int
}

func newZSkiplist() zskiplist {
	return zskiplist{head: newZNode(zslMaxLevel), level: 1}
}

// nodeLess reports whether x sorts before (score, member).
func nodeLess(x *znode, score float64, member string) bool {
	return x.score < score || (x.score == score && x.member < member)
}

// insertNode links x (score and member set, levels sized) into the list.
func (sl *zskiplist) insertNode(x *znode) {
	var update [zslMaxLevel]*znode
	var rank [zslMaxLevel]int
	h := sl.head
	for i := sl.level - 1; i >= 0; i-- {
		if i < sl.level-1 {
			rank[i] = rank[i+1]
		}
		for n := h.lvl(i).next; n != nil && nodeLess(n, x.score, x.member); n = h.lvl(i).next {
			rank[i] += h.lvl(i).span
			h = n
		}
		update[i] = h
	}
	level := int(x.level)
	if level > sl.level {
		for i := sl.level; i < level; i++ {
			rank[i] = 0
			update[i] = sl.head
			sl.head.lvl(i).span = sl.length
		}
		sl.level = level
	}
	for i := 0; i < level; i++ {
		x.lvl(i).next = update[i].lvl(i).next
		update[i].lvl(i).next = x
		x.lvl(i).span = update[i].lvl(i).span - (rank[0] - rank[i])
		update[i].lvl(i).span = rank[0] - rank[i] + 1
	}
	for i := level; i < sl.level; i++ {
		update[i].lvl(i).span++
	}
	if update[0] == sl.head {
		x.back = nil
	} else {
		x.back = update[0]
	}
	if x.lvl(0).next != nil {
		x.lvl(0).next.back = x
	} else {
		sl.tail = x
	}
	sl.length++
}

// unlink removes x given, per level, its predecessor (or the node whose
// link passes over it).
func (sl *zskiplist) unlink(x *znode, update *[zslMaxLevel]*znode) {
	for i := 0; i < sl.level; i++ {
		if update[i].lvl(i).next == x {
			update[i].lvl(i).span += x.lvl(i).span - 1
			update[i].lvl(i).next = x.lvl(i).next
		} else {
			update[i].lvl(i).span--
		}
	}
	if x.lvl(0).next != nil {
		x.lvl(0).next.back = x.back
	} else {
		sl.tail = x.back
	}
	for sl.level > 1 && sl.head.lvl(sl.level-1).next == nil {
		sl.level--
	}
	sl.length--
}

// predecessors fills update with, per level, the last node before x.
func (sl *zskiplist) predecessors(x *znode, update *[zslMaxLevel]*znode) {
	h := sl.head
	for i := sl.level - 1; i >= 0; i-- {
		for n := h.lvl(i).next; n != nil && n != x && nodeLess(n, x.score, x.member); n = h.lvl(i).next {
			h = n
		}
		update[i] = h
	}
}

// remove unlinks node x, which must be in the list.
func (sl *zskiplist) remove(x *znode) {
	var update [zslMaxLevel]*znode
	sl.predecessors(x, &update)
	sl.unlink(x, &update)
}

// updateScore moves x to its place for a new score, in place when the
// order does not change.
func (sl *zskiplist) updateScore(x *znode, score float64) {
	if (x.back == nil || x.back.score < score) && (x.lvl(0).next == nil || x.lvl(0).next.score > score) {
		x.score = score
		return
	}
	sl.remove(x)
	x.score = score
	sl.insertNode(x)
}

// rank returns the 1-based rank of x.
func (sl *zskiplist) rank(x *znode) int {
	r := 0
	h := sl.head
	for i := sl.level - 1; i >= 0; i-- {
		for n := h.lvl(i).next; n != nil && (n == x || nodeLess(n, x.score, x.member)); n = h.lvl(i).next {
			r += h.lvl(i).span
			h = n
		}
		if h == x {
			return r
		}
	}
	return 0
}

// byRank returns the node of 1-based rank r, nil when out of range.
func (sl *zskiplist) byRank(r int) *znode {
	if r < 1 || r > sl.length {
		return nil
	}
	traversed := 0
	h := sl.head
	for i := sl.level - 1; i >= 0; i-- {
		for h.lvl(i).next != nil && traversed+h.lvl(i).span <= r {
			traversed += h.lvl(i).span
			h = h.lvl(i).next
		}
		if traversed == r {
			return h
		}
	}
	return nil
}

func (sl *zskiplist) first() *znode { return sl.head.lvl(0).next }

// firstInScore returns the first node inside r, nil if none.
func (sl *zskiplist) firstInScore(r *ScoreRange) *znode {
	if r.empty() || sl.tail == nil || !r.GteMin(sl.tail.score) || !r.LteMax(sl.first().score) {
		return nil
	}
	h := sl.head
	for i := sl.level - 1; i >= 0; i-- {
		for n := h.lvl(i).next; n != nil && !r.GteMin(n.score); n = h.lvl(i).next {
			h = n
		}
	}
	x := h.lvl(0).next
	if x == nil || !r.LteMax(x.score) {
		return nil
	}
	return x
}

// lastInScore returns the last node inside r, nil if none.
func (sl *zskiplist) lastInScore(r *ScoreRange) *znode {
	if r.empty() || sl.tail == nil || !r.GteMin(sl.tail.score) || !r.LteMax(sl.first().score) {
		return nil
	}
	h := sl.head
	for i := sl.level - 1; i >= 0; i-- {
		for n := h.lvl(i).next; n != nil && r.LteMax(n.score); n = h.lvl(i).next {
			h = n
		}
	}
	if h == sl.head || !r.GteMin(h.score) {
		return nil
	}
	return h
}

// firstInLex returns the first node inside r, nil if none.
func (sl *zskiplist) firstInLex(r *LexRange) *znode {
	if r.empty() || sl.tail == nil || !r.GteMin(sbytes(sl.tail.member)) || !r.LteMax(sbytes(sl.first().member)) {
		return nil
	}
	h := sl.head
	for i := sl.level - 1; i >= 0; i-- {
		for n := h.lvl(i).next; n != nil && !r.GteMin(sbytes(n.member)); n = h.lvl(i).next {
			h = n
		}
	}
	x := h.lvl(0).next
	if x == nil || !r.LteMax(sbytes(x.member)) {
		return nil
	}
	return x
}

// lastInLex returns the last node inside r, nil if none.
func (sl *zskiplist) lastInLex(r *LexRange) *znode {
	if r.empty() || sl.tail == nil || !r.GteMin(sbytes(sl.tail.member)) || !r.LteMax(sbytes(sl.first().member)) {
		return nil
	}
	h := sl.head
	for i := sl.level - 1; i >= 0; i-- {
		for n := h.lvl(i).next; n != nil && r.LteMax(sbytes(n.member)); n = h.lvl(i).next {
			h = n
		}
	}
	if h == sl.head || !r.GteMin(sbytes(h.member)) {
		return nil
	}
	return h
}

// deleteFrom removes nodes starting at the first node for which before
// returns false, while inside returns true; each removed node goes to
// drop. It returns the number removed.
func (sl *zskiplist) deleteWhile(before, inside func(*znode) bool, drop func(*znode)) int {
	var update [zslMaxLevel]*znode
	h := sl.head
	for i := sl.level - 1; i >= 0; i-- {
		for n := h.lvl(i).next; n != nil && before(n); n = h.lvl(i).next {
			h = n
		}
		update[i] = h
	}
	removed := 0
	x := h.lvl(0).next
	for x != nil && inside(x) {
		next := x.lvl(0).next
		sl.unlink(x, &update)
		drop(x)
		removed++
		x = next
	}
	return removed
}

// deleteRank removes the nodes of 1-based ranks start..end.
func (sl *zskiplist) deleteRank(start, end int, drop func(*znode)) int {
	var update [zslMaxLevel]*znode
	traversed := 0
	h := sl.head
	for i := sl.level - 1; i >= 0; i-- {
		for h.lvl(i).next != nil && traversed+h.lvl(i).span < start {
			traversed += h.lvl(i).span
			h = h.lvl(i).next
		}
		update[i] = h
	}
	traversed++
	removed := 0
	x := h.lvl(0).next
	for x != nil && traversed <= end {
		next := x.lvl(0).next
		sl.unlink(x, &update)
		drop(x)
		removed++
		traversed++
		x = next
	}
	return removed
}
