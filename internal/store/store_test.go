package store

import (
	"fmt"
	"sort"
	"strconv"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/slots"
)

func TestObjectSize(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(Object{}), uintptr(48))
}

func TestObjectBytes(t *testing.T) {
	o := NewString([]byte("abc"))
	require.Equal(t, "abc", string(o.Bytes()))
	b := make([]byte, 2, 10)
	o.SetBytes(b)
	got := o.Bytes()
	require.Len(t, got, 2)
	require.Equal(t, 10, cap(got))
	got = append(got, 'x')
	require.Same(t, &b[0], &got[0], "appending within capacity stays in place")
	o.SetBytes(got)
	require.Equal(t, []byte{0, 0, 'x'}, o.Bytes())
	o.SetBytes(nil)
	require.Empty(t, o.Bytes())
	o.SetBytes([]byte{})
	require.Empty(t, o.Bytes())
	require.Nil(t, o.Val)

	// the long-string representation, exercised with a small threshold
	long := []byte("0123456789")
	o.setBytes(long, 8)
	require.Equal(t, "0123456789", string(o.Bytes()))
	require.Same(t, &long[0], &o.Bytes()[0])
	o.setBytes([]byte("ab"), 8)
	require.Equal(t, "ab", string(o.Bytes()))
	require.Nil(t, o.Val)
}

// keysOf lists every key of a database.
func keysOf(db *DB) []string {
	var out []string
	for s := range slots.Count {
		db.ForEachInSlot(s, func(k string, _ *Object) bool {
			out = append(out, k)
			return true
		})
	}
	sort.Strings(out)
	return out
}

func TestDBSetLookupDelete(t *testing.T) {
	now := int64(1_000_000)
	ks := NewKeyspace(2, func() int64 { return now })
	var added, expired []string
	ks.Hooks.Added = func(_ int, k string, _ Type) { added = append(added, k) }
	ks.Hooks.Expired = func(_, _ int, k string) { expired = append(expired, k) }
	db := ks.DBs[0]

	key := []byte("foo")
	db.Set(key, NewString([]byte("bar")))
	key[0] = 'x' // the dictionary copied the key
	require.Nil(t, db.Peek([]byte("xoo")))
	o := db.Lookup([]byte("foo"), now)
	require.Equal(t, "bar", string(o.Bytes()))
	require.Equal(t, LRUClock(now), o.LRU)
	require.Equal(t, int64(1), db.Size())
	require.Equal(t, []string{"foo"}, added)

	// replacing with the same object runs no hook; another object does
	db.Set([]byte("foo"), o)
	require.Len(t, added, 1)
	db.Set([]byte("foo"), NewString([]byte("baz")))
	require.Len(t, added, 2)
	require.Equal(t, int64(1), db.Size())

	require.False(t, db.Delete([]byte("nope"), now))
	require.True(t, db.Delete([]byte("foo"), now))
	require.Zero(t, db.Size())
	require.Nil(t, db.dicts[slots.KeySlot([]byte("foo"))], "an empty slot frees its table")

	// lazy expiry
	e := NewString([]byte("v"))
	e.Expire = now + 10
	db.Set([]byte("e"), e)
	require.Equal(t, int64(1), db.ExpiresCount())
	require.NotNil(t, db.Lookup([]byte("e"), now))
	now += 10
	require.Nil(t, db.Lookup([]byte("e"), now))
	require.Equal(t, []string{"e"}, expired)
	require.Zero(t, db.Size())
	require.Zero(t, db.ExpiresCount())

	// Delete of an expired key reports absent and runs the hook
	e = NewString([]byte("v"))
	e.Expire = now - 1
	db.Set([]byte("e2"), e)
	require.False(t, db.Delete([]byte("e2"), now))
	require.Equal(t, []string{"e", "e2"}, expired)
	require.Zero(t, db.ExpiresCount())

	// LookupSlot does not touch the LRU clock
	db.Set([]byte("l"), NewString(nil))
	require.NotNil(t, db.LookupSlot(slots.KeySlot([]byte("l")), "l", now))
	require.Zero(t, db.Peek([]byte("l")).LRU)

	// the empty key
	db.Set([]byte(""), NewString([]byte("empty")))
	require.Equal(t, "empty", string(db.Peek(nil).Bytes()))
	require.Equal(t, []string{"", "l"}, keysOf(db))
}

