package rdb

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// legacyPayload builds a DUMP payload of an old RDB type with body written by
// fn.
func legacyPayload(t byte, fn func(w *writer)) []byte {
	w := newWriter(nil, false)
	w.writeByte(t)
	fn(w)
	return appendDumpFooter(w.buf)
}

func writeStringDouble(w *writer, f float64) {
	switch {
	case math.IsNaN(f):
		w.writeByte(253)
	case math.IsInf(f, 1):
		w.writeByte(254)
	case math.IsInf(f, -1):
		w.writeByte(255)
	default:
		s := strconv.FormatFloat(f, 'g', 17, 64)
		w.writeByte(byte(len(s)))
		w.write([]byte(s))
	}
}

// legacyPayloads covers the types Redis 7.0 no longer writes but loads.
func legacyPayloads() map[string][]byte {
	long := strings.Repeat("L", 300)
	out := map[string][]byte{}
	out["linkedlist"] = legacyPayload(TypeList, func(w *writer) {
		w.writeLen(4)
		for _, s := range []string{"a", "12", long, ""} {
			w.writeString([]byte(s))
		}
	})
	out["zset-strdouble"] = legacyPayload(TypeZSet, func(w *writer) {
		w.writeLen(5)
		for i, f := range []float64{1.5, math.Inf(1), math.Inf(-1), -3, 0.1} {
			w.writeString([]byte("m" + strconv.Itoa(i)))
			writeStringDouble(w, f)
		}
	})
	out["zipmap"] = legacyPayload(TypeHashZipmap, func(w *writer) {
		w.writeString(buildZipmap("foo", "bar", "n", "12", "long", long))
	})
	out["list-ziplist"] = legacyPayload(TypeListZiplist, func(w *writer) {
		w.writeString(buildZL(b("a"), b("7"), b("-70000"), b(long), b("9223372036854775807")))
	})
	out["zset-ziplist"] = legacyPayload(TypeZSetZiplist, func(w *writer) {
		w.writeString(buildZL(b("a"), b("1"), b("b"), b("2.5"), b("c"), b("inf"), b("d"), b("-70000")))
	})
	out["hash-ziplist"] = legacyPayload(TypeHashZiplist, func(w *writer) {
		w.writeString(buildZL(b("f"), b("v"), b("n"), b("300"), b("l"), b(long)))
	})
	out["quicklist-ziplist"] = legacyPayload(TypeListQuicklist, func(w *writer) {
		w.writeLen(3)
		w.writeString(buildZL(b("a"), b("b")))
		w.writeString(buildZL()) // empty nodes are skipped
		w.writeString(buildZL(b("1"), b(long), b("-2")))
	})
	out["stream-v1"] = func() []byte {
		w := newWriter(nil, false)
		w.writeByte(TypeStreamListpacks)
		enc := valueEncoder{w: w, cfg: DefaultConfig()}
		s := &Stream{}
		for i := 0; i < 150; i++ {
			s.Entries = append(s.Entries, StreamEntry{ID: StreamID{uint64(100 + i), 0},
				Fields: [][]byte{b("k"), b(strconv.Itoa(i))}})
		}
		s.LastID = StreamID{500, 1}
		s.Groups = []StreamGroup{
			{Name: b("at-first"), LastID: s.Entries[0].ID},
			{Name: b("at-last"), LastID: s.LastID},
			{Name: b("before"), LastID: StreamID{1, 0}},
			{Name: b("middle"), LastID: s.Entries[50].ID,
				Pending:   []StreamPending{{ID: s.Entries[20].ID, DeliveryTime: 1600000000000, DeliveryCount: 3}},
				Consumers: []StreamConsumer{{Name: b("c"), SeenTime: 1600000000001, Pending: []StreamID{s.Entries[20].ID}}}},
		}
		if err := enc.writeStreamVersion(s, false); err != nil {
			panic(err)
		}
		return appendDumpFooter(w.buf)
	}()
	// An LZF-compressed listpack blob in a modern type.
	out["hash-listpack-lzf"] = func() []byte {
		w := newWriter(nil, true)
		w.writeByte(TypeHashListpack)
		w.writeString(buildLP(b("field"), b(strings.Repeat("z", 60)), b("g"), b(strings.Repeat("z", 60))))
		return appendDumpFooter(w.buf)
	}()
	// A quicklist PLAIN node (Redis writes them for elements >= 1 GB).
	out["quicklist-plain"] = legacyPayload(TypeListQuicklist2, func(w *writer) {
		w.writeLen(3)
		w.writeLen(containerPacked)
		w.writeString(buildLP(b("a"), b("b")))
		w.writeLen(containerPlain)
		w.writeString([]byte(long))
		w.writeLen(containerPacked)
		w.writeString(buildLP(b("z")))
	})
	return out
}

