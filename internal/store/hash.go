package store

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"

	"github.com/redcluster/redcluster/internal/resp"
)

// Limits are the thresholds of the compact encodings of hashes and sets,
// set with CONFIG (hash-max-listpack-entries, hash-max-listpack-value,
// set-max-intset-entries). Operations that may convert an encoding take
// them as an argument.
type Limits struct {
	HashMaxListpackEntries int
	HashMaxListpackValue   int
	SetMaxIntsetEntries    int
}

// DefaultLimits returns Redis 7.0's default thresholds.
func DefaultLimits() Limits {
	return Limits{HashMaxListpackEntries: 512, HashMaxListpackValue: 64, SetMaxIntsetEntries: 512}
}

// Errors of the hash increment operations, worded as Redis replies them.
var (
	ErrHashNotInteger   = errors.New("ERR hash value is not an integer")
	ErrHashNotFloat     = errors.New("ERR hash value is not a float")
	ErrHashOverflow     = errors.New("ERR increment or decrement would overflow")
	ErrHashNaNInf       = errors.New("ERR increment would produce NaN or Infinity")
	ErrHashIncrNotFloat = errors.New("ERR value is not a valid float")
	ErrHashIncrNaNInf   = errors.New("ERR value is NaN or Infinity")
)

// Hash is the value of a hash key.
//
// Small hashes use the "listpack" encoding: one byte slice holding, in
// insertion order, every field and value as a uvarint length followed by
// the bytes (no per-field allocation, and HGETALL order matches Redis's
// listpack). A hash that gets more than Limits.HashMaxListpackEntries
// fields, or a field or value longer than Limits.HashMaxListpackValue
// bytes, is converted for good to the "hashtable" encoding, a scanTable.
//
// Byte slices handed out by Get, ForEach and friends alias the hash's
// storage: they are valid until the hash is next modified and must not be
// written to.
type Hash struct {
	lp []byte
	ht *scanTable[string]
}

// NewHash returns an empty listpack-encoded hash.
func NewHash() *Hash { return &Hash{} }

// Encoding is the OBJECT ENCODING name: "listpack" or "hashtable".
func (h *Hash) Encoding() string {
	if h.ht != nil {
		return "hashtable"
	}
	return "listpack"
}

// Len returns the number of fields.
func (h *Hash) Len() int {
	if h.ht != nil {
		return h.ht.count
	}
	n := 0
	lp := h.lp
	for off := 0; off < len(lp); n++ {
		for range 2 {
			if l := int(lp[off]); l < 0x80 {
				off += 1 + l
			} else {
				off = lpSkip(lp, off)
			}
		}
	}
	return n
}

// Get returns the value of field.
func (h *Hash) Get(field []byte) ([]byte, bool) {
	if h.ht != nil {
		e := h.ht.find(bstr(field))
		if e == nil {
			return nil, false
		}
		return sbytes(e.val), true
	}
	start, vstart, _, _ := h.lpFind(field)
	if start < 0 {
		return nil, false
	}
	v, _ := lpStr(h.lp, vstart)
	return v, true
}

// Exists reports whether field is set.
func (h *Hash) Exists(field []byte) bool {
	_, ok := h.Get(field)
	return ok
}

// Set sets field to value (both copied) and reports whether the field is new.
func (h *Hash) Set(field, value []byte, lim Limits) bool {
	if h.ht == nil {
		if len(field) > lim.HashMaxListpackValue || len(value) > lim.HashMaxListpackValue {
			h.toTable(0)
		} else {
			start, vstart, end, n := h.lpFind(field)
			if start >= 0 {
				h.lpReplace(vstart, end, value)
				return false
			}
			h.lp = lpGrow(h.lp, lpSize(len(field))+lpSize(len(value)))
			h.lp = lpPut(h.lp, field)
			h.lp = lpPut(h.lp, value)
			if n+1 > lim.HashMaxListpackEntries {
				h.toTable(0)
			}
			return true
		}
	}
	if e := h.ht.find(bstr(field)); e != nil {
		e.val = string(value)
		return false
	}
	h.ht.insert(string(field), string(value))
	return true
}

