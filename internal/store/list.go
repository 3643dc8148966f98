package store

import (
	"bytes"
	"encoding/binary"
)

// listNodeMax is the size in bytes a list node grows to before a new node
// is started (Redis's default list-max-listpack-size -2: 8 KB).
const listNodeMax = 8 << 10

// List is the value of a list key: a deque of nodes, each a packed byte
// buffer of entries (like Redis's quicklist of listpacks). Pushing and
// popping at either end is O(1) amortized; positional access walks the
// nodes from the nearer end. Nodes hold no pointers, which keeps big lists
// cheap for the garbage collector, and a list of one node (up to 8 KB of
// elements) keeps it inline, without a ring.
//
// An entry is its length as a uvarint, the bytes, and the length again as a
// reversed uvarint, so a node can be walked in both directions. A node
// holds less than 2 GB.
//
// Byte slices returned by the list alias its storage: they stay valid only
// until the next change of the list. Values given to the list are copied,
// and must not alias the list's own storage.
type List struct {
	ring []lnode // ring buffer of nodes (len a power of two); nil: see one
	one  lnode   // the only node while ring is nil and nn is 1
	head int32   // ring index of the first node
	nn   int32   // nodes in use
	n    int     // elements
}

// lnode is one node: its entries live in buf[start:end].
type lnode struct {
	buf               []byte
	start, end, count int32
}

// NewList returns an empty list.
func NewList() *List { return &List{} }

// Len returns the number of elements.
func (l *List) Len() int { return l.n }

// Encoding is the OBJECT ENCODING name; Redis 7.0 always says quicklist.
func (l *List) Encoding() string { return "quicklist" }

// MemoryUsage estimates the heap bytes the list holds: the List itself,
// its node ring and the node buffers.
func (l *List) MemoryUsage() int64 {
	n := int64(80 + 40*len(l.ring))
	for i := 0; i < int(l.nn); i++ {
		n += int64(cap(l.node(i).buf))
	}
	return n
}

// Dup returns a deep copy (COPY).
func (l *List) Dup() any {
	d := &List{}
	for i := 0; i < int(l.nn); i++ {
		nd := l.node(i)
		b := append([]byte(nil), nd.buf[nd.start:nd.end]...)
		d.pushBackNode(lnode{buf: b, end: int32(len(b)), count: nd.count})
	}
	d.n = l.n
	return d
}

// --- entry encoding ---

func uvarintLen(x int) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// entrySize is the encoded size of an element of n bytes.
func entrySize(n int) int { return 2*uvarintLen(n) + n }

// putEntry encodes v into dst, which is exactly entrySize(len(v)) long.
func putEntry(dst, v []byte) {
	k := binary.PutUvarint(dst, uint64(len(v)))
	copy(dst[k:], v)
	// the trailing length: the same varint bytes in reverse order
	e := len(dst)
	for i := 0; i < k; i++ {
		dst[e-1-i] = dst[i]
	}
}

// next decodes the entry starting at p: its data is buf[ds:de] and the
// following entry starts at np.
func (nd *lnode) next(p int) (ds, de, np int) {
	b := nd.buf[p]
	if b < 0x80 { // short entry: one length byte each side
		ds = p + 1
		de = ds + int(b)
		return ds, de, de + 1
	}
	n, k := binary.Uvarint(nd.buf[p:])
	ds = p + k
	de = ds + int(n)
	return ds, de, de + k
}

// prev decodes the entry ending at p: its data is buf[ds:de] and it starts
// at pp.
func (nd *lnode) prev(p int) (ds, de, pp int) {
	var x, shift, k int
	for i := p - 1; ; i-- {
		b := nd.buf[i]
		x |= int(b&0x7f) << shift
		k++
		if b < 0x80 {
			break
		}
		shift += 7
	}
	de = p - k
	ds = de - x
	return ds, de, ds - k
}

// --- nodes ---

func ringSize(n int) int {
	s := 1
	for s < n {
		s <<= 1
	}
	return s
}

// node returns the i-th node (0 is the head).
func (l *List) node(i int) *lnode {
	if l.ring == nil {
		return &l.one
	}
	return &l.ring[(int(l.head)+i)&(len(l.ring)-1)]
}

