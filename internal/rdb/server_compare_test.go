package rdb

import (
	"bytes"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// parseID parses "ms-seq".
func parseID(t *testing.T, s string) StreamID {
	t.Helper()
	i := strings.IndexByte(s, '-')
	require.True(t, i > 0, "bad stream ID %q", s)
	ms, err := strconv.ParseUint(s[:i], 10, 64)
	require.NoError(t, err)
	seq, err := strconv.ParseUint(s[i+1:], 10, 64)
	require.NoError(t, err)
	return StreamID{Ms: ms, Seq: seq}
}

// pairsMap turns a flat [k, v, k, v...] reply into a map.
func pairsMap(t *testing.T, v any) map[string]any {
	t.Helper()
	arr := asArray(t, v)
	m := make(map[string]any, len(arr)/2)
	for i := 0; i+1 < len(arr); i += 2 {
		m[asString(t, arr[i])] = arr[i+1]
	}
	return m
}

func bytesList(t *testing.T, v any) [][]byte {
	t.Helper()
	arr := asArray(t, v)
	out := make([][]byte, len(arr))
	for i, x := range arr {
		out[i] = []byte(asString(t, x))
	}
	return out
}

// serverValue reads key from the server (in the selected db) into a Value.
func serverValue(t *testing.T, rc *respConn, key []byte) Value {
	t.Helper()
	typ := asString(t, rc.must(t, "TYPE", key))
	switch typ {
	case "string":
		return Value{Kind: KindString, Str: []byte(asString(t, rc.must(t, "GET", key)))}
	case "list":
		return Value{Kind: KindList, List: bytesList(t, rc.must(t, "LRANGE", key, 0, -1))}
	case "set":
		return Value{Kind: KindSet, Set: bytesList(t, rc.must(t, "SMEMBERS", key))}
	case "hash":
		flat := bytesList(t, rc.must(t, "HGETALL", key))
		h := make([]FieldValue, len(flat)/2)
		for i := range h {
			h[i] = FieldValue{flat[2*i], flat[2*i+1]}
		}
		return Value{Kind: KindHash, Hash: h}
	case "zset":
		flat := bytesList(t, rc.must(t, "ZRANGE", key, 0, -1, "WITHSCORES"))
		z := make([]ScoredMember, len(flat)/2)
		for i := range z {
			f, err := strconv.ParseFloat(string(flat[2*i+1]), 64)
			require.NoError(t, err)
			z[i] = ScoredMember{flat[2*i], f}
		}
		return Value{Kind: KindZSet, ZSet: z}
	case "stream":
		return Value{Kind: KindStream, Stream: serverStream(t, rc, key)}
	}
	t.Fatalf("key %q: unexpected type %q", key, typ)
	return Value{}
}

func serverStream(t *testing.T, rc *respConn, key []byte) *Stream {
	info := pairsMap(t, rc.must(t, "XINFO", "STREAM", key, "FULL", "COUNT", 0))
	s := &Stream{
		LastID:       parseID(t, asString(t, info["last-generated-id"])),
		MaxDeletedID: parseID(t, asString(t, info["max-deleted-entry-id"])),
		EntriesAdded: uint64(asInt(t, info["entries-added"])),
		FirstID:      parseID(t, asString(t, info["recorded-first-entry-id"])),
	}
	for _, e := range asArray(t, info["entries"]) {
		pair := asArray(t, e)
		s.Entries = append(s.Entries, StreamEntry{ID: parseID(t, asString(t, pair[0])), Fields: bytesList(t, pair[1])})
	}
	require.Equal(t, int64(len(s.Entries)), asInt(t, info["length"]))
	for _, gv := range asArray(t, info["groups"]) {
		gm := pairsMap(t, gv)
		g := StreamGroup{Name: []byte(asString(t, gm["name"])), LastID: parseID(t, asString(t, gm["last-delivered-id"])), EntriesRead: -1}
		if gm["entries-read"] != nil {
			g.EntriesRead = asInt(t, gm["entries-read"])
		}
		for _, pv := range asArray(t, gm["pending"]) {
			p := asArray(t, pv)
			g.Pending = append(g.Pending, StreamPending{ID: parseID(t, asString(t, p[0])),
				DeliveryTime: asInt(t, p[2]), DeliveryCount: uint64(asInt(t, p[3]))})
		}
		for _, cv := range asArray(t, gm["consumers"]) {
			cm := pairsMap(t, cv)
			c := StreamConsumer{Name: []byte(asString(t, cm["name"])), SeenTime: asInt(t, cm["seen-time"])}
			for _, pv := range asArray(t, cm["pending"]) {
				c.Pending = append(c.Pending, parseID(t, asString(t, asArray(t, pv)[0])))
			}
			g.Consumers = append(g.Consumers, c)
		}
		s.Groups = append(s.Groups, g)
	}
	return s
}

// normalize sorts unordered aggregates and clears the encoding so that values
// can be compared.
func normalize(v Value) Value {
	v.Encoding = EncodingAuto
	switch v.Kind {
	case KindSet:
		s := append([][]byte(nil), v.Set...)
		sort.Slice(s, func(i, j int) bool { return bytes.Compare(s[i], s[j]) < 0 })
		v.Set = s
	case KindHash:
		h := append([]FieldValue(nil), v.Hash...)
		sort.Slice(h, func(i, j int) bool { return bytes.Compare(h[i].Field, h[j].Field) < 0 })
		v.Hash = h
	case KindZSet:
		z := append([]ScoredMember(nil), v.ZSet...)
		sort.Slice(z, func(i, j int) bool {
			if z[i].Score != z[j].Score {
				return z[i].Score < z[j].Score
			}
			return bytes.Compare(z[i].Member, z[j].Member) < 0
		})
		// -0 and 0 are the same score for Redis.
		for i := range z {
			if z[i].Score == 0 {
				z[i].Score = 0
			}
		}
		v.ZSet = z
	case KindStream:
		if v.Stream != nil {
			s := *v.Stream
			s.Groups = append([]StreamGroup(nil), s.Groups...)
			sort.Slice(s.Groups, func(i, j int) bool { return bytes.Compare(s.Groups[i].Name, s.Groups[j].Name) < 0 })
			for gi := range s.Groups {
				g := &s.Groups[gi]
				g.Pending = append([]StreamPending(nil), g.Pending...)
				sort.Slice(g.Pending, func(i, j int) bool { return g.Pending[i].ID.less(g.Pending[j].ID) })
				g.Consumers = append([]StreamConsumer(nil), g.Consumers...)
				sort.Slice(g.Consumers, func(i, j int) bool { return bytes.Compare(g.Consumers[i].Name, g.Consumers[j].Name) < 0 })
				for ci := range g.Consumers {
					c := &g.Consumers[ci]
					c.Pending = append([]StreamID(nil), c.Pending...)
					sort.Slice(c.Pending, func(i, j int) bool { return c.Pending[i].less(c.Pending[j]) })
				}
			}
			v.Stream = &s
		}
	}
	return v
}

// requireSameValue compares two values ignoring order where Redis has none.
func requireSameValue(t *testing.T, want, got Value, key []byte) {
	t.Helper()
	a, b := normalize(want), normalize(got)
	require.Equal(t, a.Kind, b.Kind, "key %q", key)
	if a.Kind == KindZSet {
		require.Equal(t, len(a.ZSet), len(b.ZSet), "key %q", key)
		for i := range a.ZSet {
			require.Equal(t, string(a.ZSet[i].Member), string(b.ZSet[i].Member), "key %q", key)
			require.True(t, a.ZSet[i].Score == b.ZSet[i].Score || (math.IsNaN(a.ZSet[i].Score) && math.IsNaN(b.ZSet[i].Score)),
				"key %q member %q: %v vs %v", key, a.ZSet[i].Member, a.ZSet[i].Score, b.ZSet[i].Score)
		}
		return
	}
	require.Equal(t, a, b, "key %q", key)
}

// encodingName maps an RDB type to the OBJECT ENCODING Redis reports after
// loading it with default thresholds.
func encodingName(v *Value) string {
	switch v.Kind {
	case KindList:
		return "quicklist"
	case KindStream:
		return "stream"
	case KindSet:
		if v.Encoding == EncodingCompact {
			return "intset"
		}
		return "hashtable"
	case KindHash:
		if v.Encoding == EncodingCompact {
			return "listpack"
		}
		return "hashtable"
	case KindZSet:
		if v.Encoding == EncodingCompact {
			return "listpack"
		}
		return "skiplist"
	}
	return ""
}

// checkEntries verifies that the server holds exactly entries (per db:
// key count, values, TTLs) and returns OBJECT ENCODING for every key.
func checkEntries(t *testing.T, rc *respConn, entries []Entry, checkTTL bool) map[string]string {
	t.Helper()
	perDB := map[int]int{}
	enc := map[string]string{}
	for i := range entries {
		e := &entries[i]
		perDB[e.DB]++
		rc.must(t, "SELECT", e.DB)
		got := serverValue(t, rc, e.Key)
		requireSameValue(t, e.Value, got, e.Key)
		if checkTTL {
			pexp := asInt(t, rc.must(t, "PEXPIRETIME", e.Key))
			if e.ExpireMs == 0 {
				require.Equal(t, int64(-1), pexp, "key %q", e.Key)
			} else {
				require.Equal(t, e.ExpireMs, pexp, "key %q", e.Key)
			}
		}
		enc[strconv.Itoa(e.DB)+"/"+string(e.Key)] = asString(t, rc.must(t, "OBJECT", "ENCODING", e.Key))
	}
	for db := 0; db < 16; db++ {
		rc.must(t, "SELECT", db)
		require.Equal(t, int64(perDB[db]), asInt(t, rc.must(t, "DBSIZE")), "db %d", db)
	}
	rc.must(t, "SELECT", 0)
	return enc
}
