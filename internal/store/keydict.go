package store

import (
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// keyDict is the dictionary of one hash slot: an open-addressing table of
// groups of eight entries, each group led by eight control bytes (the
// layout of a Swiss table, probed a group at a time with SWAR bit tricks).
// It exists instead of a Go map for memory: an entry is a pointer to the
// key's bytes plus the value (16 bytes for *Object) and one control byte,
// the table grows by 1.5x rather than 2x, and the key bytes are stored
// length-prefixed in one small allocation that a string value can share
// (DB.SetStringCopy).
//
// Deleting never moves entries (a slot becomes empty or a tombstone), so
// an iteration may delete the entry it is visiting; while an iteration
// runs the table never shrinks.
type keyDict[V any] struct {
	groups []kdGroup[V]
	count  int32 // live entries
	dead   int32 // tombstones
	iters  int32 // iterations in progress (they forbid shrinking)
	warm   uint8 // what warmGroups read (kept so that its loads stay)
}

// kdGroup is eight entries and their control bytes: kdEmpty, kdDeleted,
// or the 7 high bits of the entry's hash (h2) for a full slot. vals comes
// before keys so a zero-size V adds no trailing padding.
type kdGroup[V any] struct {
	ctrl uint64
	vals [kdSlots]V
	keys [kdSlots]unsafe.Pointer // length-prefixed key bytes (kdNewKey)
}

const (
	kdSlots    = 8
	kdEmpty    = 0x80
	kdDeleted  = 0xFE
	kdLSB      = 0x0101010101010101
	kdMSB      = 0x8080808080808080
	kdAllEmpty = kdEmpty * kdLSB
	// kdMaxLoad is the fill (live + tombstones) per group that triggers a
	// rehash: 7 of 8 slots.
	kdMaxLoad = 7
	// kdRandomTries bounds the rejection sampling of random().
	kdRandomTries = 32
)

// kdSeed seeds the hash of every key dictionary; chosen once per process
// and never changed.
var kdSeed = maphash.MakeSeed()

// kdHash is the hash of a key in every keyDict of the process (the main
// dictionary and the volatile set of a slot share it, so one hash serves
// both).
func kdHash(key string) uint64 { return maphash.String(kdSeed, key) }

// kdH2 is the 7-bit hash fragment kept in a full slot's control byte.
func kdH2(h uint64) uint8 { return uint8(h >> 57) }

// kdHome is the first group probed for hash h among n groups (a
// multiply-shift range reduction, so n need not be a power of two).
func kdHome(h uint64, n int) int { return int((uint64(uint32(h)) * uint64(n)) >> 32) }

// kdMatch returns the full slots whose control byte may equal h2 (one bit
// per candidate at bit 8*i+7). A rare false positive is always a full slot,
// which the key comparison rejects.
func kdMatch(ctrl uint64, h2 uint8) uint64 {
	v := ctrl ^ (kdLSB * uint64(h2))
	return (v - kdLSB) &^ v & kdMSB
}

// kdMatchEmpty returns the empty slots (bit 7 set, bit 1 clear).
func kdMatchEmpty(ctrl uint64) uint64 { return ctrl &^ (ctrl << 6) & kdMSB }

// kdMatchFree returns the empty and deleted slots.
func kdMatchFree(ctrl uint64) uint64 { return ctrl & kdMSB }

// kdMatchFull returns the full slots.
func kdMatchFull(ctrl uint64) uint64 { return ^ctrl & kdMSB }

func kdSetCtrl(ctrl *uint64, i int, b uint8) {
	sh := uint(i) * 8
	*ctrl = *ctrl&^(0xFF<<sh) | uint64(b)<<sh
}

// kdGroupsFor is the group count a rehash picks for n live entries: the
// table is then about 58% full, and grows 1.5x when it reaches 7/8.
func kdGroupsFor(n int) int {
	g := (n*3/2 + kdMaxLoad - 1) / kdMaxLoad
	if g < 1 {
		g = 1
	}
	return g
}

// kdNewKey copies key into a new allocation behind its uvarint length and
// reserves extra bytes after it, returned as tail (nil when extra is 0).
func kdNewKey(key string, extra int) (kp unsafe.Pointer, tail []byte) {
	var hdr [10]byte // a uvarint of up to 64 bits
	n := len(key)
	h := 0
	for ; n >= 0x80; n >>= 7 {
		hdr[h] = byte(n) | 0x80
		h++
	}
	hdr[h] = byte(n)
	h++
	buf := make([]byte, h+len(key)+extra)
	copy(buf, hdr[:h])
	copy(buf[h:], key)
	if extra > 0 {
		tail = buf[h+len(key):]
	}
	return unsafe.Pointer(&buf[0]), tail
}

// kdKeyAt returns the key kdNewKey stored at kp, without copying. The
// bytes are never modified, so the string may be kept.
func kdKeyAt(kp unsafe.Pointer) string {
	if n := *(*byte)(kp); n < 0x80 {
		if n == 0 {
			return "" // no pointer past the end of the allocation
		}
		return unsafe.String((*byte)(unsafe.Add(kp, 1)), int(n))
	}
	return kdKeyLong(kp)
}

func kdKeyLong(kp unsafe.Pointer) string {
	n, sh, off := 0, uint(0), 0
	for {
		b := *(*byte)(unsafe.Add(kp, off))
		off++
		n |= int(b&0x7F) << sh
		if b < 0x80 {
			break
		}
		sh += 7
	}
	return unsafe.String((*byte)(unsafe.Add(kp, off)), n)
}

func newKeyDict[V any](groups int) *keyDict[V] {
	d := &keyDict[V]{}
	d.groups = kdMakeGroups[V](groups)
	return d
}

func kdMakeGroups[V any](n int) []kdGroup[V] {
	gs := make([]kdGroup[V], n)
	for i := range gs {
		gs[i].ctrl = kdAllEmpty
	}
	return gs
}

// len returns the number of live entries.
func (d *keyDict[V]) len() int { return int(d.count) }

// find returns the group and slot of key (whose hash is h), or nil.
func (d *keyDict[V]) find(key string, h uint64) (*kdGroup[V], int) {
	n := len(d.groups)
	gi := kdHome(h, n)
	h2 := kdH2(h)
	for range n {
		g := &d.groups[gi]
		for m := kdMatch(g.ctrl, h2); m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m) >> 3
			if kdKeyAt(g.keys[i]) == key {
				return g, i
			}
		}
		if kdMatchEmpty(g.ctrl) != 0 {
			return nil, 0
		}
		if gi++; gi == n {
			gi = 0
		}
	}
	return nil, 0
}