// setNodes replaces the nodes, inline when there is at most one.
func (l *List) setNodes(nodes []lnode) {
	l.nn = int32(len(nodes))
	l.head = 0
	switch len(nodes) {
	case 0:
		l.ring, l.one = nil, lnode{}
	case 1:
		l.ring, l.one = nil, nodes[0]
	default:
		ring := make([]lnode, ringSize(len(nodes)))
		copy(ring, nodes)
		l.ring, l.one = ring, lnode{}
	}
}

// relayout moves the nodes into a fresh ring of the given size (>= nn).
func (l *List) relayout(size int) {
	ring := make([]lnode, size)
	for i := 0; i < int(l.nn); i++ {
		ring[i] = *l.node(i)
	}
	l.ring, l.head, l.one = ring, 0, lnode{}
}

// growRing makes room for one more node.
func (l *List) growRing() {
	switch {
	case l.nn == 0:
	case l.ring == nil:
		l.relayout(2)
	case int(l.nn) == len(l.ring):
		l.relayout(2 * len(l.ring))
	}
}

func (l *List) pushFrontNode(nd lnode) {
	l.growRing()
	l.nn++
	if l.ring == nil {
		l.one = nd
		return
	}
	l.head = int32((int(l.head) - 1) & (len(l.ring) - 1))
	l.ring[l.head] = nd
}

func (l *List) pushBackNode(nd lnode) {
	l.growRing()
	l.nn++
	*l.node(int(l.nn) - 1) = nd
}

func (l *List) popFrontNode() {
	if l.ring == nil {
		l.one = lnode{}
		l.nn = 0
		return
	}
	l.ring[l.head] = lnode{}
	l.head = int32((int(l.head) + 1) & (len(l.ring) - 1))
	l.nn--
	l.maybeShrinkRing()
}

func (l *List) popBackNode() {
	*l.node(int(l.nn) - 1) = lnode{}
	l.nn--
	l.maybeShrinkRing()
}

func (l *List) maybeShrinkRing() {
	switch {
	case l.ring == nil:
	case l.nn <= 1:
		l.one = *l.node(0)
		if l.nn == 0 {
			l.one = lnode{}
		}
		l.ring, l.head = nil, 0
	case len(l.ring) > 8 && int(l.nn) < len(l.ring)/4:
		l.relayout(len(l.ring) / 2)
	}
}

// spliceNodes replaces del nodes at index i with ins.
func (l *List) spliceNodes(i, del int, ins []lnode) {
	all := make([]lnode, 0, int(l.nn)-del+len(ins))
	for j := 0; j < i; j++ {
		all = append(all, *l.node(j))
	}
	all = append(all, ins...)
	for j := i + del; j < int(l.nn); j++ {
		all = append(all, *l.node(j))
	}
	l.setNodes(all)
}

// --- node buffers ---

// nodeCap is the buffer size to allocate for want bytes of entries.
func nodeCap(want int) int {
	if want >= listNodeMax {
		return want
	}
	c := want + want/2
	if c < 16 {
		c = 16
	}
	if c > listNodeMax {
		c = listNodeMax
	}
	return c
}

// allocBuf returns a zeroed buffer of at least n bytes, using the whole
// allocation size class.
func allocBuf(n int) []byte {
	b := append([]byte(nil), make([]byte, n)...)
	return b[:cap(b)]
}

// reserve makes room for sz more bytes at the front or the back of nd,
// moving the entries inside the buffer or into a buffer of size c (0: grow
// by half).
func (nd *lnode) reserve(sz int, front bool, c int) {
	used := int(nd.end - nd.start)
	want := used + sz
	buf := nd.buf
	if c > 0 {
		buf = allocBuf(c)
	} else if want > len(buf)-len(buf)/4 {
		buf = allocBuf(nodeCap(want))
	}
	spare := len(buf) - want // room beyond what is needed now
	off := spare / 4
	if front {
		off = sz + spare - spare/4
	}
	copy(buf[off:], nd.buf[nd.start:nd.end])
	nd.buf, nd.start, nd.end = buf, int32(off), int32(off+used)
}

// newNode returns a node holding one entry v, with room to grow on the side
// pushes come from. big says the list already has a full node.
func newNode(v []byte, front, big bool) lnode {
	sz := entrySize(len(v))
	c := nodeCap(sz)
	if big && c < listNodeMax {
		c = listNodeMax
	}
	buf := allocBuf(c)
	off := 0
	if front {
		off = len(buf) - sz
	}
	putEntry(buf[off:off+sz], v)
	return lnode{buf: buf, start: int32(off), end: int32(off + sz), count: 1}
}