// SetPairs sets kv[0]=kv[1], kv[2]=kv[3] ... (HSET) and returns the number
// of new fields. A listpack is grown once for all the pairs.
func (h *Hash) SetPairs(kv [][]byte, lim Limits) int {
	if h.ht == nil {
		need := 0
		for _, a := range kv {
			if len(a) > lim.HashMaxListpackValue {
				h.toTable(h.Len() + len(kv)/2)
				need = -1
				break
			}
			need += lpSize(len(a))
		}
		if need > 0 {
			h.lp = lpGrow(h.lp, need)
		}
	}
	added := 0
	for i := 0; i+1 < len(kv); i += 2 {
		if h.Set(kv[i], kv[i+1], lim) {
			added++
		}
	}
	return added
}

// Delete removes field and reports whether it existed.
func (h *Hash) Delete(field []byte) bool {
	if h.ht != nil {
		return h.ht.remove(bstr(field))
	}
	start, _, end, _ := h.lpFind(field)
	if start < 0 {
		return false
	}
	h.lp = append(h.lp[:start], h.lp[end:]...)
	switch {
	case len(h.lp) == 0:
		h.lp = nil
	case cap(h.lp) > 2*len(h.lp)+64:
		h.lp = append([]byte(nil), h.lp...)
	}
	return true
}

// ForEach calls fn for every field and value (listpack: insertion order)
// until fn returns false. fn must not modify the hash.
func (h *Hash) ForEach(fn func(field, value []byte) bool) {
	if h.ht != nil {
		h.ht.each(func(e *tableEntry[string]) bool {
			return fn(sbytes(e.key), sbytes(e.val))
		})
		return
	}
	for off := 0; off < len(h.lp); {
		var f, v []byte
		f, off = lpStr(h.lp, off)
		v, off = lpStr(h.lp, off)
		if !fn(f, v) {
			return
		}
	}
}

// Scan is one HSCAN step from cursor with COUNT count: a listpack returns
// every pair and cursor 0; a hashtable visits buckets (Redis's dictScan
// order) until about count pairs were found or 10*count buckets tried.
func (h *Hash) Scan(cursor uint64, count int, fn func(field, value []byte)) uint64 {
	if h.ht == nil {
		h.ForEach(func(f, v []byte) bool {
			fn(f, v)
			return true
		})
		return 0
	}
	if count > 1<<40 {
		count = 1 << 40
	}
	count *= 2 // Redis counts fields and values
	maxIter := count * 10
	found := 0
	for {
		cursor = h.ht.scanStep(cursor, func(e *tableEntry[string]) {
			fn(sbytes(e.key), sbytes(e.val))
			found += 2
		})
		if cursor == 0 || maxIter == 0 {
			return cursor
		}
		maxIter--
		if found >= count {
			return cursor
		}
	}
}

// RandomPair returns a random field and its value; the hash must not be empty.
func (h *Hash) RandomPair() (field, value []byte) {
	if h.ht != nil {
		e := h.ht.random()
		return sbytes(e.key), sbytes(e.val)
	}
	offs := h.lpOffsets()
	f, voff := lpStr(h.lp, int(offs[rand.IntN(len(offs))]))
	v, _ := lpStr(h.lp, voff)
	return f, v
}

// RandomPairs calls fn count times with a random pair each time
// (repetitions allowed: HRANDFIELD with a negative count).
func (h *Hash) RandomPairs(count int, fn func(field, value []byte)) {
	if h.ht != nil {
		for ; count > 0; count-- {
			e := h.ht.random()
			fn(sbytes(e.key), sbytes(e.val))
		}
		return
	}
	offs := h.lpOffsets()
	for ; count > 0; count-- {
		f, voff := lpStr(h.lp, int(offs[rand.IntN(len(offs))]))
		v, _ := lpStr(h.lp, voff)
		fn(f, v)
	}
}