func TestDBExpireIndex(t *testing.T) {
	ks := NewKeyspace(1, func() int64 { return 0 })
	db := ks.DBs[0]
	o := NewString([]byte("v"))
	db.Set([]byte("k"), o)
	db.SetExpire([]byte("k"), o, 100)
	require.Equal(t, int64(1), db.ExpiresCount())
	db.SetExpire([]byte("k"), o, 200) // TTL change: still one
	require.Equal(t, int64(1), db.ExpiresCount())
	require.Equal(t, int64(200), o.Expire)
	db.SetExpire([]byte("k"), o, 0)
	require.Zero(t, db.ExpiresCount())
	db.SetExpire([]byte("k"), o, 300)

	// Set with a TTL-less object drops the TTL; with one, keeps one entry
	n := NewString([]byte("w"))
	db.Set([]byte("k"), n)
	require.Zero(t, db.ExpiresCount())
	n2 := NewString([]byte("x"))
	n2.Expire = 5
	db.Set([]byte("k"), n2)
	require.Equal(t, int64(1), db.ExpiresCount())
	n3 := NewString([]byte("y"))
	n3.Expire = 6
	db.Set([]byte("k"), n3)
	require.Equal(t, int64(1), db.ExpiresCount())
	db.DeleteSlot(slots.KeySlot([]byte("k")), "k")
	require.Zero(t, db.ExpiresCount())
	require.Zero(t, db.Size())

	// SetExpire on an object that is not stored sets the field only
	lone := NewString(nil)
	db.SetExpire([]byte("absent"), lone, 7)
	require.Equal(t, int64(7), lone.Expire)
	require.Zero(t, db.ExpiresCount())
}

func TestDBVolatileIterationDeletes(t *testing.T) {
	now := int64(1000)
	ks := NewKeyspace(1, func() int64 { return now })
	db := ks.DBs[0]
	// keys with one hash tag share a slot
	slot := slots.KeySlot([]byte("{t}"))
	for i := range 300 {
		o := NewString([]byte("v"))
		if i%2 == 0 {
			o.Expire = now - 1
		}
		db.Set(fmt.Appendf(nil, "{t}%d", i), o)
	}
	require.Equal(t, 300, db.SlotSize(slot))
	require.Equal(t, int64(150), db.ExpiresCount())
	seen := map[string]bool{}
	db.ForEachVolatileInSlot(slot, func(k string) bool {
		require.False(t, seen[k])
		seen[k] = true
		require.Nil(t, db.LookupSlot(slot, k, now)) // deletes it
		return true
	})
	require.Len(t, seen, 150)
	require.Zero(t, db.ExpiresCount())
	require.Nil(t, db.vol[slot])
	require.Equal(t, 150, db.SlotSize(slot))
	require.Equal(t, int64(150), db.Size())

	// stop early
	for i := range 20 {
		o := NewString(nil)
		o.Expire = now + 100
		db.Set(fmt.Appendf(nil, "{t}x%d", i), o)
	}
	n := 0
	db.ForEachVolatileInSlot(slot, func(string) bool { n++; return n < 5 })
	require.Equal(t, 5, n)
}