// --- push and pop ---

// PushFront inserts v (copied) at the head.
func (l *List) PushFront(v []byte) {
	sz := entrySize(len(v))
	if l.nn > 0 {
		nd := l.node(0)
		if int(nd.start) < sz {
			if int(nd.end-nd.start)+sz > listNodeMax && nd.count > 0 {
				l.pushFrontNode(newNode(v, true, true))
				l.n++
				return
			}
			nd.reserve(sz, true, 0)
		}
		nd.start -= int32(sz)
		putEntry(nd.buf[nd.start:int(nd.start)+sz], v)
		nd.count++
		l.n++
		return
	}
	l.pushFrontNode(newNode(v, true, false))
	l.n++
}

// PushBack appends v (copied) at the tail.
func (l *List) PushBack(v []byte) {
	sz := entrySize(len(v))
	if l.nn > 0 {
		nd := l.node(int(l.nn) - 1)
		if len(nd.buf)-int(nd.end) < sz {
			if int(nd.end-nd.start)+sz > listNodeMax && nd.count > 0 {
				l.pushBackNode(newNode(v, false, true))
				l.n++
				return
			}
			nd.reserve(sz, false, 0)
		}
		putEntry(nd.buf[nd.end:int(nd.end)+sz], v)
		nd.end += int32(sz)
		nd.count++
		l.n++
		return
	}
	l.pushBackNode(newNode(v, false, false))
	l.n++
}

// PushMany pushes vals one after the other at the head (LPUSH order: the
// last one ends up first) or at the tail, sizing the end node once.
func (l *List) PushMany(vals [][]byte, front bool) {
	if len(vals) > 1 {
		total := 0
		for _, v := range vals {
			total += entrySize(len(v))
		}
		l.reserveEnd(total, front)
	}
	for _, v := range vals {
		if front {
			l.PushFront(v)
		} else {
			l.PushBack(v)
		}
	}
}

// reserveEnd gives the end node exact room for total more bytes when they
// fit in one node, creating an empty end node for an empty list.
func (l *List) reserveEnd(total int, front bool) {
	if l.nn == 0 {
		if total > listNodeMax {
			return
		}
		buf := allocBuf(total)
		off := int32(0)
		if front {
			off = int32(len(buf))
		}
		l.pushBackNode(lnode{buf: buf, start: off, end: off})
		return
	}
	var nd *lnode
	var room int
	if front {
		nd = l.node(0)
		room = int(nd.start)
	} else {
		nd = l.node(int(l.nn) - 1)
		room = len(nd.buf) - int(nd.end)
	}
	used := int(nd.end - nd.start)
	if room >= total || used+total > listNodeMax {
		return
	}
	nd.reserve(total, front, used+total)
}

// PopFront removes and returns the head element.
func (l *List) PopFront() ([]byte, bool) {
	if l.n == 0 {
		return nil, false
	}
	nd := l.node(0)
	ds, de, np := nd.next(int(nd.start))
	v := nd.buf[ds:de:de]
	nd.start = int32(np)
	nd.count--
	l.n--
	if nd.count == 0 {
		l.popFrontNode()
	}
	return v, true
}

// PopBack removes and returns the tail element.
func (l *List) PopBack() ([]byte, bool) {
	if l.n == 0 {
		return nil, false
	}
	nd := l.node(int(l.nn) - 1)
	ds, de, pp := nd.prev(int(nd.end))
	v := nd.buf[ds:de:de]
	nd.end = int32(pp)
	nd.count--
	l.n--
	if nd.count == 0 {
		l.popBackNode()
	}
	return v, true
}

// --- positional access ---

// normIndex turns a Redis index (negative counts from the tail) into a
// position, false when out of range.
func (l *List) normIndex(i int) (int, bool) {
	if i < 0 {
		i += l.n
	}
	if i < 0 || i >= l.n {
		return 0, false
	}
	return i, true
}