// DistinctPairs calls fn for count distinct random pairs; count must be
// smaller than Len (HRANDFIELD with a positive count).
func (h *Hash) DistinctPairs(count int, fn func(field, value []byte)) {
	if h.ht != nil {
		if count*3 > h.ht.count {
			all := make([]*tableEntry[string], 0, h.ht.count)
			h.ht.each(func(e *tableEntry[string]) bool {
				all = append(all, e)
				return true
			})
			for i := 0; i < count; i++ {
				j := i + rand.IntN(len(all)-i)
				all[i], all[j] = all[j], all[i]
				fn(sbytes(all[i].key), sbytes(all[i].val))
			}
			return
		}
		seen := make(map[*tableEntry[string]]struct{}, count)
		for len(seen) < count {
			e := h.ht.random()
			if _, dup := seen[e]; dup {
				continue
			}
			seen[e] = struct{}{}
			fn(sbytes(e.key), sbytes(e.val))
		}
		return
	}
	offs := h.lpOffsets()
	for i := 0; i < count && i < len(offs); i++ {
		j := i + rand.IntN(len(offs)-i)
		offs[i], offs[j] = offs[j], offs[i]
		f, voff := lpStr(h.lp, int(offs[i]))
		v, _ := lpStr(h.lp, voff)
		fn(f, v)
	}
}

// IncrBy adds incr to the integer in field (0 when absent) and stores the
// result (HINCRBY).
func (h *Hash) IncrBy(field []byte, incr int64, lim Limits) (int64, error) {
	var cur int64
	if v, ok := h.Get(field); ok {
		n, ok := resp.ParseInt(v)
		if !ok {
			return 0, ErrHashNotInteger
		}
		cur = n
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) ||
		(incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		return 0, ErrHashOverflow
	}
	cur += incr
	var buf [20]byte
	h.Set(field, strconv.AppendInt(buf[:0], cur, 10), lim)
	return cur, nil
}

// HashFloatIncr is a parsed HINCRBYFLOAT increment (a C long double).
type HashFloatIncr struct{ f *big.Float }

// ParseHashFloatIncr parses an HINCRBYFLOAT increment like Redis: not a
// float gives ErrHashIncrNotFloat, an infinity ErrHashIncrNaNInf.
func ParseHashFloatIncr(b []byte) (HashFloatIncr, error) {
	v, ok := parseLongDouble(b)
	if !ok {
		return HashFloatIncr{}, ErrHashIncrNotFloat
	}
	if v.inf != 0 {
		return HashFloatIncr{}, ErrHashIncrNaNInf
	}
	return HashFloatIncr{f: v.f}, nil
}

// IncrByFloat adds incr to the long double in field (0 when absent),
// stores the sum formatted like Redis ("%.17Lf", trailing zeros stripped)
// and returns it.
func (h *Hash) IncrByFloat(field []byte, incr HashFloatIncr, lim Limits) ([]byte, error) {
	cur := new(big.Float).SetPrec(ldPrec)
	if v, ok := h.Get(field); ok {
		p, ok := parseLongDouble(v)
		if !ok {
			return nil, ErrHashNotFloat
		}
		if p.inf != 0 {
			return nil, ErrHashNaNInf
		}
		cur = p.f
	}
	sum := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven).Add(cur, incr.f)
	sum, finite := ldRound(sum)
	if !finite {
		return nil, ErrHashNaNInf
	}
	out := formatLongDoubleHuman(sum)
	h.Set(field, out, lim)
	return out, nil
}

// Dup returns a deep copy with the same encoding (COPY).
func (h *Hash) Dup() any {
	if h.ht == nil {
		return &Hash{lp: append([]byte(nil), h.lp...)}
	}
	t := newScanTable[string](h.ht.count)
	h.ht.each(func(e *tableEntry[string]) bool {
		t.insert(e.key, e.val)
		return true
	})
	return &Hash{ht: t}
}

// toTable converts a listpack hash to the hashtable encoding, sized for
// at least hint fields.
func (h *Hash) toTable(hint int) {
	n := h.Len()
	if hint < n {
		hint = n
	}
	t := newScanTable[string](hint)
	h.ForEach(func(f, v []byte) bool {
		t.insert(string(f), string(v))
		return true
	})
	h.lp = nil
	h.ht = t
}

