// Package store holds the keyspace: one dictionary per hash slot per
// database, the value objects, expiry and the slot locks that make a
// command atomic (architecture.md, "Concurrency").
package store

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/redcluster/redcluster/internal/slots"
)

// Type is the Redis data type of a value.
type Type uint8

// The value types, in the order TYPE names them.
const (
	TypeString Type = iota
	TypeList
	TypeSet
	TypeZSet
	TypeHash
)

// String returns the name TYPE replies with.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	case TypeHash:
		return "hash"
	}
	return "none"
}

// Object is one value in the keyspace. Strings live in Str; the other
// types in Val (*List, *Hash, *Set, *ZSet as defined by their files).
type Object struct {
	Expire int64  // absolute Unix time in ms; 0 means no expiry
	LRU    uint32 // LRU clock (seconds) of the last access
	Type   Type
	Str    []byte
	Val    any
}

// NewString returns a string object holding b (not copied).
func NewString(b []byte) *Object { return &Object{Type: TypeString, Str: b} }

// Hooks let the server observe keyspace events it must react to. They run
// with the key's slot lock held and must not block.
type Hooks struct {
	// Added is called when a key is created or replaced (dbAdd in Redis):
	// blocked clients waiting on lists and sorted sets are woken from it.
	Added func(db int, key string, t Type)
	// Expired is called when a key is deleted because its TTL passed.
	Expired func(db int, key string)
}

// Keyspace is every database of the node plus the slot locks. A caller
// must hold the lock of a key's slot while it reads or writes the key.
type Keyspace struct {
	DBs   []*DB
	// locks are not padded to cache lines: 16384 x 8 bytes stays in L2,
	// and two cores rarely touch neighbouring slots at once.
	locks [slots.Count]sync.Mutex
	Hooks Hooks
	// Now returns the current Unix time in ms; tests may replace it.
	Now func() int64
}

// NewKeyspace returns a keyspace with n empty databases.
func NewKeyspace(n int, now func() int64) *Keyspace {
	ks := &Keyspace{Now: now}
	ks.DBs = make([]*DB, n)
	for i := range ks.DBs {
		ks.DBs[i] = &DB{ID: i, ks: ks}
	}
	return ks
}

// Lock takes the lock of one slot.
func (ks *Keyspace) Lock(slot int) { ks.locks[slot].Lock() }

// Unlock releases the lock of one slot.
func (ks *Keyspace) Unlock(slot int) { ks.locks[slot].Unlock() }

// LockSlots takes the locks of the given slots, which must be sorted
// ascending and free of duplicates (the lock order that avoids deadlock).
func (ks *Keyspace) LockSlots(ss []int) {
	for _, s := range ss {
		ks.locks[s].Lock()
	}
}

// UnlockSlots releases what LockSlots took.
func (ks *Keyspace) UnlockSlots(ss []int) {
	for i := len(ss) - 1; i >= 0; i-- {
		ks.locks[ss[i]].Unlock()
	}
}

// LockAll takes every slot lock (SWAPDB, FLUSHALL, snapshots).
func (ks *Keyspace) LockAll() {
	for i := range ks.locks {
		ks.locks[i].Lock()
	}
}

// UnlockAll releases what LockAll took.
func (ks *Keyspace) UnlockAll() {
	for i := len(ks.locks) - 1; i >= 0; i-- {
		ks.locks[i].Unlock()
	}
}

// SwapDB exchanges the contents of databases a and b. The caller holds
// every slot lock.
func (ks *Keyspace) SwapDB(a, b int) {
	da, db := ks.DBs[a], ks.DBs[b]
	da.dicts, db.dicts = db.dicts, da.dicts
	da.vol, db.vol = db.vol, da.vol
	ka, kb := da.keys.Load(), db.keys.Load()
	da.keys.Store(kb)
	db.keys.Store(ka)
	ea, eb := da.expires.Load(), db.expires.Load()
	da.expires.Store(eb)
	db.expires.Store(ea)
}

// DB is one numbered database: a dictionary per slot and, per slot, the
// set of keys that carry a TTL (sampled by active expiry).
type DB struct {
	ID      int
	ks      *Keyspace
	dicts   [slots.Count]map[string]*Object
	vol     [slots.Count]map[string]struct{}
	keys    atomic.Int64
	expires atomic.Int64
}

// Keyspace returns the keyspace the database belongs to.
func (db *DB) Keyspace() *Keyspace { return db.ks }

// Size returns the number of keys (DBSIZE), expired-but-not-yet-deleted included.
func (db *DB) Size() int64 { return db.keys.Load() }

// ExpiresCount returns the number of keys with a TTL.
func (db *DB) ExpiresCount() int64 { return db.expires.Load() }

// SlotSize returns the number of keys in a slot. Caller holds the slot lock.
func (db *DB) SlotSize(slot int) int { return len(db.dicts[slot]) }

// Peek returns the object at key without expiring it or touching its LRU.
// Caller holds the slot lock.
func (db *DB) Peek(key []byte) *Object {
	return db.dicts[slots.KeySlot(key)][string(key)]
}

// Lookup returns the live object at key, deleting it first when its TTL has
// passed (lazy expiry), and refreshes its LRU clock. Caller holds the slot lock.
func (db *DB) Lookup(key []byte, now int64) *Object {
	slot := slots.KeySlot(key)
	o := db.dicts[slot][string(key)]
	if o == nil {
		return nil
	}
	if o.Expire != 0 && o.Expire <= now {
		db.expireKey(slot, string(key))
		return nil
	}
	o.LRU = LRUClock(now)
	return o
}

