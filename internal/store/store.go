// Package store holds the keyspace: one dictionary per hash slot per
// database, the value objects, expiry and the slot locks that make a
// command atomic (architecture.md, "Concurrency").
package store

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

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

// Object is one value in the keyspace. Strings keep their bytes in the
// object (Bytes, SetBytes); the other types live in Val (*List, *Hash,
// *Set, *ZSet as defined by their files). The layout fits Go's 48-byte
// size class: a string's slice is split into a pointer and two uint32s.
type Object struct {
	Expire int64  // absolute Unix time in ms; 0 means no expiry
	LRU    uint32 // LRU clock (seconds) of the last access
	Type   Type
	// Enc pins a string's OBJECT ENCODING (see StrEnc); 0 means the
	// encoding SET would give its bytes.
	Enc StrEnc
	// str, strLen and strCap are a string's []byte (see Bytes). Strings of
	// 4 GiB or more keep their slice in Val instead (strLen == strHuge).
	str    unsafe.Pointer
	strLen uint32
	strCap uint32
	Val    any
}

// strHuge marks a string object whose bytes are too long for strLen and
// live in Val as a *[]byte.
const strHuge = math.MaxUint32

// NewString returns a string object holding b (not copied).
func NewString(b []byte) *Object {
	o := &Object{Type: TypeString}
	o.SetBytes(b)
	return o
}

// Bytes returns a string object's bytes, with the capacity they were given
// (SetBytes): the caller may modify them in place or append and store the
// result back with SetBytes. Empty strings may be returned as nil.
func (o *Object) Bytes() []byte {
	if o.strLen == strHuge {
		return *o.Val.(*[]byte)
	}
	return unsafe.Slice((*byte)(o.str), o.strCap)[:o.strLen]
}

// SetBytes makes b (not copied) the bytes of a string object.
func (o *Object) SetBytes(b []byte) { o.setBytes(b, strHuge) }

// setBytes is SetBytes with the length from which the slice goes to Val.
func (o *Object) setBytes(b []byte, huge int) {
	if cap(b) >= huge {
		o.str, o.strLen, o.strCap = nil, strHuge, 0
		p := new([]byte) // not &b: that would move every b to the heap
		*p = b
		o.Val = p
		return
	}
	if o.strLen == strHuge {
		o.Val = nil
	}
	if cap(b) == 0 {
		o.str = nil
	} else {
		o.str = unsafe.Pointer(unsafe.SliceData(b))
	}
	o.strLen, o.strCap = uint32(len(b)), uint32(cap(b))
}

// Hooks let the server observe keyspace events it must react to. They run
// with the key's slot lock held and must not block.
type Hooks struct {
	// Added is called when a key is created or replaced (dbAdd in Redis):
	// blocked clients waiting on lists and sorted sets are woken from it.
	Added func(db int, key string, t Type)
	// Expired is called when a key of a slot is deleted because its TTL
	// passed.
	Expired func(db, slot int, key string)
}

// Keyspace is every database of the node plus the slot locks. A caller
// must hold the lock of a key's slot while it reads or writes the key.
type Keyspace struct {
	DBs []*DB
	// locks are not padded to cache lines: 16384 x 8 bytes stays in L2,
	// and two cores rarely touch neighbouring slots at once.
	locks [slots.Count]sync.Mutex
	Hooks Hooks
	// Now returns the current Unix time in ms; tests may replace it.
	Now func() int64
	// snapActive, snapPending and snapFn are the running snapshot's state
	// (StartSnapshot).
	snapActive  atomic.Bool
	snapPending [slots.Count / 64]atomic.Uint64
	snapFn      atomic.Pointer[func(slot int)]
	// keepExpired is set on a replica: a lookup of a key whose TTL passed
	// answers "no such key" but leaves the key in place, because only the
	// master deletes keys (it sends DEL); replication.md, "expiry".
	keepExpired atomic.Bool
}

