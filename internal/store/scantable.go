package store

import (
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// tableEntry is one element of a scanTable bucket chain.
type tableEntry[V any] struct {
	key  string
	val  V
	next *tableEntry[V]
}

// scanTable is a chained hash table whose bucket count is a power of two.
// It exists (instead of a Go map) for SCAN-family cursors: visiting buckets
// in reverse-binary order, as Redis's dictScan does, returns every element
// present for the whole iteration at least once even when the table grows
// or shrinks between calls. It backs the "hashtable" encodings of hashes
// and sets.
type scanTable[V any] struct {
	buckets []*tableEntry[V]
	count   int
	seed    maphash.Seed
}

// tableMinSize is the smallest bucket count (DICT_HT_INITIAL_SIZE).
const tableMinSize = 4

func newScanTable[V any](hint int) *scanTable[V] {
	return &scanTable[V]{
		buckets: make([]*tableEntry[V], tableSizeFor(hint)),
		seed:    maphash.MakeSeed(),
	}
}

// tableSizeFor is the smallest power of two >= n, at least tableMinSize.
func tableSizeFor(n int) int {
	if n <= tableMinSize {
		return tableMinSize
	}
	return 1 << bits.Len(uint(n-1))
}

// bstr views b as a string without copying. The result must not be kept
// beyond the call it is passed to.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// sbytes views s as a byte slice without copying; it must not be modified.
func sbytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func (t *scanTable[V]) bucket(key string) int {
	return int(maphash.String(t.seed, key) & uint64(len(t.buckets)-1))
}

// find returns the entry of key, nil if absent.
func (t *scanTable[V]) find(key string) *tableEntry[V] {
	for e := t.buckets[t.bucket(key)]; e != nil; e = e.next {
		if e.key == key {
			return e
		}
	}
	return nil
}

// insert adds key, which the caller knows to be absent. key must be owned
// by the table (not a transient view).
func (t *scanTable[V]) insert(key string, val V) {
	b := t.bucket(key)
	t.buckets[b] = &tableEntry[V]{key: key, val: val, next: t.buckets[b]}
	t.count++
	if t.count > len(t.buckets) {
		t.resize(len(t.buckets) * 2)
	}
}

// remove deletes key and reports whether it was present.
func (t *scanTable[V]) remove(key string) bool {
	b := t.bucket(key)
	var prev *tableEntry[V]
	for e := t.buckets[b]; e != nil; e = e.next {
		if e.key == key {
			if prev == nil {
				t.buckets[b] = e.next
			} else {
				prev.next = e.next
			}
			t.count--
			t.maybeShrink()
			return true
		}
		prev = e
	}
	return false
}

// maybeShrink shrinks a table filled below 10% (Redis's HASHTABLE_MIN_FILL).
func (t *scanTable[V]) maybeShrink() {
	if len(t.buckets) > tableMinSize && t.count*10 < len(t.buckets) {
		t.resize(tableSizeFor(t.count))
	}
}

// resize rehashes every entry into n buckets (n a power of two).
func (t *scanTable[V]) resize(n int) {
	if n == len(t.buckets) {
		return
	}
	nb := make([]*tableEntry[V], n)
	mask := uint64(n - 1)
	for _, e := range t.buckets {
		for e != nil {
			next := e.next
			i := maphash.String(t.seed, e.key) & mask
			e.next = nb[i]
			nb[i] = e
			e = next
		}
	}
	t.buckets = nb
}

// each calls fn for every entry in bucket order until fn returns false.
// fn must not modify the table.
func (t *scanTable[V]) each(fn func(e *tableEntry[V]) bool) {
	for _, e := range t.buckets {
		for ; e != nil; e = e.next {
			if !fn(e) {
				return
			}
		}
	}
}

// scanStep visits the bucket the cursor designates, calling fn for each of
// its entries, and returns the next cursor (0 when the iteration is over).
func (t *scanTable[V]) scanStep(cursor uint64, fn func(e *tableEntry[V])) uint64 {
	mask := uint64(len(t.buckets) - 1)
	for e := t.buckets[cursor&mask]; e != nil; e = e.next {
		fn(e)
	}
	cursor |= ^mask
	cursor = bits.Reverse64(cursor)
	cursor++
	return bits.Reverse64(cursor)
}

// random returns a random entry of a non-empty table.
func (t *scanTable[V]) random() *tableEntry[V] {
	mask := len(t.buckets) - 1
	for {
		e := t.buckets[rand.IntN(mask+1)]
		if e == nil {
			continue
		}
		n := 0
		for x := e; x != nil; x = x.next {
			n++
		}
		for i := rand.IntN(n); i > 0; i-- {
			e = e.next
		}
		return e
	}
}
