package rdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// errEmptyKey reports an aggregate with no elements: Redis skips such keys
// when loading a file and refuses them in RESTORE.
var errEmptyKey = fmt.Errorf("%w: empty aggregate", ErrCorrupt)

// valueReader decodes object bodies.
type valueReader struct {
	r       *reader
	blobBuf []byte // scratch for listpack/ziplist/intset blobs
}

// readBlob reads a string holding an embedded structure into scratch memory
// (valid until the next readBlob).
func (v *valueReader) readBlob() ([]byte, error) {
	return v.r.readStringBuf(&v.blobBuf)
}

// releaseBlob drops an oversized scratch buffer so that one huge blob does
// not stay pinned for the rest of the load.
func (v *valueReader) releaseBlob() {
	if cap(v.blobBuf) > 4*chunkSize {
		v.blobBuf = nil
	}
}

// readValue decodes the body of an object of RDB type t.
func (v *valueReader) readValue(t int) (Value, error) {
	defer v.releaseBlob()
	switch t {
	case TypeString:
		s, err := v.r.readString()
		return Value{Kind: KindString, Str: s}, err
	case TypeList:
		return v.readListLinked()
	case TypeSet:
		return v.readSetTable()
	case TypeZSet, TypeZSet2:
		return v.readZSetTable(t == TypeZSet2)
	case TypeHash:
		return v.readHashTable()
	case TypeModule, TypeModule2:
		id, err := v.r.readLen()
		if err != nil {
			return Value{}, err
		}
		return Value{}, fmt.Errorf("%w: module value of type '%s' (RDB type %d)", ErrUnsupported, moduleTypeName(id), t)
	case TypeHashZipmap:
		return v.readHashZipmap()
	case TypeListZiplist:
		return v.readListZiplist()
	case TypeSetIntset:
		return v.readSetIntset()
	case TypeZSetZiplist, TypeZSetListpack:
		return v.readZSetCompact(t == TypeZSetListpack)
	case TypeHashZiplist, TypeHashListpack:
		return v.readHashCompact(t == TypeHashListpack)
	case TypeListQuicklist, TypeListQuicklist2:
		return v.readQuicklist(t == TypeListQuicklist2)
	case TypeStreamListpacks, TypeStreamListpacks2:
		return v.readStream(t == TypeStreamListpacks2)
	case TypeSetListpack:
		return Value{}, fmt.Errorf("%w: RDB type %d (listpack set, Redis 7.2+)", ErrUnsupported, t)
	}
	return Value{}, corruptf("unknown RDB object type %d", t)
}

// moduleTypeName decodes the 9-character name packed in a module type id.
func moduleTypeName(id uint64) string {
	const charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	name := make([]byte, 9)
	id >>= 10
	for i := 8; i >= 0; i-- {
		name[i] = charset[id&63]
		id >>= 6
	}
	return string(name)
}