// lpFind locates field in the listpack: the offsets of its entry, of its
// value and past the value, or -1s and the number of pairs when absent.
func (h *Hash) lpFind(field []byte) (start, vstart, end, n int) {
	lp := h.lp
	for off := 0; off < len(lp); n++ {
		fs, fl := off+1, int(lp[off])
		if fl >= 0x80 {
			v, k := binary.Uvarint(lp[off:])
			fs, fl = off+k, int(v)
		}
		vs := fs + fl
		next := vs + 1 + int(lp[vs])
		if lp[vs] >= 0x80 {
			next = lpSkip(lp, vs)
		}
		if fl == len(field) && (fl == 0 || lp[fs] == field[0]) && string(lp[fs:vs]) == string(field) {
			return off, vs, next, n
		}
		off = next
	}
	return -1, -1, -1, n
}

// lpOffsets returns the offset of every pair of the listpack.
func (h *Hash) lpOffsets() []int32 {
	offs := make([]int32, 0, 16)
	for off := 0; off < len(h.lp); {
		offs = append(offs, int32(off))
		off = lpSkip(h.lp, off)
		off = lpSkip(h.lp, off)
	}
	return offs
}

// lpReplace replaces the encoded value at lp[vstart:end] with value.
func (h *Hash) lpReplace(vstart, end int, value []byte) {
	lp := h.lp
	oldSize, newSize := end-vstart, lpSize(len(value))
	newLen := len(lp) - oldSize + newSize
	switch {
	case newSize == oldSize:
	case newLen > cap(lp):
		nb := make([]byte, 0, newLen+newLen/4)
		nb = append(nb, lp[:vstart]...)
		nb = lpPut(nb, value)
		h.lp = append(nb, lp[end:]...)
		return
	case newSize > oldSize:
		oldLen := len(lp)
		lp = lp[:newLen]
		copy(lp[vstart+newSize:], lp[end:oldLen])
	default:
		copy(lp[vstart+newSize:], lp[end:])
		lp = lp[:newLen]
	}
	k := binary.PutUvarint(lp[vstart:], uint64(len(value)))
	copy(lp[vstart+k:], value)
	h.lp = lp
}

// lpStr reads the length-prefixed string at off and returns it (capacity
// capped so appends cannot clobber the listpack) with the offset after it.
// The one-byte-length case is kept small enough to inline.
func lpStr(lp []byte, off int) ([]byte, int) {
	n := int(lp[off])
	if n >= 0x80 {
		return lpStrLong(lp, off)
	}
	off++
	return lp[off : off+n : off+n], off + n
}

func lpStrLong(lp []byte, off int) ([]byte, int) {
	v, k := binary.Uvarint(lp[off:])
	off += k
	n := int(v)
	return lp[off : off+n : off+n], off + n
}

// lpSkip returns the offset after the string at off.
func lpSkip(lp []byte, off int) int {
	n := int(lp[off])
	if n >= 0x80 {
		v, k := binary.Uvarint(lp[off:])
		return off + k + int(v)
	}
	return off + 1 + n
}

// lpSize is the encoded size of an n-byte string.
func lpSize(n int) int {
	if n < 0x80 {
		return n + 1
	}
	var tmp [binary.MaxVarintLen64]byte
	return n + binary.PutUvarint(tmp[:], uint64(n))
}

// lpPut appends the encoding of s.
func lpPut(dst, s []byte) []byte {
	if len(s) < 0x80 {
		dst = append(dst, byte(len(s)))
	} else {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
	}
	return append(dst, s...)
}

// lpGrow makes room for need more bytes: exactly for a new listpack, with
// 25% slack when an existing one must move.
func lpGrow(lp []byte, need int) []byte {
	if cap(lp)-len(lp) >= need {
		return lp
	}
	newCap := len(lp) + need
	if len(lp) > 0 {
		if c := cap(lp) + cap(lp)/4; c > newCap {
			newCap = c
		}
	}
	nb := make([]byte, len(lp), newCap)
	copy(nb, lp)
	return nb
}