func TestDBSlotHelpers(t *testing.T) {
	ks := NewKeyspace(2, func() int64 { return 0 })
	db := ks.DBs[0]
	slot := slots.KeySlot([]byte("{a}"))
	k, ok := db.RandomKeyInSlot(slot)
	require.False(t, ok)
	require.Empty(t, k)
	want := map[string]bool{}
	for i := range 50 {
		key := fmt.Sprintf("{a}%d", i)
		o := NewString(nil)
		if i < 10 {
			o.Expire = 99
		}
		db.Set([]byte(key), o)
		want[key] = true
	}
	for range 200 {
		k, ok := db.RandomKeyInSlot(slot)
		require.True(t, ok)
		require.True(t, want[k])
	}
	got := map[string]bool{}
	db.ForEachInSlot(slot, func(k string, o *Object) bool {
		got[k] = true
		return true
	})
	require.Equal(t, want, got)

	// SwapDB exchanges contents and counters
	ks.DBs[1].Set([]byte("other"), NewString(nil))
	ks.SwapDB(0, 1)
	require.Equal(t, int64(1), db.Size())
	require.Equal(t, int64(50), ks.DBs[1].Size())
	require.Equal(t, int64(10), ks.DBs[1].ExpiresCount())
	require.Equal(t, []string{"other"}, keysOf(db))
	ks.SwapDB(0, 1)

	require.Equal(t, 50, db.FlushSlot(slot))
	require.Zero(t, db.Size())
	require.Zero(t, db.ExpiresCount())
	require.Zero(t, db.SlotSize(slot))
}

func TestDBSetStringCopy(t *testing.T) {
	ks := NewKeyspace(1, func() int64 { return 0 })
	var added []string
	ks.Hooks.Added = func(_ int, k string, _ Type) { added = append(added, k) }
	db := ks.DBs[0]
	key, val := []byte("key:1"), []byte("v000000001")
	o := &Object{Type: TypeString}
	db.SetStringCopy(key, val, o)
	key[0], val[0] = 'X', 'X' // both were copied
	got := db.Peek([]byte("key:1"))
	require.Same(t, o, got)
	require.Equal(t, "v000000001", string(got.Bytes()))
	require.Equal(t, []string{"key:1"}, added)

	// the value shares the key's allocation and may be changed in place
	// or grown without touching the key
	p := got.Bytes()
	p[0] = 'w'
	got.SetBytes(append(p, "-appended"...))
	require.Equal(t, "w000000001-appended", string(got.Bytes()))
	require.Equal(t, []string{"key:1"}, keysOf(db))

	// an existing key keeps its entry; the value is still a copy
	h := NewString(nil)
	h.Type = TypeHash
	db.Set([]byte("key:2"), h)
	o2 := &Object{Type: TypeString, Expire: 50}
	v2 := []byte("x")
	db.SetStringCopy([]byte("key:2"), v2, o2)
	v2[0] = 'y'
	require.Equal(t, "x", string(db.Peek([]byte("key:2")).Bytes()))
	require.Equal(t, int64(1), db.ExpiresCount())
	require.Equal(t, int64(2), db.Size())

	// empty values
	db.SetStringCopy([]byte("key:3"), nil, &Object{Type: TypeString})
	require.Empty(t, db.Peek([]byte("key:3")).Bytes())
}

func TestDBManyKeys(t *testing.T) {
	ks := NewKeyspace(1, func() int64 { return 0 })
	db := ks.DBs[0]
	const n = 50000
	for i := range n {
		db.SetStringCopy(fmt.Appendf(nil, "key:%d", i), fmt.Appendf(nil, "v%09d", i), &Object{Type: TypeString})
	}
	require.Equal(t, int64(n), db.Size())
	for i := range n {
		o := db.Peek(fmt.Appendf(nil, "key:%d", i))
		require.NotNil(t, o, i)
		require.Equal(t, fmt.Sprintf("v%09d", i), string(o.Bytes()))
	}
	require.Len(t, keysOf(db), n)
	for i := 0; i < n; i += 2 {
		require.True(t, db.Delete(fmt.Appendf(nil, "key:%d", i), 0))
	}
	require.Equal(t, int64(n/2), db.Size())
	for i := range n {
		require.Equal(t, i%2 == 1, db.Peek(fmt.Appendf(nil, "key:%d", i)) != nil, i)
	}
}