// locate finds element i (0 <= i < n): its node and the byte range
// [es, ee) of its whole entry.
func (l *List) locate(i int) (ni, es, ee int) {
	if i < l.n/2 {
		for ni = 0; ; ni++ {
			if c := int(l.node(ni).count); i < c {
				break
			} else {
				i -= c
			}
		}
	} else {
		r := l.n - 1 - i // position from the tail
		for ni = int(l.nn) - 1; ; ni-- {
			if c := int(l.node(ni).count); r < c {
				i = c - 1 - r
				break
			} else {
				r -= c
			}
		}
	}
	nd := l.node(ni)
	if i < int(nd.count)/2 {
		p := int(nd.start)
		for ; i > 0; i-- {
			_, _, p = nd.next(p)
		}
		_, _, np := nd.next(p)
		return ni, p, np
	}
	p := int(nd.end)
	for k := int(nd.count) - 1 - i; k > 0; k-- {
		_, _, p = nd.prev(p)
	}
	_, _, pp := nd.prev(p)
	return ni, pp, p
}

// Index returns element i; negative i counts from the tail (LINDEX).
func (l *List) Index(i int) ([]byte, bool) {
	i, ok := l.normIndex(i)
	if !ok {
		return nil, false
	}
	ni, es, _ := l.locate(i)
	nd := l.node(ni)
	ds, de, _ := nd.next(es)
	return nd.buf[ds:de:de], true
}

// Set replaces element i (negative counts from the tail) with v; false
// when i is out of range (LSET).
func (l *List) Set(i int, v []byte) bool {
	i, ok := l.normIndex(i)
	if !ok {
		return false
	}
	ni, es, ee := l.locate(i)
	l.rewrite(ni, es, ee, v, 0)
	return true
}

// rewrite replaces the bytes [es, ee) of node ni with the entry of v; delta
// is the change in the node's element count. A node that grows past the
// size limit is split.
func (l *List) rewrite(ni, es, ee int, v []byte, delta int) {
	nd := l.node(ni)
	sz := entrySize(len(v))
	size := int(nd.end-nd.start) - (ee - es) + sz
	b := make([]byte, 0, size)
	b = append(b, nd.buf[nd.start:es]...)
	b = b[:len(b)+sz]
	putEntry(b[len(b)-sz:], v)
	b = append(b, nd.buf[ee:nd.end]...)
	count := int(nd.count) + delta
	l.n += delta
	if len(b) <= listNodeMax || count < 2 {
		*nd = lnode{buf: b, end: int32(len(b)), count: int32(count)}
		return
	}
	l.spliceNodes(ni, 1, splitNode(b))
}

// splitNode cuts encoded entries into nodes of at most listNodeMax bytes
// (a single bigger entry gets a node of its own).
func splitNode(b []byte) []lnode {
	var out []lnode
	tmp := lnode{buf: b, end: int32(len(b))}
	start, n := 0, 0
	for p := 0; p < len(b); {
		_, _, np := tmp.next(p)
		if n > 0 && np-start > listNodeMax {
			out = append(out, ownNode(b[start:p], n))
			start, n = p, 0
		}
		n++
		p = np
	}
	return append(out, ownNode(b[start:], n))
}

func ownNode(b []byte, count int) lnode {
	c := append([]byte(nil), b...)
	return lnode{buf: c, end: int32(len(c)), count: int32(count)}
}

// Insert puts v before (or after) the first element equal to pivot; it
// reports whether pivot was found (LINSERT).
func (l *List) Insert(pivot, v []byte, after bool) bool {
	for ni := 0; ni < int(l.nn); ni++ {
		nd := l.node(ni)
		for p := int(nd.start); p < int(nd.end); {
			ds, de, np := nd.next(p)
			if bytes.Equal(nd.buf[ds:de], pivot) {
				at := p
				if after {
					at = np
				}
				l.rewrite(ni, at, at, v, 1)
				return true
			}
			p = np
		}
	}
	return false
}

// Remove deletes elements equal to v (LREM): count > 0 removes up to count
// from the head, count < 0 up to -count from the tail, 0 all of them. It
// returns how many were removed.
func (l *List) Remove(count int, v []byte) int {
	limit := count
	if limit < 0 {
		limit = -limit
	}
	removed := 0
	emptied := false
	nn := int(l.nn)
	for k := 0; k < nn; k++ {
		ni := k
		if count < 0 {
			ni = nn - 1 - k
		}
		max := 0
		if limit > 0 {
			max = limit - removed
		}
		removed += l.filterNode(ni, v, max, count < 0)
		if l.node(ni).count == 0 {
			emptied = true
		}
		if limit > 0 && removed >= limit {
			break
		}
	}
	l.n -= removed
	if emptied {
		l.dropEmptyNodes()
	}
	return removed
}