func TestLegacyPayloadsAgainstRealServer(t *testing.T) {
	srv := startRedis(t, "")
	rc := srv.dial(t)
	for name, p := range legacyPayloads() {
		v, err := Restore(p, nil)
		require.NoError(t, err, name)
		rc.must(t, "RESTORE", name, 0, p)
		requireSameValue(t, serverValue(t, rc, []byte(name)), v, []byte(name))
	}
}

func TestLegacyPayloadsDecode(t *testing.T) {
	p := legacyPayloads()
	v, err := Restore(p["zset-ziplist"], nil)
	require.NoError(t, err)
	require.Equal(t, []ScoredMember{{b("a"), 1}, {b("b"), 2.5}, {b("c"), math.Inf(1)}, {b("d"), -70000}}, v.ZSet)
	v, err = Restore(p["quicklist-plain"], nil)
	require.NoError(t, err)
	require.Len(t, v.List, 4)
	v, err = Restore(p["stream-v1"], nil)
	require.NoError(t, err)
	require.Equal(t, uint64(150), v.Stream.EntriesAdded)
	require.Equal(t, StreamID{100, 0}, v.Stream.FirstID)
	read := map[string]int64{}
	for _, g := range v.Stream.Groups {
		read[string(g.Name)] = g.EntriesRead
	}
	require.Equal(t, map[string]int64{"at-first": 1, "at-last": 150, "before": 0, "middle": -1}, read)
}

// TestHugeCompactEncodings checks listpacks with more than 65535 elements
// (header count "unknown") and a large intset: our payloads restore into a
// real server that keeps them compact, and its DUMPs decode. (Building such
// listpacks with HSET/ZADD is quadratic in Redis, so we craft them.)
func TestHugeCompactEncodings(t *testing.T) {
	srv := startRedis(t, "", "--hash-max-listpack-entries", "100000", "--zset-max-listpack-entries", "100000",
		"--set-max-intset-entries", "100000")
	rc := srv.dial(t)
	const n = 40000
	values := map[string]Value{
		"h": {Kind: KindHash, Encoding: EncodingCompact},
		"z": {Kind: KindZSet, Encoding: EncodingCompact},
		"s": {Kind: KindSet, Encoding: EncodingCompact},
	}
	h, z, st := values["h"], values["z"], values["s"]
	for i := 0; i < n; i++ {
		h.Hash = append(h.Hash, FieldValue{[]byte("f" + strconv.Itoa(i)), []byte(strconv.Itoa(i))})
		z.ZSet = append(z.ZSet, ScoredMember{[]byte("m" + strconv.Itoa(i)), float64(i) / 4})
		st.Set = append(st.Set, []byte(strconv.Itoa(i*3-60000)))
	}
	values["h"], values["z"], values["s"] = h, z, st
	for key, enc := range map[string]string{"h": "listpack", "z": "listpack", "s": "intset"} {
		v := values[key]
		ours, err := Dump(&v, nil)
		require.NoError(t, err)
		rc.must(t, "RESTORE", key, 0, ours)
		require.Equal(t, enc, asString(t, rc.must(t, "OBJECT", "ENCODING", key)))
		requireSameValue(t, v, serverValue(t, rc, []byte(key)), []byte(key))
		payload := []byte(asString(t, rc.must(t, "DUMP", key)))
		back, err := Restore(payload, nil)
		require.NoError(t, err)
		require.Equal(t, n, back.Len(), key)
		require.Equal(t, EncodingCompact, back.Encoding)
		requireSameValue(t, v, back, []byte(key))
	}
}
