package rdb

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
)

// errEmptyValue is returned when asked to write an empty list, set, zset or
// hash: Redis never holds one and skips or refuses them on load.
var errEmptyValue = errors.New("rdb: cannot encode an empty aggregate")

// quicklist sizing (quicklist.c).
var quicklistSizeLevels = [...]int{4096, 8192, 16384, 32768, 65536}

const (
	quicklistSafetyLimit  = 8192
	quicklistOverhead     = 8
	quicklistPackedThresh = 1 << 30
	quicklistFillMax      = 1<<15 - 1
)

// valueEncoder writes object bodies.
type valueEncoder struct {
	w     *writer
	cfg   Config
	lp    *lpWriter
	ints  []int  // scratch: zset order, list node ends
	score []byte // scratch: score text
}

func (e *valueEncoder) listpack() *lpWriter {
	if e.lp == nil {
		e.lp = newLPWriter(1024)
	}
	e.lp.reset()
	return e.lp
}

// writeBlob writes a finished listpack and drops an oversized buffer.
func (e *valueEncoder) writeBlob(b []byte) {
	e.w.writeString(b)
	if cap(e.lp.buf) > 4*chunkSize {
		e.lp = nil
	}
}

// objectType returns the RDB type byte v is written with.
func (e *valueEncoder) objectType(v *Value) (byte, error) {
	switch v.Kind {
	case KindString:
		return TypeString, nil
	case KindList:
		return TypeListQuicklist2, nil
	case KindSet:
		if e.useIntset(v) {
			return TypeSetIntset, nil
		}
		return TypeSet, nil
	case KindZSet:
		if e.useZSetListpack(v) {
			return TypeZSetListpack, nil
		}
		return TypeZSet2, nil
	case KindHash:
		if e.useHashListpack(v) {
			return TypeHashListpack, nil
		}
		return TypeHash, nil
	case KindStream:
		return TypeStreamListpacks2, nil
	}
	return 0, fmt.Errorf("rdb: unknown value kind %d", v.Kind)
}

func (e *valueEncoder) useIntset(v *Value) bool {
	if v.Encoding == EncodingTable {
		return false
	}
	if v.Encoding == EncodingAuto && len(v.Set) > e.cfg.SetMaxIntsetEntries {
		return false
	}
	for _, m := range v.Set {
		if _, ok := parseStrictInt64(m); !ok {
			return false
		}
	}
	return true
}

func (e *valueEncoder) useZSetListpack(v *Value) bool {
	if v.Encoding == EncodingTable {
		return false
	}
	total := 0
	for i := range v.ZSet {
		n := len(v.ZSet[i].Member)
		if v.Encoding == EncodingAuto && n > e.cfg.ZSetMaxListpackValue {
			return false
		}
		total += n
	}
	if v.Encoding == EncodingAuto && len(v.ZSet) > e.cfg.ZSetMaxListpackEntries {
		return false
	}
	return total <= lpMaxSafeSize
}

func (e *valueEncoder) useHashListpack(v *Value) bool {
	if v.Encoding == EncodingTable {
		return false
	}
	total := 0
	for i := range v.Hash {
		f, val := len(v.Hash[i].Field), len(v.Hash[i].Value)
		if v.Encoding == EncodingAuto && (f > e.cfg.HashMaxListpackValue || val > e.cfg.HashMaxListpackValue) {
			return false
		}
		total += f + val
	}
	if v.Encoding == EncodingAuto && len(v.Hash) > e.cfg.HashMaxListpackEntries {
		return false
	}
	return total <= lpMaxSafeSize
}

// writeValue writes the body of v as an object of type t (from objectType).
func (e *valueEncoder) writeValue(t byte, v *Value) error {
	switch t {
	case TypeString:
		e.w.writeString(v.Str)
		return nil
	case TypeListQuicklist2:
		return e.writeList(v.List)
	case TypeSetIntset:
		return e.writeIntset(v.Set)
	case TypeSet:
		if len(v.Set) == 0 {
			return errEmptyValue
		}
		e.w.writeLen(uint64(len(v.Set)))
		for _, m := range v.Set {
			e.w.writeString(m)
		}
		return nil
	case TypeZSetListpack, TypeZSet2:
		return e.writeZSet(t, v.ZSet)
	case TypeHashListpack:
		if len(v.Hash) == 0 {
			return errEmptyValue
		}
		lp := e.listpack()
		for i := range v.Hash {
			lp.appendString(v.Hash[i].Field)
			lp.appendString(v.Hash[i].Value)
		}
		e.writeBlob(lp.finish())
		return nil
	case TypeHash:
		if len(v.Hash) == 0 {
			return errEmptyValue
		}
		e.w.writeLen(uint64(len(v.Hash)))
		for i := range v.Hash {
			e.w.writeString(v.Hash[i].Field)
			e.w.writeString(v.Hash[i].Value)
		}
		return nil
	case TypeStreamListpacks2:
		if v.Stream == nil {
			return e.writeStream(&Stream{})
		}
		return e.writeStream(v.Stream)
	}
	return fmt.Errorf("rdb: cannot write object type %d", t)
}

