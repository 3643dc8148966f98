package rdb

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func b(s string) []byte { return []byte(s) }

// testDataset builds entries of every kind, size class and encoding.
func testDataset() []Entry {
	rng := rand.New(rand.NewSource(99))
	future := time.Now().Add(2 * time.Hour).UnixMilli()
	var out []Entry
	add := func(db int, key string, v Value, exp int64) {
		out = append(out, Entry{DB: db, Key: b(key), Value: v, ExpireMs: exp, Idle: -1, Freq: -1})
	}
	str := func(s string) Value { return Value{Kind: KindString, Str: b(s)} }
	add(0, "s:plain", str("hello world"), 0)
	add(0, "s:int", str("12345"), future)
	add(0, "s:neg", str("-128"), 0)
	add(0, "s:i16", str("-32768"), 0)
	add(0, "s:i32", str("2147483647"), 0)
	add(0, "s:big11", str("21474836470"), 0)
	add(0, "s:lead0", str("0123"), 0)
	add(0, "s:empty", str(""), 0)
	add(0, "s:emb44", str(strings.Repeat("e", 44)), 0)
	add(0, "s:raw45", str(strings.Repeat("r", 45)), 0)
	add(0, "s:lzf", str(strings.Repeat("abc", 1000)), future+1)
	rnd := make([]byte, 3000)
	rng.Read(rnd)
	add(0, "s:random", Value{Kind: KindString, Str: rnd}, 0)
	add(0, "s:huge", str(strings.Repeat("huge string ", 200000)), 0)

	list := func(n int, gen func(i int) string) Value {
		v := Value{Kind: KindList}
		for i := 0; i < n; i++ {
			v.List = append(v.List, b(gen(i)))
		}
		return v
	}
	add(0, "l:small", list(5, func(i int) string { return []string{"a", "1", "-300", "x", ""}[i] }), future+2)
	add(0, "l:ints", list(5000, func(i int) string { return strconv.Itoa(i * 977) }), 0)
	add(0, "l:mixed", list(2000, func(i int) string { return strings.Repeat("m", i%700) }), 0)
	add(0, "l:bigelems", list(10, func(i int) string { return strings.Repeat("B", 9000+i) }), 0)

	set := func(enc Encoding, members ...string) Value {
		v := Value{Kind: KindSet, Encoding: enc}
		for _, m := range members {
			v.Set = append(v.Set, b(m))
		}
		return v
	}
	add(0, "set:ints", set(EncodingAuto, "3", "1", "2", "-100000", "9223372036854775807"), future+3)
	add(0, "set:strs", set(EncodingAuto, "a", "b", "c"), 0)
	var many []string
	for i := 0; i < 513; i++ {
		many = append(many, strconv.Itoa(i))
	}
	add(0, "set:513ints", set(EncodingAuto, many...), 0)
	add(0, "set:512ints", set(EncodingAuto, many[:512]...), 0)
	add(0, "set:forcedtable", set(EncodingTable, "1", "2"), 0)

	zset := func(enc Encoding, n int, member func(i int) string, score func(i int) float64) Value {
		v := Value{Kind: KindZSet, Encoding: enc}
		for i := 0; i < n; i++ {
			v.ZSet = append(v.ZSet, ScoredMember{b(member(i)), score(i)})
		}
		return v
	}
	scores := []float64{1.5, -2, math.Inf(1), math.Inf(-1), 0.1, 1e300, math.Copysign(0, -1), 1e-300, 42}
	add(0, "z:small", zset(EncodingAuto, len(scores), func(i int) string { return "m" + strconv.Itoa(i) },
		func(i int) float64 { return scores[i] }), future+4)
	add(0, "z:128", zset(EncodingAuto, 128, func(i int) string { return "m" + strconv.Itoa(i) },
		func(i int) float64 { return float64(i % 10) }), 0)
	add(0, "z:129", zset(EncodingAuto, 129, func(i int) string { return "m" + strconv.Itoa(i) },
		func(i int) float64 { return float64(i) * 1.25 }), 0)
	add(0, "z:long", zset(EncodingAuto, 2, func(i int) string { return strings.Repeat("L", 64+i) },
		func(i int) float64 { return float64(i) }), 0)

	hash := func(enc Encoding, n int, val func(i int) string) Value {
		v := Value{Kind: KindHash, Encoding: enc}
		for i := 0; i < n; i++ {
			v.Hash = append(v.Hash, FieldValue{b("f" + strconv.Itoa(i)), b(val(i))})
		}
		return v
	}
	add(0, "h:small", hash(EncodingAuto, 4, func(i int) string { return strconv.Itoa(i * -1000) }), future+5)
	add(0, "h:512", hash(EncodingAuto, 512, func(i int) string { return "v" + strconv.Itoa(i) }), 0)
	add(0, "h:513", hash(EncodingAuto, 513, func(i int) string { return "v" + strconv.Itoa(i) }), 0)
	add(0, "h:longval", hash(EncodingAuto, 3, func(i int) string { return strings.Repeat("v", 63+i) }), 0)
	add(0, "h:forcedcompact", hash(EncodingCompact, 600, func(i int) string { return "v" }), 0)

	st := &Stream{EntriesAdded: 305, MaxDeletedID: StreamID{1000, 5}}
	for i := 0; i < 300; i++ {
		e := StreamEntry{ID: StreamID{uint64(1000 + i), uint64(i % 3)}}
		if i%4 == 0 {
			e.Fields = [][]byte{b("a"), b(strconv.Itoa(i)), b("b"), b(strings.Repeat("x", i))}
		} else {
			e.Fields = [][]byte{b("a"), b(strconv.Itoa(-i)), b("c"), b("d")}
		}
		st.Entries = append(st.Entries, e)
	}
	st.LastID = StreamID{2000, 0}
	st.FirstID = st.Entries[0].ID
	st.Groups = []StreamGroup{
		{Name: b("grp"), LastID: st.Entries[10].ID, EntriesRead: 11,
			Pending: []StreamPending{
				{ID: st.Entries[3].ID, DeliveryTime: 1700000000123, DeliveryCount: 2},
				{ID: st.Entries[7].ID, DeliveryTime: 1700000000456, DeliveryCount: 1},
				{ID: st.Entries[1].ID, DeliveryTime: 1700000000789, DeliveryCount: 5},
			},
			Consumers: []StreamConsumer{
				{Name: b("zed"), SeenTime: 1700000001000, Pending: []StreamID{st.Entries[7].ID}},
				{Name: b("amy"), SeenTime: 1700000002000, Pending: []StreamID{st.Entries[3].ID, st.Entries[1].ID}},
				{Name: b("idle"), SeenTime: 1700000003000},
			}},
		{Name: b("another"), LastID: StreamID{}, EntriesRead: -1},
	}
	add(0, "x:stream", Value{Kind: KindStream, Stream: st}, future+6)
	add(0, "x:empty", Value{Kind: KindStream, Stream: &Stream{LastID: StreamID{5, 5}, EntriesAdded: 3, MaxDeletedID: StreamID{5, 5},
		Groups: []StreamGroup{{Name: b("g"), LastID: StreamID{5, 5}, EntriesRead: 3}}}}, 0)

	add(2, "db2:key", str("two"), future+7)
	add(2, "db2:list", list(3, func(i int) string { return "e" + strconv.Itoa(i) }), 0)
	add(9, "db9:hash", hash(EncodingAuto, 2, func(i int) string { return "x" }), 0)
	return out
}