// SetKeepExpired turns replica-style expiry on (lookups hide expired keys
// without deleting them) or off.
func (ks *Keyspace) SetKeepExpired(on bool) { ks.keepExpired.Store(on) }

// KeepExpired reports whether replica-style expiry is on.
func (ks *Keyspace) KeepExpired() bool { return ks.keepExpired.Load() }

// SwapContents exchanges the data of every database of ks with the same
// database of other (a replica swaps in the keyspace loaded by a full
// synchronization). The caller holds every slot lock of ks; other must
// not be in use. Hooks and locks stay with their keyspace.
func (ks *Keyspace) SwapContents(other *Keyspace) {
	for i := range min(len(ks.DBs), len(other.DBs)) {
		swapDBData(ks.DBs[i], other.DBs[i])
	}
}

// swapDBData exchanges the dictionaries and counters of two databases.
func swapDBData(da, db *DB) {
	da.dicts, db.dicts = db.dicts, da.dicts
	da.vol, db.vol = db.vol, da.vol
	for i := range da.volSlots {
		wa, wb := da.volSlots[i].Load(), db.volSlots[i].Load()
		da.volSlots[i].Store(wb)
		db.volSlots[i].Store(wa)
	}
	ka, kb := da.keys.Load(), db.keys.Load()
	da.keys.Store(kb)
	db.keys.Store(ka)
	ea, eb := da.expires.Load(), db.expires.Load()
	da.expires.Store(eb)
	db.expires.Store(ea)
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
func (ks *Keyspace) Lock(slot int) {
	ks.locks[slot].Lock()
	if ks.snapActive.Load() {
		ks.snapCheck(slot)
	}
}

// Unlock releases the lock of one slot.
func (ks *Keyspace) Unlock(slot int) { ks.locks[slot].Unlock() }

// LockSlots takes the locks of the given slots, which must be sorted
// ascending and free of duplicates (the lock order that avoids deadlock).
func (ks *Keyspace) LockSlots(ss []int) {
	for _, s := range ss {
		ks.Lock(s)
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
		ks.Lock(i)
	}
}

// Snapshots without fork: a copy-on-write at slot granularity. While a
// snapshot runs, every slot starts "pending"; whoever takes a pending
// slot's lock first (the snapshot walking the slots in order, or a
// command about to change it) hands the slot's current content to the
// snapshot's SlotFunc, under that lock, before anything else happens to
// it. So the snapshot sees every slot as it was at StartSnapshot, and no
// command waits for more than one slot's encoding.

// StartSnapshot marks every slot pending and installs fn, which receives
// each slot once, with its lock held. The caller holds every slot lock
// (the snapshot point). Only one snapshot runs at a time.
func (ks *Keyspace) StartSnapshot(fn func(slot int)) {
	ks.snapFn.Store(&fn)
	for i := range ks.snapPending {
		ks.snapPending[i].Store(^uint64(0))
	}
	ks.snapActive.Store(true)
}

// EndSnapshot ends a snapshot whose slots were all handed over (or
// abandoned: pending slots are dropped).
func (ks *Keyspace) EndSnapshot() {
	ks.snapActive.Store(false)
	for i := range ks.snapPending {
		ks.snapPending[i].Store(0)
	}
	ks.snapFn.Store(nil)
}

// snapCheck hands a pending slot to the snapshot. The caller holds the
// slot's lock, so only one goroutine sees the bit set.
func (ks *Keyspace) snapCheck(slot int) {
	w, bit := &ks.snapPending[slot/64], uint64(1)<<(slot%64)
	if w.Load()&bit == 0 {
		return
	}
	for {
		old := w.Load()
		if w.CompareAndSwap(old, old&^bit) {
			break
		}
	}
	if fn := ks.snapFn.Load(); fn != nil {
		(*fn)(slot)
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
	swapDBData(ks.DBs[a], ks.DBs[b])
}

// DB is one numbered database: a dictionary per slot and, per slot, the
// set of keys that carry a TTL (sampled by active expiry). The volatile
// set shares the key bytes of the main dictionary.
type DB struct {
	ID    int
	ks    *Keyspace
	dicts [slots.Count]*keyDict[*Object]
	vol   [slots.Count]*keyDict[struct{}]
	// volSlots marks the slots whose volatile set is non-empty, so active
	// expiry visits only those. Written under the slot's lock; read
	// without it (as a hint) by NextVolatileSlot.
	volSlots [slots.Count / 64]atomic.Uint64
	keys     atomic.Int64
	expires  atomic.Int64
	// initGroups is the group count a slot's dictionary starts with
	// (SizeHint), 0 for one group.
	initGroups int
}

// maxSlotHint bounds the keys per slot a SizeHint sizes a new dictionary
// for: a hint read from an RDB is not trusted to allocate much up front.
const maxSlotHint = 1024

// SizeHint announces that about n keys are about to be added (the RESIZEDB
// hint of the RDB a dataset loads from): the dictionaries of slots that
// get their first key from now on start sized for an even share of n (at
// most maxSlotHint keys) instead of growing to it one rehash at a time.
// SizeHint(0) goes back to one group. The hint belongs to the database,
// not to its data (SwapContents leaves it).
func (db *DB) SizeHint(n uint64) {
	per := min(n/slots.Count, maxSlotHint)
	if per < kdSlots {
		db.initGroups = 0
		return
	}
	db.initGroups = kdGroupsFor(int(per))
}

// Keyspace returns the keyspace the database belongs to.
func (db *DB) Keyspace() *Keyspace { return db.ks }

// Size returns the number of keys (DBSIZE), expired-but-not-yet-deleted included.
func (db *DB) Size() int64 { return db.keys.Load() }

// ExpiresCount returns the number of keys with a TTL.
func (db *DB) ExpiresCount() int64 { return db.expires.Load() }

// SlotSize returns the number of keys in a slot. Caller holds the slot lock.
func (db *DB) SlotSize(slot int) int {
	if d := db.dicts[slot]; d != nil {
		return d.len()
	}
	return 0
}

// find returns the entry of key in a slot's dictionary, nil if absent.
func (db *DB) find(slot int, key string, h uint64) (*kdGroup[*Object], int) {
	d := db.dicts[slot]
	if d == nil {
		return nil, 0
	}
	return d.find(key, h)
}

// Peek returns the object at key without expiring it or touching its LRU.
// Caller holds the slot lock.
func (db *DB) Peek(key []byte) *Object {
	return db.PeekIn(slots.KeySlot(key), key)
}

// PeekIn is Peek for a caller that knows the key's slot.
func (db *DB) PeekIn(slot int, key []byte) *Object {
	k := bstr(key)
	if g, i := db.find(slot, k, kdHash(k)); g != nil {
		return g.vals[i]
	}
	return nil
}

// Lookup returns the live object at key, deleting it first when its TTL has
// passed (lazy expiry), and refreshes its LRU clock. Caller holds the slot lock.
func (db *DB) Lookup(key []byte, now int64) *Object {
	return db.LookupIn(slots.KeySlot(key), key, now)
}

// LookupIn is Lookup for a caller that knows the key's slot (the
// dispatcher computed it to lock it: no second CRC16).
func (db *DB) LookupIn(slot int, key []byte, now int64) *Object {
	k := bstr(key)
	h := kdHash(k)
	g, i := db.find(slot, k, h)
	if g == nil {
		return nil
	}
	o := g.vals[i]
	if o.Expire != 0 && o.Expire <= now {
		if !db.ks.keepExpired.Load() {
			db.expireAt(slot, g, i, h)
		}
		return nil
	}
	o.LRU = LRUClock(now)
	return o
}

// LookupSlot is Lookup when the caller already knows the slot; it leaves
// the LRU clock alone.
func (db *DB) LookupSlot(slot int, key string, now int64) *Object {
	h := kdHash(key)
	g, i := db.find(slot, key, h)
	if g == nil {
		return nil
	}
	o := g.vals[i]
	if o.Expire != 0 && o.Expire <= now {
		if !db.ks.keepExpired.Load() {
			db.expireAt(slot, g, i, h)
		}
		return nil
	}
	return o
}

// expireAt deletes an entry whose TTL passed and runs the Expired hook.
func (db *DB) expireAt(slot int, g *kdGroup[*Object], i int, h uint64) {
	key := kdKeyAt(g.keys[i])
	db.removeAt(slot, g, i, h)
	if hk := db.ks.Hooks.Expired; hk != nil {
		hk(db.ID, slot, key)
	}
}

// Set stores o at key, replacing any previous value (and its TTL unless o
// carries one). Caller holds the slot lock.
func (db *DB) Set(key []byte, o *Object) {
	db.SetSlot(slots.KeySlot(key), bstr(key), o)
}

// SetIn is Set with the key's slot known.
func (db *DB) SetIn(slot int, key []byte, o *Object) { db.SetSlot(slot, bstr(key), o) }

// SetSlot is Set with a known slot. key is copied when it is new.
func (db *DB) SetSlot(slot int, key string, o *Object) {
	h := kdHash(key)
	if g, i := db.find(slot, key, h); g != nil {
		db.replaceAt(slot, g, i, h, o)
		return
	}
	kp, _ := kdNewKey(key, 0)
	db.insert(slot, h, kp, o)
}

// SetStringCopy is Set for a new string object o whose bytes are to be a
// copy of val (o's own bytes are replaced). When key is new its name and
// the value share one allocation, which matters for small strings.
func (db *DB) SetStringCopy(key, val []byte, o *Object) {
	db.SetStringCopyIn(slots.KeySlot(key), key, val, o)
}

// SetStringCopyIn is SetStringCopy with the key's slot known.
func (db *DB) SetStringCopyIn(slot int, key, val []byte, o *Object) {
	k := bstr(key)
	h := kdHash(k)
	if g, i := db.find(slot, k, h); g != nil {
		o.SetBytes(CopyBytes(val))
		db.replaceAt(slot, g, i, h, o)
		return
	}
	kp, tail := kdNewKey(k, len(val))
	copy(tail, val)
	o.SetBytes(tail)
	db.insert(slot, h, kp, o)
}

// replaceAt makes o the value of an existing entry.
func (db *DB) replaceAt(slot int, g *kdGroup[*Object], i int, h uint64, o *Object) {
	old, kp := g.vals[i], g.keys[i]
	g.vals[i] = o
	switch {
	case old.Expire != 0 && o.Expire == 0:
		db.unvol(slot, kdKeyAt(kp), h)
	case old.Expire == 0 && o.Expire != 0:
		db.addVol(slot, kp, h)
	}
	if hk := db.ks.Hooks.Added; hk != nil && old != o {
		hk(db.ID, kdKeyAt(kp), o.Type)
	}
}

// insert adds a new entry whose key bytes kp the dictionary takes over.
func (db *DB) insert(slot int, h uint64, kp unsafe.Pointer, o *Object) {
	d := db.dicts[slot]
	if d == nil {
		d = newKeyDict[*Object](max(1, db.initGroups))
		db.dicts[slot] = d
	}
	d.insert(h, kp, o)
	db.keys.Add(1)
	if o.Expire != 0 {
		db.addVol(slot, kp, h)
	}
	if hk := db.ks.Hooks.Added; hk != nil {
		hk(db.ID, kdKeyAt(kp), o.Type)
	}
}

// SetExpire sets (ms > 0) or removes (ms == 0) the TTL of an existing key.
// Caller holds the slot lock.
func (db *DB) SetExpire(key []byte, o *Object, ms int64) {
	if (ms != 0) != (o.Expire != 0) {
		k := bstr(key)
		slot, h := slots.KeySlot(key), kdHash(k)
		if ms == 0 {
			db.unvol(slot, k, h)
		} else if g, i := db.find(slot, k, h); g != nil && g.vals[i] == o {
			db.addVol(slot, g.keys[i], h)
		}
	}
	o.Expire = ms
}

// addVol adds a key (its bytes shared with the main dictionary) to the
// slot's volatile set unless it is there already.
func (db *DB) addVol(slot int, kp unsafe.Pointer, h uint64) {
	v := db.vol[slot]
	if v == nil {
		v = newKeyDict[struct{}](1)
		db.vol[slot] = v
	} else if g, _ := v.find(kdKeyAt(kp), h); g != nil {
		return
	}
	v.insert(h, kp, struct{}{})
	db.expires.Add(1)
	if v.count == 1 {
		db.markVolatile(slot, true)
	}
}

// markVolatile sets or clears a slot's bit in volSlots. Caller holds the
// slot lock.
func (db *DB) markVolatile(slot int, has bool) {
	w, bit := &db.volSlots[slot>>6], uint64(1)<<(uint(slot)&63)
	if has {
		w.Or(bit)
	} else {
		w.And(^bit)
	}
}

// NextVolatileSlot returns the first slot at or after from (wrapping past
// the last slot) that holds keys with a TTL, and false when none does. It
// takes no lock: the answer is a hint that the caller rechecks under the
// slot lock.
func (db *DB) NextVolatileSlot(from int) (int, bool) {
	from %= slots.Count
	n := len(db.volSlots)
	start := from >> 6
	// the first word is masked below from; it is looked at again, unmasked,
	// after wrapping around
	for i := 0; i <= n; i++ {
		wi := (start + i) % n
		w := db.volSlots[wi].Load()
		if i == 0 {
			w &= ^uint64(0) << (uint(from) & 63)
		}
		if w != 0 {
			return wi<<6 + bits.TrailingZeros64(w), true
		}
	}
	return 0, false
}

// unvol removes a key from the slot's volatile set if it is there.
func (db *DB) unvol(slot int, key string, h uint64) {
	v := db.vol[slot]
	if v == nil {
		return
	}
	if g, i := v.find(key, h); g != nil {
		v.removeAt(g, i)
		db.expires.Add(-1)
		if v.count == 0 {
			db.markVolatile(slot, false)
			if v.iters == 0 {
				db.vol[slot] = nil
			}
		}
	}
}

// Delete removes key; it reports whether the key existed (expired keys count
// as absent). Caller holds the slot lock.
func (db *DB) Delete(key []byte, now int64) bool {
	k := bstr(key)
	slot, h := slots.KeySlot(key), kdHash(k)
	g, i := db.find(slot, k, h)
	if g == nil {
		return false
	}
	if o := g.vals[i]; o.Expire != 0 && o.Expire <= now {
		db.expireAt(slot, g, i, h)
		return false
	}
	db.removeAt(slot, g, i, h)
	return true
}

// removeAt deletes an entry of the slot's dictionary and its TTL.
func (db *DB) removeAt(slot int, g *kdGroup[*Object], i int, h uint64) {
	o, key := g.vals[i], kdKeyAt(g.keys[i])
	d := db.dicts[slot]
	d.removeAt(g, i)
	db.keys.Add(-1)
	if o.Expire != 0 {
		db.unvol(slot, key, h)
	}
	if d.count == 0 && d.iters == 0 {
		db.dicts[slot] = nil
	}
}

// DeleteSlot removes key from a known slot without expiry checks. Caller
// holds the slot lock.
func (db *DB) DeleteSlot(slot int, key string) {
	h := kdHash(key)
	if g, i := db.find(slot, key, h); g != nil {
		db.removeAt(slot, g, i, h)
	}
}

// ForEachInSlot calls fn for every key of a slot (expired ones included),
// starting at a random place, until fn returns false. The key strings stay
// valid after the call. Caller holds the slot lock; fn must not modify the slot.
func (db *DB) ForEachInSlot(slot int, fn func(key string, o *Object) bool) {
	d := db.dicts[slot]
	if d == nil {
		return
	}
	d.each(func(kp unsafe.Pointer, o *Object) bool { return fn(kdKeyAt(kp), o) })
}

// ForEachInSlotWarm is ForEachInSlot for a walk that visits the whole slot
// (a snapshot): it touches the keys and objects of the next groups ahead
// of fn so that their cache misses overlap. A walk that stops after a few
// keys (eviction's sample) uses ForEachInSlot and reads nothing ahead.
func (db *DB) ForEachInSlotWarm(slot int, fn func(key string, o *Object) bool) {
	d := db.dicts[slot]
	if d == nil {
		return
	}
	d.eachWarm(func(gs []kdGroup[*Object]) { d.warm += warmGroups(gs) },
		func(kp unsafe.Pointer, o *Object) bool { return fn(kdKeyAt(kp), o) })
}

// warmGroups reads the first byte of every key and object of some groups
// of a slot's dictionary, and returns them summed so that the loads stay.
// Each key and object is an allocation of its own, so a walk that visits
// them one by one waits for a cache miss or two per key (most of the time
// of an RDB snapshot); these loads depend on nothing but the table, and
// the CPU overlaps their misses.
func warmGroups(gs []kdGroup[*Object]) uint8 {
	var sum uint8
	for gi := range gs {
		g := &gs[gi]
		for m := kdMatchFull(g.ctrl); m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m) >> 3
			sum += *(*uint8)(g.keys[i]) + uint8(g.vals[i].Type)
		}
	}
	return sum
}