// LookupSlot is Lookup when the caller already knows the slot.
func (db *DB) LookupSlot(slot int, key string, now int64) *Object {
	o := db.dicts[slot][key]
	if o == nil {
		return nil
	}
	if o.Expire != 0 && o.Expire <= now {
		db.expireKey(slot, key)
		return nil
	}
	return o
}

func (db *DB) expireKey(slot int, key string) {
	db.deleteSlot(slot, key)
	if h := db.ks.Hooks.Expired; h != nil {
		h(db.ID, key)
	}
}

// Set stores o at key, replacing any previous value (and its TTL unless o
// carries one). Caller holds the slot lock.
func (db *DB) Set(key []byte, o *Object) {
	db.SetSlot(slots.KeySlot(key), string(key), o)
}

// SetSlot is Set with a known slot.
func (db *DB) SetSlot(slot int, key string, o *Object) {
	d := db.dicts[slot]
	if d == nil {
		d = make(map[string]*Object)
		db.dicts[slot] = d
	}
	old, existed := d[key]
	if !existed {
		db.keys.Add(1)
	} else if old.Expire != 0 && o.Expire == 0 {
		db.unvol(slot, key)
	}
	d[key] = o
	if o.Expire != 0 && (!existed || old.Expire == 0) {
		db.addVol(slot, key)
	}
	if h := db.ks.Hooks.Added; h != nil && (!existed || old != o) {
		h(db.ID, key, o.Type)
	}
}

// SetExpire sets (ms > 0) or removes (ms == 0) the TTL of an existing key.
// Caller holds the slot lock.
func (db *DB) SetExpire(key []byte, o *Object, ms int64) {
	slot := slots.KeySlot(key)
	switch {
	case ms != 0 && o.Expire == 0:
		db.addVol(slot, string(key))
	case ms == 0 && o.Expire != 0:
		db.unvol(slot, string(key))
	}
	o.Expire = ms
}

func (db *DB) addVol(slot int, key string) {
	v := db.vol[slot]
	if v == nil {
		v = make(map[string]struct{})
		db.vol[slot] = v
	}
	v[key] = struct{}{}
	db.expires.Add(1)
}

func (db *DB) unvol(slot int, key string) {
	if v := db.vol[slot]; v != nil {
		if _, ok := v[key]; ok {
			delete(v, key)
			db.expires.Add(-1)
			if len(v) == 0 {
				db.vol[slot] = nil
			}
		}
	}
}

// Delete removes key; it reports whether the key existed (expired keys count
// as absent). Caller holds the slot lock.
func (db *DB) Delete(key []byte, now int64) bool {
	slot := slots.KeySlot(key)
	o := db.dicts[slot][string(key)]
	if o == nil {
		return false
	}
	if o.Expire != 0 && o.Expire <= now {
		db.expireKey(slot, string(key))
		return false
	}
	db.deleteSlot(slot, string(key))
	return true
}

func (db *DB) deleteSlot(slot int, key string) {
	d := db.dicts[slot]
	o, ok := d[key]
	if !ok {
		return
	}
	delete(d, key)
	db.keys.Add(-1)
	if o.Expire != 0 {
		db.unvol(slot, key)
	}
	if len(d) == 0 {
		db.dicts[slot] = nil
	}
}

// DeleteSlot removes key from a known slot without expiry checks. Caller
// holds the slot lock.
func (db *DB) DeleteSlot(slot int, key string) { db.deleteSlot(slot, key) }

// ForEachInSlot calls fn for every key of a slot (expired ones included)
// until fn returns false. Caller holds the slot lock; fn must not modify the slot.
func (db *DB) ForEachInSlot(slot int, fn func(key string, o *Object) bool) {
	for k, o := range db.dicts[slot] {
		if !fn(k, o) {
			return
		}
	}
}

// ForEachVolatileInSlot calls fn for keys with a TTL in a slot (Go's map
// order is random, which active expiry uses as its sample) until fn returns
// false. fn may delete the key it is given. Caller holds the slot lock.
func (db *DB) ForEachVolatileInSlot(slot int, fn func(key string) bool) {
	for k := range db.vol[slot] {
		if !fn(k) {
			return
		}
	}
}

// FlushSlot removes every key of a slot. Caller holds the slot lock.
func (db *DB) FlushSlot(slot int) int {
	n := len(db.dicts[slot])
	db.keys.Add(-int64(n))
	db.expires.Add(-int64(len(db.vol[slot])))
	db.dicts[slot] = nil
	db.vol[slot] = nil
	return n
}

// RandomKeyInSlot returns some key of a slot, "" when empty. Caller holds the lock.
func (db *DB) RandomKeyInSlot(slot int) (string, bool) {
	d := db.dicts[slot]
	if len(d) == 0 {
		return "", false
	}
	skip := rand.IntN(len(d))
	for k := range d {
		if skip == 0 {
			return k, true
		}
		skip--
	}
	return "", false
}

// LRUClock converts a time in ms to the LRU clock resolution (seconds).
func LRUClock(nowMs int64) uint32 { return uint32(nowMs / 1000) }

// Encoder is implemented by the non-string value types kept in Object.Val
// to report their OBJECT ENCODING name ("listpack", "hashtable", ...).
type Encoder interface{ Encoding() string }

// Duplicator is implemented by the non-string value types kept in
// Object.Val to return a deep copy of themselves (COPY).
type Duplicator interface{ Dup() any }