// filterNode removes from node ni the entries equal to v, at most max of
// them (0: no limit), the last ones first when fromTail.
func (l *List) filterNode(ni int, v []byte, max int, fromTail bool) int {
	nd := l.node(ni)
	var hits []int // entry start offsets, in order
	for p := int(nd.start); p < int(nd.end); {
		ds, de, np := nd.next(p)
		if bytes.Equal(nd.buf[ds:de], v) {
			hits = append(hits, p)
		}
		p = np
	}
	if len(hits) == 0 {
		return 0
	}
	if max > 0 && len(hits) > max {
		if fromTail {
			hits = hits[len(hits)-max:]
		} else {
			hits = hits[:max]
		}
	}
	// compact in place, moving kept bytes towards the start
	w, from := int(nd.start), int(nd.start)
	for _, h := range hits {
		w += copy(nd.buf[w:], nd.buf[from:h])
		_, _, np := nd.next(h)
		from = np
	}
	w += copy(nd.buf[w:], nd.buf[from:nd.end])
	nd.end = int32(w)
	nd.count -= int32(len(hits))
	return len(hits)
}

func (l *List) dropEmptyNodes() {
	keep := make([]lnode, 0, l.nn)
	for i := 0; i < int(l.nn); i++ {
		if nd := l.node(i); nd.count > 0 {
			keep = append(keep, *nd)
		}
	}
	l.setNodes(keep)
}

// TrimFront removes the first k elements.
func (l *List) TrimFront(k int) {
	if k >= l.n {
		*l = List{}
		return
	}
	l.n -= k
	for k > 0 {
		nd := l.node(0)
		if c := int(nd.count); c <= k {
			k -= c
			l.popFrontNode()
			continue
		}
		p := int(nd.start)
		for i := 0; i < k; i++ {
			_, _, p = nd.next(p)
		}
		nd.start = int32(p)
		nd.count -= int32(k)
		k = 0
	}
}

// TrimBack removes the last k elements.
func (l *List) TrimBack(k int) {
	if k >= l.n {
		*l = List{}
		return
	}
	l.n -= k
	for k > 0 {
		nd := l.node(int(l.nn) - 1)
		if c := int(nd.count); c <= k {
			k -= c
			l.popBackNode()
			continue
		}
		p := int(nd.end)
		for i := 0; i < k; i++ {
			_, _, p = nd.prev(p)
		}
		nd.end = int32(p)
		nd.count -= int32(k)
		k = 0
	}
}

// --- iteration ---

// ListIter walks a list from a position towards the tail or the head.
// The list must not change while it is used.
type ListIter struct {
	l    *List
	ni   int // current node
	p    int // forward: start of the next entry; reverse: its end
	rev  bool
	left int // elements remaining
}

// Iter returns an iterator starting at element i (0 <= i < Len(); any
// other i gives an empty iterator) that moves towards the tail, or towards
// the head when reverse.
func (l *List) Iter(i int, reverse bool) ListIter {
	it := ListIter{l: l, rev: reverse}
	if i < 0 || i >= l.n {
		return it
	}
	ni, es, ee := l.locate(i)
	it.ni = ni
	if reverse {
		it.p = ee
		it.left = i + 1
	} else {
		it.p = es
		it.left = l.n - i
	}
	return it
}

// Next returns the next element, false at the end.
func (it *ListIter) Next() ([]byte, bool) {
	if it.left == 0 {
		return nil, false
	}
	it.left--
	l := it.l
	nd := l.node(it.ni)
	if it.rev {
		if it.p == int(nd.start) {
			it.ni--
			nd = l.node(it.ni)
			it.p = int(nd.end)
		}
		ds, de, pp := nd.prev(it.p)
		it.p = pp
		return nd.buf[ds:de:de], true
	}
	if it.p == int(nd.end) {
		it.ni++
		nd = l.node(it.ni)
		it.p = int(nd.start)
	}
	ds, de, np := nd.next(it.p)
	it.p = np
	return nd.buf[ds:de:de], true
}