// ForEachVolatileInSlot calls fn for keys with a TTL in a slot, starting at
// a random place (active expiry uses the order as its sample), until fn
// returns false. fn may delete the key it is given. Caller holds the slot lock.
func (db *DB) ForEachVolatileInSlot(slot int, fn func(key string) bool) {
	v := db.vol[slot]
	if v == nil {
		return
	}
	v.each(func(kp unsafe.Pointer, _ struct{}) bool { return fn(kdKeyAt(kp)) })
	if v.count == 0 && db.vol[slot] == v {
		db.vol[slot] = nil
		db.markVolatile(slot, false)
	}
	if d := db.dicts[slot]; d != nil && d.count == 0 {
		db.dicts[slot] = nil
	}
}

// FlushSlot removes every key of a slot. Caller holds the slot lock.
func (db *DB) FlushSlot(slot int) int {
	n := db.SlotSize(slot)
	db.keys.Add(-int64(n))
	if v := db.vol[slot]; v != nil {
		db.expires.Add(-int64(v.len()))
	}
	db.dicts[slot] = nil
	db.vol[slot] = nil
	db.markVolatile(slot, false)
	return n
}

// RandomKeyInSlot returns some key of a slot, "" when empty. Caller holds the lock.
func (db *DB) RandomKeyInSlot(slot int) (string, bool) {
	d := db.dicts[slot]
	if d == nil {
		return "", false
	}
	kp, _, ok := d.random()
	if !ok {
		return "", false
	}
	return kdKeyAt(kp), true
}

// LRUClock converts a time in ms to the LRU clock resolution (seconds).
func LRUClock(nowMs int64) uint32 { return uint32(nowMs / 1000) }

// Encoder is implemented by the non-string value types kept in Object.Val
// to report their OBJECT ENCODING name ("listpack", "hashtable", ...).
type Encoder interface{ Encoding() string }

// Duplicator is implemented by the non-string value types kept in
// Object.Val to return a deep copy of themselves (COPY).
type Duplicator interface{ Dup() any }