// TestNextVolatileSlot checks the volatile-slot index that active expiry
// walks: it follows TTLs being set, removed, deleted, flushed and swapped.
func TestNextVolatileSlot(t *testing.T) {
	ks := NewKeyspace(2, func() int64 { return 1000 })
	db := ks.DBs[0]
	_, ok := db.NextVolatileSlot(0)
	require.False(t, ok, "empty database")

	keyIn := func(slot int) []byte {
		for i := 0; ; i++ {
			k := []byte("k" + strconv.Itoa(i))
			if slots.KeySlot(k) == slot {
				return k
			}
		}
	}
	setTTL := func(k []byte) {
		o := NewString([]byte("v"))
		db.Set(k, o)
		db.SetExpire(k, o, 1_000_000)
	}
	a, b := keyIn(100), keyIn(16380)
	setTTL(a)
	setTTL(b)
	cases := []struct {
		from, want int
	}{{0, 100}, {100, 100}, {101, 16380}, {16380, 16380}, {16381, 100}, {16383, 100}}
	for _, c := range cases {
		got, ok := db.NextVolatileSlot(c.from)
		require.True(t, ok)
		require.Equal(t, c.want, got, "from %d", c.from)
	}

	db.SetExpire(a, db.Peek(a), 0) // PERSIST
	got, _ := db.NextVolatileSlot(0)
	require.Equal(t, 16380, got)

	require.True(t, db.Delete(b, 1000))
	_, ok = db.NextVolatileSlot(0)
	require.False(t, ok, "after the last volatile key is deleted")

	setTTL(a)
	ks.SwapDB(0, 1)
	_, ok = ks.DBs[0].NextVolatileSlot(0)
	require.False(t, ok, "swapped away")
	got, ok = ks.DBs[1].NextVolatileSlot(0)
	require.True(t, ok)
	require.Equal(t, 100, got)
	ks.DBs[1].FlushSlot(100)
	_, ok = ks.DBs[1].NextVolatileSlot(0)
	require.False(t, ok, "after FlushSlot")
}

// TestDBSizeHint: a hint sizes the dictionaries of the slots created after
// it for an even share of the keys (bounded), SizeHint(0) goes back to
// one group, and the hint stays with its database through SwapContents.
func TestDBSizeHint(t *testing.T) {
	tests := []struct {
		name   string
		hint   uint64
		groups int
	}{
		{"none", 0, 1},
		{"below a group per slot", 7 * slots.Count, 1},
		{"one million", 1000000, kdGroupsFor(1000000 / slots.Count)},
		{"absurd", 1 << 62, kdGroupsFor(maxSlotHint)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks := NewKeyspace(1, func() int64 { return 0 })
			db := ks.DBs[0]
			db.SizeHint(tt.hint)
			key := []byte("k")
			db.SetStringCopy(key, []byte("v"), &Object{Type: TypeString})
			d := db.dicts[slots.KeySlot(key)]
			require.Len(t, d.groups, tt.groups)
			require.Equal(t, "v", string(db.Peek(key).Bytes()))
			require.Same(t, db.Peek(key), db.PeekIn(slots.KeySlot(key), key))

			live := NewKeyspace(1, func() int64 { return 0 })
			live.SwapContents(ks)
			require.Equal(t, int64(1), live.DBs[0].Size())
			require.Zero(t, live.DBs[0].initGroups, "the hint is not swapped in")

			db.SizeHint(0)
			db.SetStringCopy([]byte("other"), []byte("v"), &Object{Type: TypeString})
			require.Len(t, db.dicts[slots.KeySlot([]byte("other"))].groups, 1)
		})
	}
}

// TestForEachInSlotWarm: the walk that reads ahead visits exactly the keys
// of the plain walk, in a slot of several hundred keys (more than one run
// of warmed groups).
func TestForEachInSlotWarm(t *testing.T) {
	ks := NewKeyspace(1, func() int64 { return 0 })
	db := ks.DBs[0]
	for i := 0; i < 2000; i++ {
		db.Set([]byte("{tag}"+strconv.Itoa(i)), NewString([]byte("v")))
	}
	slot := slots.KeySlot([]byte("{tag}"))
	walk := func(each func(int, func(string, *Object) bool)) []string {
		var out []string
		each(slot, func(k string, _ *Object) bool { out = append(out, k); return true })
		sort.Strings(out)
		return out
	}
	plain := walk(db.ForEachInSlot)
	require.Len(t, plain, 2000)
	require.Equal(t, plain, walk(db.ForEachInSlotWarm))
}