func (v *valueReader) readStrings(n int) ([][]byte, error) {
	out := make([][]byte, 0, min(n, maxPrealloc))
	for i := 0; i < n; i++ {
		s, err := v.r.readString()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (v *valueReader) readListLinked() (Value, error) {
	n, err := v.r.readCount("list")
	if err != nil {
		return Value{}, err
	}
	if n == 0 {
		return Value{}, errEmptyKey
	}
	l, err := v.readStrings(n)
	return Value{Kind: KindList, List: l}, err
}

// dupChecker detects repeated members/fields: by direct comparison while
// small (no allocation), with a map beyond.
type dupChecker struct {
	small [dupSmall][]byte
	n     int
	m     map[string]struct{}
}

const dupSmall = 16

// add records b and reports false when it was already there.
func (d *dupChecker) add(b []byte) bool {
	if d.m == nil {
		for _, s := range d.small[:d.n] {
			if bytes.Equal(s, b) {
				return false
			}
		}
		if d.n < dupSmall {
			d.small[d.n] = b
			d.n++
			return true
		}
		d.m = make(map[string]struct{}, 4*dupSmall)
		for _, s := range d.small[:d.n] {
			d.m[string(s)] = struct{}{}
		}
	}
	if _, ok := d.m[string(b)]; ok {
		return false
	}
	d.m[string(b)] = struct{}{}
	return true
}

func (v *valueReader) readSetTable() (Value, error) {
	n, err := v.r.readCount("set")
	if err != nil {
		return Value{}, err
	}
	if n == 0 {
		return Value{}, errEmptyKey
	}
	members, err := v.readStrings(n)
	if err != nil {
		return Value{}, err
	}
	var seen dupChecker
	for _, m := range members {
		if !seen.add(m) {
			return Value{}, corruptf("duplicate set members detected")
		}
	}
	return Value{Kind: KindSet, Encoding: EncodingTable, Set: members}, nil
}

// readStringDouble reads a legacy (RDB type 3) score: a length byte then
// ASCII, 253 NaN, 254 +inf, 255 -inf.
func (v *valueReader) readStringDouble() (float64, error) {
	n, err := v.r.readByte()
	if err != nil {
		return 0, err
	}
	switch n {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	buf := make([]byte, n)
	if err := v.r.readFull(buf); err != nil {
		return 0, err
	}
	return parseScore(buf)
}

func (v *valueReader) readZSetTable(binaryScores bool) (Value, error) {
	n, err := v.r.readCount("zset")
	if err != nil {
		return Value{}, err
	}
	if n == 0 {
		return Value{}, errEmptyKey
	}
	out := make([]ScoredMember, 0, min(n, maxPrealloc))
	var seen dupChecker
	for i := 0; i < n; i++ {
		m, err := v.r.readString()
		if err != nil {
			return Value{}, err
		}
		var score float64
		if binaryScores {
			u, err := v.r.readUint64LE()
			if err != nil {
				return Value{}, err
			}
			score = math.Float64frombits(u)
		} else if score, err = v.readStringDouble(); err != nil {
			return Value{}, err
		}
		if math.IsNaN(score) {
			return Value{}, corruptf("zset with NaN score detected")
		}
		if !seen.add(m) {
			return Value{}, corruptf("duplicate zset fields detected")
		}
		out = append(out, ScoredMember{Member: m, Score: score})
	}
	return Value{Kind: KindZSet, Encoding: EncodingTable, ZSet: out}, nil
}

func (v *valueReader) readHashTable() (Value, error) {
	n, err := v.r.readCount("hash")
	if err != nil {
		return Value{}, err
	}
	if n == 0 {
		return Value{}, errEmptyKey
	}
	out := make([]FieldValue, 0, min(n, maxPrealloc))
	var seen dupChecker
	for i := 0; i < n; i++ {
		f, err := v.r.readString()
		if err != nil {
			return Value{}, err
		}
		val, err := v.r.readString()
		if err != nil {
			return Value{}, err
		}
		if !seen.add(f) {
			return Value{}, corruptf("duplicate hash fields detected")
		}
		out = append(out, FieldValue{Field: f, Value: val})
	}
	return Value{Kind: KindHash, Encoding: EncodingTable, Hash: out}, nil
}

// pairsToHash turns field, value, ... into hash fields, rejecting odd counts
// and duplicate fields.
func pairsToHash(elems [][]byte) ([]FieldValue, error) {
	if len(elems)%2 != 0 {
		return nil, corruptf("hash with an odd number of elements")
	}
	out := make([]FieldValue, len(elems)/2)
	var seen dupChecker
	for i := range out {
		f := elems[2*i]
		if !seen.add(f) {
			return nil, corruptf("duplicate hash fields detected")
		}
		out[i] = FieldValue{Field: f, Value: elems[2*i+1]}
	}
	return out, nil
}

func (v *valueReader) readHashZipmap() (Value, error) {
	blob, err := v.readBlob()
	if err != nil {
		return Value{}, err
	}
	elems, err := zipmapPairs(blob)
	if err != nil {
		return Value{}, err
	}
	h, err := pairsToHash(elems)
	return Value{Kind: KindHash, Encoding: EncodingCompact, Hash: h}, err
}

func (v *valueReader) readHashCompact(listpack bool) (Value, error) {
	blob, err := v.readBlob()
	if err != nil {
		return Value{}, err
	}
	elems, err := compactStrings(blob, listpack)
	if err != nil {
		return Value{}, err
	}
	if len(elems) == 0 {
		return Value{}, errEmptyKey
	}
	h, err := pairsToHash(elems)
	return Value{Kind: KindHash, Encoding: EncodingCompact, Hash: h}, err
}

// compactStrings decodes a listpack or a ziplist.
func compactStrings(blob []byte, listpack bool) ([][]byte, error) {
	if listpack {
		return lpStrings(blob)
	}
	return zlStrings(blob)
}

func (v *valueReader) readZSetCompact(listpack bool) (Value, error) {
	blob, err := v.readBlob()
	if err != nil {
		return Value{}, err
	}
	elems, err := compactStrings(blob, listpack)
	if err != nil {
		return Value{}, err
	}
	if len(elems) == 0 {
		return Value{}, errEmptyKey
	}
	if len(elems)%2 != 0 {
		return Value{}, corruptf("zset with an odd number of elements")
	}
	out := make([]ScoredMember, len(elems)/2)
	var seen dupChecker
	for i := range out {
		m := elems[2*i]
		score, err := parseScore(elems[2*i+1])
		if err != nil {
			return Value{}, err
		}
		if !seen.add(m) {
			return Value{}, corruptf("duplicate zset fields detected")
		}
		out[i] = ScoredMember{Member: m, Score: score}
	}
	return Value{Kind: KindZSet, Encoding: EncodingCompact, ZSet: out}, nil
}

func (v *valueReader) readSetIntset() (Value, error) {
	blob, err := v.readBlob()
	if err != nil {
		return Value{}, err
	}
	members, err := intsetStrings(blob)
	if err != nil {
		return Value{}, err
	}
	if len(members) == 0 {
		return Value{}, errEmptyKey
	}
	return Value{Kind: KindSet, Encoding: EncodingCompact, Set: members}, nil
}

func (v *valueReader) readListZiplist() (Value, error) {
	blob, err := v.readBlob()
	if err != nil {
		return Value{}, err
	}
	elems, err := zlStrings(blob)
	if err != nil {
		return Value{}, err
	}
	if len(elems) == 0 {
		return Value{}, errEmptyKey
	}
	return Value{Kind: KindList, List: elems}, nil
}

// readQuicklist reads RDB types 14 (nodes are ziplists) and 18 (nodes are
// listpacks or, in PLAIN containers, single raw elements).
func (v *valueReader) readQuicklist(v2 bool) (Value, error) {
	nodes, err := v.r.readCount("quicklist node")
	if err != nil {
		return Value{}, err
	}
	if nodes == 0 {
		return Value{}, errEmptyKey
	}
	var list [][]byte
	for i := 0; i < nodes; i++ {
		container := uint64(containerPacked)
		if v2 {
			if container, err = v.r.readLen(); err != nil {
				return Value{}, err
			}
			if container != containerPacked && container != containerPlain {
				return Value{}, corruptf("quicklist integrity check failed: container %d", container)
			}
		}
		if container == containerPlain {
			elem, err := v.r.readString()
			if err != nil {
				return Value{}, err
			}
			if len(elem) == 0 {
				return Value{}, corruptf("quicklist: empty node")
			}
			list = append(list, elem)
			continue
		}
		blob, err := v.readBlob()
		if err != nil {
			return Value{}, err
		}
		if len(blob) == 0 {
			return Value{}, corruptf("quicklist: empty node")
		}
		var elems [][]byte
		if v2 {
			elems, err = lpStrings(blob)
		} else {
			elems, err = zlStrings(blob)
		}
		if err != nil {
			return Value{}, err
		}
		if list == nil {
			list = make([][]byte, 0, len(elems)*min(nodes, maxPrealloc/16+1))
		}
		list = append(list, elems...)
	}
	if len(list) == 0 {
		return Value{}, errEmptyKey
	}
	return Value{Kind: KindList, List: list}, nil
}

// readStreamID reads a 16-byte big-endian stream ID.
func (v *valueReader) readRawStreamID() (StreamID, error) {
	p, err := v.r.readSmall(8)
	if err != nil {
		return StreamID{}, err
	}
	ms := binary.BigEndian.Uint64(p)
	p, err = v.r.readSmall(8)
	if err != nil {
		return StreamID{}, err
	}
	return StreamID{Ms: ms, Seq: binary.BigEndian.Uint64(p)}, nil
}
