package store

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"

	"github.com/redcluster/redcluster/internal/slots"
)

// mapDB is the keyspace layout keyDict replaced (a Go map per slot, and
// the 64-byte Object of that time), kept here as the benchmarks' baseline.
type mapDB struct {
	dicts [slots.Count]map[string]*oldObject
}

type oldObject struct {
	Expire int64
	LRU    uint32
	Type   Type
	Str    []byte
	Val    any
}

func (m *mapDB) lookup(key []byte) *oldObject {
	return m.dicts[slots.KeySlot(key)][string(key)]
}

func (m *mapDB) set(key []byte, o *oldObject) {
	s := slots.KeySlot(key)
	d := m.dicts[s]
	if d == nil {
		d = make(map[string]*oldObject)
		m.dicts[s] = d
	}
	d[string(key)] = o
}

func (m *mapDB) del(key []byte) {
	s := slots.KeySlot(key)
	delete(m.dicts[s], string(key))
}

// benchKeys returns n keys "key:N" (the memory benchmark's) in random order.
func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.Itoa(i))
	}
	r := rand.New(rand.NewPCG(7, 7))
	r.Shuffle(n, func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return keys
}

var benchSizes = []int{100_000, 1_000_000}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// fillDict loads n keys the way SET does; the returned function reports
// the live heap per key (call it after the timed loop: ResetTimer drops
// metrics).
func fillDict(b *testing.B, keys [][]byte) (*DB, func()) {
	before := heapInUse()
	ks := NewKeyspace(1, func() int64 { return 0 })
	db := ks.DBs[0]
	for i, k := range keys {
		db.SetStringCopy(k, fmt.Appendf(nil, "v%09d", i), &Object{Type: TypeString})
	}
	per := float64(heapInUse()-before) / float64(len(keys))
	return db, func() { b.ReportMetric(per, "heapB/key") }
}

func fillMap(b *testing.B, keys [][]byte) (*mapDB, func()) {
	before := heapInUse()
	m := &mapDB{}
	for i, k := range keys {
		m.set(k, &oldObject{Type: TypeString, Str: fmt.Appendf(nil, "v%09d", i)})
	}
	per := float64(heapInUse()-before) / float64(len(keys))
	return m, func() { b.ReportMetric(per, "heapB/key") }
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range benchSizes {
		keys := benchKeys(n)
		b.Run(fmt.Sprintf("dict/%d", n), func(b *testing.B) {
			db, report := fillDict(b, keys)
			defer report()
			b.ResetTimer()
			for i := range b.N {
				if db.Lookup(keys[i%n], 0) == nil {
					b.Fatal("missing")
				}
			}
		})
		b.Run(fmt.Sprintf("map/%d", n), func(b *testing.B) {
			m, report := fillMap(b, keys)
			defer report()
			b.ResetTimer()
			for i := range b.N {
				if m.lookup(keys[i%n]) == nil {
					b.Fatal("missing")
				}
			}
		})
	}
}

func BenchmarkLookupMiss(b *testing.B) {
	for _, n := range benchSizes {
		keys := benchKeys(n)
		miss := make([][]byte, n)
		for i := range miss {
			miss[i] = []byte("nokey:" + strconv.Itoa(i))
		}
		b.Run(fmt.Sprintf("dict/%d", n), func(b *testing.B) {
			db, report := fillDict(b, keys)
			defer report()
			b.ResetTimer()
			for i := range b.N {
				if db.Lookup(miss[i%n], 0) != nil {
					b.Fatal("found")
				}
			}
		})
		b.Run(fmt.Sprintf("map/%d", n), func(b *testing.B) {
			m, report := fillMap(b, keys)
			defer report()
			b.ResetTimer()
			for i := range b.N {
				if m.lookup(miss[i%n]) != nil {
					b.Fatal("found")
				}
			}
		})
	}
}

// BenchmarkSetExisting replaces the value object of existing keys.
func BenchmarkSetExisting(b *testing.B) {
	for _, n := range benchSizes {
		keys := benchKeys(n)
		objs := make([]*Object, 1024)
		olds := make([]*oldObject, 1024)
		for i := range objs {
			objs[i] = NewString([]byte("v"))
			olds[i] = &oldObject{Str: []byte("v")}
		}
		b.Run(fmt.Sprintf("dict/%d", n), func(b *testing.B) {
			db, report := fillDict(b, keys)
			defer report()
			b.ResetTimer()
			for i := range b.N {
				db.Set(keys[i%n], objs[i&1023])
			}
		})
		b.Run(fmt.Sprintf("map/%d", n), func(b *testing.B) {
			m, report := fillMap(b, keys)
			defer report()
			b.ResetTimer()
			for i := range b.N {
				m.set(keys[i%n], olds[i&1023])
			}
		})
	}
}

// BenchmarkInsertDelete deletes a key and inserts it again (a new key
// each time for the dictionary: the key bytes are copied).
func BenchmarkInsertDelete(b *testing.B) {
	for _, n := range benchSizes {
		keys := benchKeys(n)
		o := NewString([]byte("v"))
		old := &oldObject{Str: []byte("v")}
		b.Run(fmt.Sprintf("dict/%d", n), func(b *testing.B) {
			db, report := fillDict(b, keys)
			defer report()
			b.ResetTimer()
			for i := range b.N {
				k := keys[i%n]
				db.Delete(k, 0)
				db.Set(k, o)
			}
		})
		b.Run(fmt.Sprintf("map/%d", n), func(b *testing.B) {
			m, report := fillMap(b, keys)
			defer report()
			b.ResetTimer()
			for i := range b.N {
				k := keys[i%n]
				m.del(k)
				m.set(k, old)
			}
		})
	}
}

// BenchmarkFill measures inserting new keys into a keyspace that grows
// from empty to n keys (and starts over), per key.
func BenchmarkFill(b *testing.B) {
	for _, n := range benchSizes {
		keys := benchKeys(n)
		val := []byte("v000000000")
		b.Run(fmt.Sprintf("dict/%d", n), func(b *testing.B) {
			var db *DB
			for i := range b.N {
				if i%n == 0 {
					db = NewKeyspace(1, func() int64 { return 0 }).DBs[0]
				}
				db.SetStringCopy(keys[i%n], val, &Object{Type: TypeString})
			}
		})
		b.Run(fmt.Sprintf("map/%d", n), func(b *testing.B) {
			var m *mapDB
			for i := range b.N {
				if i%n == 0 {
					m = &mapDB{}
				}
				m.set(keys[i%n], &oldObject{Type: TypeString, Str: append([]byte(nil), val...)})
			}
		})
	}
}

// BenchmarkForEachInSlot walks every slot of a 1M-key database, as an
// RDB snapshot does, per key.
func BenchmarkForEachInSlot(b *testing.B) {
	const n = 1000000
	db := NewKeyspace(1, func() int64 { return 0 }).DBs[0]
	for i := range n {
		db.SetStringCopy([]byte("key:"+strconv.Itoa(i)), []byte("v000000000"), &Object{Type: TypeString})
	}
	var sum int
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		for slot := range slots.Count {
			db.ForEachInSlotWarm(slot, func(key string, o *Object) bool {
				sum += len(key) + len(o.Bytes())
				return true
			})
		}
	}
	if sum == 0 {
		b.Fatal("nothing visited")
	}
}
