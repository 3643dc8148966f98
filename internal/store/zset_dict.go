package store

import (
	"hash/maphash"
	"math/bits"
)

// zsetSeed keys the member hash of every sorted set; it is chosen once at
// start-up and never changes.
var zsetSeed = maphash.MakeSeed()

// zdict maps members to skiplist nodes: a chained hash table whose chains
// run through the nodes themselves (znode.hnext), resized incrementally
// like Redis's dict (two tables while rehashing) so that no command pays
// for rehashing a whole large set, and scanned with reverse-binary cursors.
type zdict struct {
	t      [2][]*znode
	used   [2]int
	rehash int // next bucket of t[0] to move; -1 when not rehashing
}

func newZDict(hint int) zdict {
	return zdict{t: [2][]*znode{make([]*znode, tableSizeFor(hint))}, rehash: -1}
}

func (d *zdict) len() int { return d.used[0] + d.used[1] }

func (d *zdict) rehashing() bool { return d.rehash >= 0 }

// step moves one bucket from the old table to the new one, visiting at
// most ten empty buckets (dictRehash(d, 1)).
func (d *zdict) step() {
	empty := 10
	for d.rehash < len(d.t[0]) && d.t[0][d.rehash] == nil {
		d.rehash++
		empty--
		if empty == 0 {
			return
		}
	}
	if d.rehash < len(d.t[0]) {
		mask := uint64(len(d.t[1]) - 1)
		for n := d.t[0][d.rehash]; n != nil; {
			next := n.hnext
			i := uint64(n.hash) & mask
			n.hnext = d.t[1][i]
			d.t[1][i] = n
			d.used[0]--
			d.used[1]++
			n = next
		}
		d.t[0][d.rehash] = nil
		d.rehash++
	}
	if d.used[0] == 0 {
		d.t[0], d.t[1] = d.t[1], nil
		d.used[0], d.used[1] = d.used[1], 0
		d.rehash = -1
	}
}

// startResize begins moving every node to a table of n buckets.
func (d *zdict) startResize(n int) {
	if d.rehashing() || n == len(d.t[0]) {
		return
	}
	if d.used[0] == 0 {
		d.t[0] = make([]*znode, n)
		return
	}
	d.t[1] = make([]*znode, n)
	d.rehash = 0
}

// find returns the node of member m (hash h), nil if absent.
func (d *zdict) find(m string, h64 uint64) *znode {
	h := uint32(h64)
	if d.rehashing() {
		d.step()
	}
	for t := 0; t < 2; t++ {
		tab := d.t[t]
		if len(tab) == 0 {
			break
		}
		for n := tab[h&uint32(len(tab)-1)]; n != nil; n = n.hnext {
			if n.hash == h && n.member == m {
				return n
			}
		}
		if !d.rehashing() {
			break
		}
	}
	return nil
}

// add links node n, whose member is known to be absent.
func (d *zdict) add(n *znode) {
	if d.rehashing() {
		d.step()
	}
	t := 0
	if d.rehashing() {
		t = 1
	} else if d.used[0] >= len(d.t[0]) {
		d.startResize(tableSizeFor(d.used[0] + 1))
		if d.rehashing() {
			d.step()
		}
		if d.rehashing() {
			t = 1
		}
	}
	tab := d.t[t]
	i := uint64(n.hash) & uint64(len(tab)-1)
	n.hnext = tab[i]
	tab[i] = n
	d.used[t]++
}

// remove unlinks node n, which must be present.
func (d *zdict) remove(n *znode) {
	if d.rehashing() {
		d.step()
	}
	for t := 0; t < 2; t++ {
		tab := d.t[t]
		if len(tab) == 0 {
			continue
		}
		p := &tab[uint64(n.hash)&uint64(len(tab)-1)]
		for *p != nil {
			if *p == n {
				*p = n.hnext
				n.hnext = nil
				d.used[t]--
				return
			}
			p = &(*p).hnext
		}
	}
}

// maybeShrink starts shrinking a table filled below 10% (htNeedsResize).
func (d *zdict) maybeShrink() {
	if d.rehashing() {
		return
	}
	size := len(d.t[0])
	if size > tableMinSize && d.used[0]*10 < size {
		d.startResize(tableSizeFor(d.used[0]))
	}
}

func zNextCursor(v, mask uint64) uint64 {
	v |= ^mask
	v = bits.Reverse64(v)
	v++
	return bits.Reverse64(v)
}

// scan visits the buckets cursor v designates (in both tables while
// rehashing, as dictScan does) and returns the next cursor, 0 at the end.
func (d *zdict) scan(v uint64, fn func(*znode)) uint64 {
	if d.len() == 0 {
		return 0
	}
	emit := func(tab []*znode, i uint64) {
		for n := tab[i]; n != nil; n = n.hnext {
			fn(n)
		}
	}
	if !d.rehashing() {
		m0 := uint64(len(d.t[0]) - 1)
		emit(d.t[0], v&m0)
		return zNextCursor(v, m0)
	}
	small, large := d.t[0], d.t[1]
	if len(small) > len(large) {
		small, large = large, small
	}
	m0, m1 := uint64(len(small)-1), uint64(len(large)-1)
	emit(small, v&m0)
	for {
		emit(large, v&m1)
		v = zNextCursor(v, m1)
		if v&(m0^m1) == 0 {
			break
		}
	}
	return v
}

// each calls fn for every node until it returns false. fn must not change
// the dictionary.
func (d *zdict) each(fn func(*znode) bool) {
	for t := 0; t < 2; t++ {
		for _, n := range d.t[t] {
			for ; n != nil; n = n.hnext {
				if !fn(n) {
					return
				}
			}
		}
	}
}