// insert adds an entry the caller knows to be absent; kp is owned by the
// table from now on (kdNewKey, or shared with another keyDict of the slot).
func (d *keyDict[V]) insert(h uint64, kp unsafe.Pointer, v V) {
	if int(d.count+d.dead) >= kdMaxLoad*len(d.groups) {
		d.rehash(kdGroupsFor(int(d.count) + 1))
	}
	d.place(h, kp, v)
	d.count++
}

// place puts an entry in the first free slot of its probe sequence.
func (d *keyDict[V]) place(h uint64, kp unsafe.Pointer, v V) {
	n := len(d.groups)
	gi := kdHome(h, n)
	for {
		g := &d.groups[gi]
		if m := kdMatchFree(g.ctrl); m != 0 {
			i := bits.TrailingZeros64(m) >> 3
			if uint8(g.ctrl>>(uint(i)*8)) == kdDeleted {
				d.dead--
			}
			kdSetCtrl(&g.ctrl, i, kdH2(h))
			g.keys[i] = kp
			g.vals[i] = v
			return
		}
		if gi++; gi == n {
			gi = 0
		}
	}
}

// removeAt deletes the entry in slot i of g. A slot of a group that still
// has an empty slot becomes empty (no probe ever passed over that group);
// otherwise it becomes a tombstone.
func (d *keyDict[V]) removeAt(g *kdGroup[V], i int) {
	var zero V
	g.vals[i] = zero
	g.keys[i] = nil
	if kdMatchEmpty(g.ctrl) != 0 {
		kdSetCtrl(&g.ctrl, i, kdEmpty)
	} else {
		kdSetCtrl(&g.ctrl, i, kdDeleted)
		d.dead++
	}
	d.count--
	if d.iters == 0 && len(d.groups) > 1 && int(d.count) < len(d.groups) {
		d.rehash(kdGroupsFor(int(d.count)))
	}
}

// rehash moves every live entry into a new table of n groups, dropping
// the tombstones.
func (d *keyDict[V]) rehash(n int) {
	old := d.groups
	d.groups = kdMakeGroups[V](n)
	d.dead = 0
	for gi := range old {
		g := &old[gi]
		for m := kdMatchFull(g.ctrl); m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m) >> 3
			d.place(kdHash(kdKeyAt(g.keys[i])), g.keys[i], g.vals[i])
		}
	}
}

// each calls fn for every entry, starting at a random group, until fn
// returns false. fn may delete the entry it is given (and only that one);
// it must not insert.
func (d *keyDict[V]) each(fn func(kp unsafe.Pointer, v V) bool) {
	d.eachWarm(nil, fn)
}

// kdWarmGroups is how many groups eachWarm hands to warm at once: up to
// 256 entries, whose keys and values stay in the L2 cache.
const kdWarmGroups = 32

// eachWarm is each calling warm (when not nil) with the next run of up to
// kdWarmGroups groups before it visits their entries: warm can touch
// their keys and values so that the cache misses of a run overlap.
func (d *keyDict[V]) eachWarm(warm func([]kdGroup[V]), fn func(kp unsafe.Pointer, v V) bool) {
	groups := d.groups
	n := len(groups)
	if d.count == 0 || n == 0 {
		return
	}
	d.iters++
	defer func() { d.iters-- }()
	// A warmed walk starts at group 0, so that no run wraps around
	// unwarmed; the others start anywhere.
	gi := 0
	if warm == nil {
		gi = rand.IntN(n)
	}
	for k := range n {
		if warm != nil && k%kdWarmGroups == 0 {
			warm(groups[gi:min(gi+kdWarmGroups, n)])
		}
		g := &groups[gi]
		for m := kdMatchFull(g.ctrl); m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m) >> 3
			if g.ctrl>>(uint(i)*8)&0x80 != 0 {
				continue // deleted by an earlier callback
			}
			if !fn(g.keys[i], g.vals[i]) {
				return
			}
		}
		if gi++; gi == n {
			gi = 0
		}
	}
}

// random returns an entry picked uniformly at random (ok false when the
// table is empty).
func (d *keyDict[V]) random() (kp unsafe.Pointer, v V, ok bool) {
	if d.count == 0 {
		return nil, v, false
	}
	slots := len(d.groups) * kdSlots
	for range kdRandomTries {
		s := rand.IntN(slots)
		g := &d.groups[s/kdSlots]
		if i := s % kdSlots; g.ctrl>>(uint(i)*8)&0x80 == 0 {
			return g.keys[i], g.vals[i], true
		}
	}
	// A sparse table: take the first entry after a random slot.
	s := rand.IntN(slots)
	for range slots + 1 {
		g := &d.groups[s/kdSlots]
		if i := s % kdSlots; g.ctrl>>(uint(i)*8)&0x80 == 0 {
			return g.keys[i], g.vals[i], true
		}
		if s++; s == slots {
			s = 0
		}
	}
	return nil, v, false
}