// writeDataset encodes entries (grouped per db, ascending) into path.
func writeDataset(t *testing.T, path string, entries []Entry, opts *EncoderOptions, funcs ...string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	enc := NewEncoder(f, opts)
	require.NoError(t, enc.WriteHeader(&Header{UsedMem: 1 << 20}))
	for _, fn := range funcs {
		require.NoError(t, enc.WriteFunction(b(fn)))
	}
	for db := 0; db < 16; db++ {
		var keys, expires uint64
		for i := range entries {
			if entries[i].DB == db {
				keys++
				if entries[i].ExpireMs != 0 {
					expires++
				}
			}
		}
		if keys == 0 {
			continue
		}
		require.NoError(t, enc.SelectDB(db, keys, expires))
		for i := range entries {
			if entries[i].DB == db {
				require.NoError(t, enc.WriteEntry(&entries[i]))
			}
		}
	}
	require.NoError(t, enc.Close())
	require.NoError(t, f.Sync())
}

// expectedEncoding is OBJECT ENCODING after Redis 7.0 loads v with default
// settings.
func expectedEncoding(v *Value) string {
	switch v.Kind {
	case KindString:
		if _, ok := parseStrictInt64(v.Str); ok {
			return "int"
		}
		if len(v.Str) <= 44 {
			return "embstr"
		}
		return "raw"
	case KindList:
		return "quicklist"
	case KindStream:
		return "stream"
	case KindSet:
		if len(v.Set) <= 512 { // Redis re-derives the encoding on load
			ok := true
			for _, m := range v.Set {
				if _, isInt := parseStrictInt64(m); !isInt {
					ok = false
				}
			}
			if ok {
				return "intset"
			}
		}
		return "hashtable"
	case KindHash:
		if len(v.Hash) > 512 {
			return "hashtable"
		}
		for _, fv := range v.Hash {
			if len(fv.Field) > 64 || len(fv.Value) > 64 {
				return "hashtable"
			}
		}
		return "listpack"
	case KindZSet:
		if len(v.ZSet) > 128 {
			return "skiplist"
		}
		for _, m := range v.ZSet {
			if len(m.Member) > 64 {
				return "skiplist"
			}
		}
		return "listpack"
	}
	return ""
}