// quicklistAllowInsert mirrors _quicklistNodeAllowInsert for a packed node
// of nodeBytes bytes and count elements receiving an element of sz bytes.
func quicklistAllowInsert(fill, nodeBytes, count, sz int) bool {
	newSz := nodeBytes + sz + quicklistOverhead
	if fill < 0 {
		if level := -fill - 1; level < len(quicklistSizeLevels) && newSz <= quicklistSizeLevels[level] {
			return true
		}
	}
	if newSz > quicklistSafetyLimit {
		return false
	}
	return count < fill
}

// writeList writes a QUICKLIST_2 whose nodes are split exactly as a list
// built by RPUSH would be.
func (e *valueEncoder) writeList(list [][]byte) error {
	if len(list) == 0 {
		return errEmptyValue
	}
	fill := e.cfg.ListMaxListpackSize
	if fill > quicklistFillMax {
		fill = quicklistFillMax
	} else if fill < -len(quicklistSizeLevels) {
		fill = -len(quicklistSizeLevels)
	}
	// First pass: node boundaries. ends[i] is the index after node i's last
	// element; plain nodes hold one element.
	ends := e.ints[:0]
	defer func() { e.ints = ends[:0] }()
	nodeBytes, count, open := 0, 0, false
	for i, el := range list {
		sz := len(el)
		if sz >= quicklistPackedThresh {
			if open {
				ends = append(ends, i)
			}
			ends = append(ends, i+1)
			open = false
			continue
		}
		if open && quicklistAllowInsert(fill, nodeBytes, count, sz) {
			nodeBytes += lpEntrySize(el)
			count++
			continue
		}
		if open {
			ends = append(ends, i)
		}
		open, nodeBytes, count = true, lpHeaderSize+1+lpEntrySize(el), 1
	}
	if open {
		ends = append(ends, len(list))
	}
	e.w.writeLen(uint64(len(ends)))
	start := 0
	for _, end := range ends {
		if end-start == 1 && len(list[start]) >= quicklistPackedThresh {
			e.w.writeLen(containerPlain)
			e.w.writeString(list[start])
		} else {
			e.w.writeLen(containerPacked)
			lp := e.listpack()
			for _, el := range list[start:end] {
				lp.appendString(el)
			}
			e.writeBlob(lp.finish())
		}
		start = end
	}
	return nil
}

func (e *valueEncoder) writeIntset(set [][]byte) error {
	if len(set) == 0 {
		return errEmptyValue
	}
	vals := make([]int64, len(set))
	for i, m := range set {
		v, ok := parseStrictInt64(m)
		if !ok {
			return fmt.Errorf("rdb: set member %q is not an integer", m)
		}
		vals[i] = v
	}
	blob := intsetBlob(vals)
	for i := 1; i < len(vals); i++ {
		if vals[i] == vals[i-1] {
			return fmt.Errorf("rdb: duplicate set member %d", vals[i])
		}
	}
	e.w.writeString(blob)
	return nil
}

// zsetOrder returns the indexes of z sorted by (score, member), in idx's
// memory.
func zsetOrder(z []ScoredMember, idx []int) ([]int, error) {
	idx = idx[:0]
	for i := range z {
		if math.IsNaN(z[i].Score) {
			return nil, fmt.Errorf("rdb: NaN score for member %q", z[i].Member)
		}
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(a, b int) int {
		x, y := &z[a], &z[b]
		if x.Score != y.Score {
			if x.Score < y.Score {
				return -1
			}
			return 1
		}
		return bytes.Compare(x.Member, y.Member)
	})
	return idx, nil
}

func (e *valueEncoder) writeZSet(t byte, z []ScoredMember) error {
	if len(z) == 0 {
		return errEmptyValue
	}
	order, err := zsetOrder(z, e.ints)
	if err != nil {
		return err
	}
	e.ints = order
	if t == TypeZSetListpack {
		lp := e.listpack()
		for _, i := range order {
			lp.appendString(z[i].Member)
			if v, ok := double2ll(z[i].Score); ok {
				lp.appendInt(v)
			} else {
				e.score = appendScore(e.score[:0], z[i].Score)
				lp.appendRawString(e.score)
			}
		}
		e.writeBlob(lp.finish())
		return nil
	}
	// ZSET_2: highest score first, binary doubles.
	e.w.writeLen(uint64(len(z)))
	for k := len(order) - 1; k >= 0; k-- {
		m := &z[order[k]]
		e.w.writeString(m.Member)
		e.w.writeUint64LE(math.Float64bits(m.Score))
	}
	return nil
}
