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
// cheap for the garbage collector.
//
// An entry is its length as a uvarint, the bytes, and the length again as a
// reversed uvarint, so a node can be walked in both directions.
//
// Byte slices returned by the list alias its storage: they stay valid only
// until the next change of the list. Values given to the list are copied,
// and must not alias the list's own storage.
type List struct {
	nodes []lnode // ring buffer of nodes; len is 0 or a power of two
	head  int     // ring index of the first node
	nn    int     // nodes in use
	n     int     // elements
}

// lnode is one node: its entries live in buf[start:end].
type lnode struct {
	buf        []byte
	start, end int
	count      int
}

// NewList returns an empty list.
func NewList() *List { return &List{} }

// Len returns the number of elements.
func (l *List) Len() int { return l.n }

// Encoding is the OBJECT ENCODING name; Redis 7.0 always says quicklist.
func (l *List) Encoding() string { return "quicklist" }

// Dup returns a deep copy (COPY).
func (l *List) Dup() any {
	d := &List{n: l.n, nn: l.nn}
	if l.nn == 0 {
		return d
	}
	d.nodes = make([]lnode, ringSize(l.nn))
	for i := 0; i < l.nn; i++ {
		nd := l.node(i)
		b := append([]byte(nil), nd.buf[nd.start:nd.end]...)
		d.nodes[i] = lnode{buf: b, start: 0, end: len(b), count: nd.count}
	}
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

// --- node ring ---

func ringSize(n int) int {
	s := 1
	for s < n {
		s <<= 1
	}
	return s
}

// node returns the i-th node (0 is the head).
func (l *List) node(i int) *lnode { return &l.nodes[(l.head+i)&(len(l.nodes)-1)] }

// relayout moves the nodes into a fresh ring of the given size (>= nn).
func (l *List) relayout(size int) {
	nodes := make([]lnode, size)
	for i := 0; i < l.nn; i++ {
		nodes[i] = *l.node(i)
	}
	l.nodes, l.head = nodes, 0
}

// growRing makes room for one more node.
func (l *List) growRing() {
	if l.nn == len(l.nodes) {
		size := 1
		if len(l.nodes) > 0 {
			size = 2 * len(l.nodes)
		}
		l.relayout(size)
	}
}

func (l *List) pushFrontNode(nd lnode) {
	l.growRing()
	l.head = (l.head - 1) & (len(l.nodes) - 1)
	l.nodes[l.head] = nd
	l.nn++
}

func (l *List) pushBackNode(nd lnode) {
	l.growRing()
	l.nodes[(l.head+l.nn)&(len(l.nodes)-1)] = nd
	l.nn++
}

func (l *List) popFrontNode() {
	l.nodes[l.head] = lnode{}
	l.head = (l.head + 1) & (len(l.nodes) - 1)
	l.nn--
	l.maybeShrinkRing()
}

func (l *List) popBackNode() {
	*l.node(l.nn - 1) = lnode{}
	l.nn--
	l.maybeShrinkRing()
}

func (l *List) maybeShrinkRing() {
	if l.nn == 0 {
		if len(l.nodes) > 1 {
			l.nodes, l.head = nil, 0
		}
		return
	}
	if len(l.nodes) > 8 && l.nn < len(l.nodes)/4 {
		l.relayout(len(l.nodes) / 2)
	}
}

// spliceNodes replaces del nodes at index i with ins.
func (l *List) spliceNodes(i, del int, ins []lnode) {
	all := make([]lnode, 0, l.nn-del+len(ins))
	for j := 0; j < i; j++ {
		all = append(all, *l.node(j))
	}
	all = append(all, ins...)
	for j := i + del; j < l.nn; j++ {
		all = append(all, *l.node(j))
	}
	l.nn = len(all)
	if l.nn == 0 {
		l.nodes, l.head = nil, 0
		return
	}
	size := ringSize(l.nn)
	if cap(all) >= size {
		all = all[:size]
	} else {
		all = append(all, make([]lnode, size-len(all))...)
	}
	l.nodes, l.head = all[:size], 0
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
// moving the entries inside the buffer or into a bigger one.
func (nd *lnode) reserve(sz int, front bool) {
	used := nd.end - nd.start
	want := used + sz
	buf := nd.buf
	if want > len(buf)-len(buf)/4 {
		buf = allocBuf(nodeCap(want))
	}
	spare := len(buf) - want // room beyond what is needed now
	off := spare / 4
	if front {
		off = sz + spare - spare/4
	}
	copy(buf[off:], nd.buf[nd.start:nd.end])
	nd.buf, nd.start, nd.end = buf, off, off+used
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
	return lnode{buf: buf, start: off, end: off + sz, count: 1}
}

// --- push and pop ---

// PushFront inserts v (copied) at the head.
func (l *List) PushFront(v []byte) {
	sz := entrySize(len(v))
	if l.nn > 0 {
		nd := &l.nodes[l.head]
		if nd.start < sz {
			if nd.end-nd.start+sz > listNodeMax {
				l.pushFrontNode(newNode(v, true, true))
				l.n++
				return
			}
			nd.reserve(sz, true)
		}
		nd.start -= sz
		putEntry(nd.buf[nd.start:nd.start+sz], v)
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
		nd := l.node(l.nn - 1)
		if len(nd.buf)-nd.end < sz {
			if nd.end-nd.start+sz > listNodeMax {
				l.pushBackNode(newNode(v, false, true))
				l.n++
				return
			}
			nd.reserve(sz, false)
		}
		putEntry(nd.buf[nd.end:nd.end+sz], v)
		nd.end += sz
		nd.count++
		l.n++
		return
	}
	l.pushBackNode(newNode(v, false, false))
	l.n++
}

// PopFront removes and returns the head element.
func (l *List) PopFront() ([]byte, bool) {
	if l.n == 0 {
		return nil, false
	}
	nd := &l.nodes[l.head]
	ds, de, np := nd.next(nd.start)
	v := nd.buf[ds:de:de]
	nd.start = np
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
	nd := l.node(l.nn - 1)
	ds, de, pp := nd.prev(nd.end)
	v := nd.buf[ds:de:de]
	nd.end = pp
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
			if c := l.node(ni).count; i < c {
				break
			} else {
				i -= c
			}
		}
	} else {
		r := l.n - 1 - i // position from the tail
		for ni = l.nn - 1; ; ni-- {
			if c := l.node(ni).count; r < c {
				i = c - 1 - r
				break
			} else {
				r -= c
			}
		}
	}
	nd := l.node(ni)
	if i < nd.count/2 {
		p := nd.start
		for ; i > 0; i-- {
			_, _, p = nd.next(p)
		}
		_, _, np := nd.next(p)
		return ni, p, np
	}
	p := nd.end
	for k := nd.count - 1 - i; k > 0; k-- {
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
	l.rewrite(ni, es, ee, [][]byte{v}, 0)
	return true
}

// rewrite replaces the entries in node ni's bytes [es, ee) with vals;
// delta is the change in the node's element count. A node that grows past
// the size limit is split.
func (l *List) rewrite(ni, es, ee int, vals [][]byte, delta int) {
	nd := l.node(ni)
	add := 0
	for _, v := range vals {
		add += entrySize(len(v))
	}
	size := (nd.end - nd.start) - (ee - es) + add
	b := make([]byte, 0, size)
	b = append(b, nd.buf[nd.start:es]...)
	for _, v := range vals {
		sz := entrySize(len(v))
		b = b[:len(b)+sz]
		putEntry(b[len(b)-sz:], v)
	}
	b = append(b, nd.buf[ee:nd.end]...)
	count := nd.count + delta
	l.n += delta
	if len(b) <= listNodeMax || count < 2 {
		*nd = lnode{buf: b, start: 0, end: len(b), count: count}
		return
	}
	l.spliceNodes(ni, 1, splitNode(b, count))
}

// splitNode cuts encoded entries into nodes of at most listNodeMax bytes
// (a single bigger entry gets a node of its own).
func splitNode(b []byte, count int) []lnode {
	var out []lnode
	tmp := lnode{buf: b, end: len(b)}
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
	out = append(out, ownNode(b[start:], n))
	return out
}

func ownNode(b []byte, count int) lnode {
	c := append([]byte(nil), b...)
	return lnode{buf: c, start: 0, end: len(c), count: count}
}

// Insert puts v before (or after) the first element equal to pivot; it
// reports whether pivot was found (LINSERT).
func (l *List) Insert(pivot, v []byte, after bool) bool {
	for ni := 0; ni < l.nn; ni++ {
		nd := l.node(ni)
		for p := nd.start; p < nd.end; {
			ds, de, np := nd.next(p)
			if bytes.Equal(nd.buf[ds:de], pivot) {
				if after {
					l.rewrite(ni, np, np, [][]byte{v}, 1)
				} else {
					l.rewrite(ni, p, p, [][]byte{v}, 1)
				}
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
	for k := 0; k < l.nn; k++ {
		ni := k
		if count < 0 {
			ni = l.nn - 1 - k
		}
		max := 0
		if limit > 0 {
			max = limit - removed
		}
		r := l.filterNode(ni, v, max, count < 0)
		removed += r
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
	for p := nd.start; p < nd.end; {
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
	w, from := nd.start, nd.start
	for _, h := range hits {
		w += copy(nd.buf[w:], nd.buf[from:h])
		_, _, np := nd.next(h)
		from = np
	}
	w += copy(nd.buf[w:], nd.buf[from:nd.end])
	nd.end = w
	nd.count -= len(hits)
	return len(hits)
}

func (l *List) dropEmptyNodes() {
	keep := make([]lnode, 0, l.nn)
	for i := 0; i < l.nn; i++ {
		if nd := l.node(i); nd.count > 0 {
			keep = append(keep, *nd)
		}
	}
	l.spliceNodes(0, l.nn, keep)
}

// TrimFront removes the first k elements.
func (l *List) TrimFront(k int) {
	if k >= l.n {
		l.clear()
		return
	}
	l.n -= k
	for k > 0 {
		nd := &l.nodes[l.head]
		if nd.count <= k {
			k -= nd.count
			l.popFrontNode()
			continue
		}
		p := nd.start
		for i := 0; i < k; i++ {
			_, _, p = nd.next(p)
		}
		nd.start = p
		nd.count -= k
		k = 0
	}
}

// TrimBack removes the last k elements.
func (l *List) TrimBack(k int) {
	if k >= l.n {
		l.clear()
		return
	}
	l.n -= k
	for k > 0 {
		nd := l.node(l.nn - 1)
		if nd.count <= k {
			k -= nd.count
			l.popBackNode()
			continue
		}
		p := nd.end
		for i := 0; i < k; i++ {
			_, _, p = nd.prev(p)
		}
		nd.end = p
		nd.count -= k
		k = 0
	}
}

func (l *List) clear() { *l = List{} }

// --- iteration ---

// ListIter walks a list from a position towards the tail or the head.
// The list must not change while it is used.
type ListIter struct {
	l   *List
	ni  int // current node
	p   int // forward: start of the next entry; reverse: its end
	rev bool
	// left is how many elements remain.
	left int
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
		if it.p == nd.start {
			it.ni--
			nd = l.node(it.ni)
			it.p = nd.end
		}
		ds, de, pp := nd.prev(it.p)
		it.p = pp
		return nd.buf[ds:de:de], true
	}
	if it.p == nd.end {
		it.ni++
		nd = l.node(it.ni)
		it.p = nd.start
	}
	ds, de, np := nd.next(it.p)
	it.p = np
	return nd.buf[ds:de:de], true
}