func checkRDB(t *testing.T, path string) {
	t.Helper()
	bin, err := exec.LookPath("redis-check-rdb")
	if err != nil {
		t.Log("redis-check-rdb not installed: skipping the file check")
		return
	}
	out, err := exec.Command(bin, path).CombinedOutput()
	require.NoError(t, err, "redis-check-rdb: %s", out)
	require.Contains(t, string(out), "RDB looks OK", "redis-check-rdb: %s", out)
}

func TestEncoderFileLoadsInRealServer(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *EncoderOptions
	}{
		{"default", nil},
		{"nocompression", &EncoderOptions{NoCompression: true}},
		{"nochecksum", &EncoderOptions{NoChecksum: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			entries := testDataset()
			path := filepath.Join(dir, "ours.rdb")
			writeDataset(t, path, entries, tc.opts, testLibrary)
			checkRDB(t, path)

			// Our decoder reads back exactly what we wrote.
			got, aux, funcs := decodeFile(t, path)
			require.Equal(t, []string{testLibrary}, funcs)
			require.Equal(t, "7.0.15", aux["redis-ver"])
			require.Len(t, got, len(entries))
			for i := range entries {
				require.Equal(t, entries[i].Key, got[i].Key)
				require.Equal(t, entries[i].DB, got[i].DB)
				require.Equal(t, entries[i].ExpireMs, got[i].ExpireMs)
				requireSameValue(t, entries[i].Value, got[i].Value, entries[i].Key)
			}

			srv := startRedis(t, dir, "--dbfilename", "ours.rdb")
			rc := srv.dial(t)
			enc := checkEntries(t, rc, entries, true)
			for i := range entries {
				e := &entries[i]
				require.Equal(t, expectedEncoding(&e.Value), enc[strconv.Itoa(e.DB)+"/"+string(e.Key)], "OBJECT ENCODING of %q", e.Key)
			}
			libs := asArray(t, rc.must(t, "FUNCTION", "LIST"))
			require.Len(t, libs, 1)
			require.Equal(t, "rdbtestlib", asString(t, pairsMap(t, libs[0])["library_name"]))
			require.Equal(t, "hi", asString(t, rc.must(t, "FCALL", "rdbtest_echo", 0, "hi")))

			// The server saves the same dataset back; decoding its file gives
			// the same values.
			rc.must(t, "SAVE")
			again, _, funcs2 := decodeFile(t, filepath.Join(dir, "ours.rdb"))
			require.Equal(t, []string{testLibrary}, funcs2)
			byKey := map[string]*Entry{}
			for i := range again {
				byKey[strconv.Itoa(again[i].DB)+"/"+string(again[i].Key)] = &again[i]
			}
			require.Len(t, again, len(entries))
			for i := range entries {
				e := &entries[i]
				g := byKey[strconv.Itoa(e.DB)+"/"+string(e.Key)]
				require.NotNil(t, g, "key %q", e.Key)
				require.Equal(t, e.ExpireMs, g.ExpireMs)
				requireSameValue(t, e.Value, g.Value, e.Key)
			}
		})
	}
}

func TestEncoderMatchesRedisFileBytes(t *testing.T) {
	// A dataset whose layout is deterministic, saved by Redis (compression
	// off) and by us, must give identical bytes apart from the aux values.
	srv := startRedis(t, "", "--rdbcompression", "no")
	rc := srv.dial(t)
	rc.must(t, "RPUSH", "l", "a", "1", "300")
	rc.must(t, "SET", "k1", "hello")
	rc.must(t, "SET", "k2", "v", "PXAT", "4102444800000")
	rc.must(t, "SAVE")
	redisFile, err := os.ReadFile(filepath.Join(srv.dir, "dump.rdb"))
	require.NoError(t, err)
	entries, aux, _ := decodeFile(t, filepath.Join(srv.dir, "dump.rdb"))
	ctime, _ := strconv.ParseInt(aux["ctime"], 10, 64)
	usedMem, _ := strconv.ParseInt(aux["used-mem"], 10, 64)

	var buf bytes.Buffer
	enc := NewEncoder(&buf, &EncoderOptions{NoCompression: true})
	require.NoError(t, enc.WriteHeader(&Header{CTime: ctime, UsedMem: usedMem}))
	require.NoError(t, enc.SelectDB(0, 3, 1))
	for i := range entries {
		require.NoError(t, enc.WriteEntry(&entries[i]))
	}
	require.NoError(t, enc.Close())
	require.Equal(t, fmt.Sprintf("%x", redisFile), fmt.Sprintf("%x", buf.Bytes()))
}
