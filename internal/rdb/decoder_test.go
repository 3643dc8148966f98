package rdb

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// encodeDataset writes entries into an in-memory RDB.
func encodeDataset(t testing.TB, entries []Entry, opts *EncoderOptions) []byte {
	var buf bytes.Buffer
	enc := NewEncoder(&buf, opts)
	require.NoError(t, enc.WriteHeader(&Header{CTime: 1700000000, UsedMem: 1000}))
	require.NoError(t, enc.WriteFunction([]byte(testLibrary)))
	db := -1
	for i := range entries {
		if entries[i].DB != db {
			db = entries[i].DB
			require.NoError(t, enc.SelectDB(db, 0, 0))
		}
		require.NoError(t, enc.WriteEntry(&entries[i]))
	}
	require.NoError(t, enc.Close())
	require.Equal(t, int64(buf.Len()), enc.Written())
	return buf.Bytes()
}

func smallDataset() []Entry {
	return []Entry{
		{Key: b("s"), Value: Value{Kind: KindString, Str: b(strings.Repeat("ab", 30))}, ExpireMs: 1700000000000},
		{Key: b("i"), Value: Value{Kind: KindString, Str: b("-7")}},
		{Key: b("l"), Value: Value{Kind: KindList, List: [][]byte{b("a"), b("1"), b("300")}}},
		{Key: b("set"), Value: Value{Kind: KindSet, Set: [][]byte{b("1"), b("2")}}},
		{Key: b("sset"), Value: Value{Kind: KindSet, Set: [][]byte{b("x"), b("y")}}},
		{Key: b("h"), Value: Value{Kind: KindHash, Hash: []FieldValue{{b("f"), b("v")}}}},
		{Key: b("ht"), Value: Value{Kind: KindHash, Encoding: EncodingTable, Hash: []FieldValue{{b("f"), b("v")}}}},
		{Key: b("z"), Value: Value{Kind: KindZSet, ZSet: []ScoredMember{{b("m"), 1.5}}}},
		{Key: b("zt"), Value: Value{Kind: KindZSet, Encoding: EncodingTable, ZSet: []ScoredMember{{b("m"), 1.5}, {b("n"), -1}}}},
		{DB: 1, Key: b("x"), Value: Value{Kind: KindStream, Stream: &Stream{
			Entries: []StreamEntry{{ID: StreamID{1, 1}, Fields: [][]byte{b("a"), b("b")}}},
			LastID:  StreamID{1, 1}, FirstID: StreamID{1, 1}, EntriesAdded: 1,
			Groups: []StreamGroup{{Name: b("g"), EntriesRead: 1, LastID: StreamID{1, 1},
				Pending:   []StreamPending{{ID: StreamID{1, 1}, DeliveryTime: 5, DeliveryCount: 1}},
				Consumers: []StreamConsumer{{Name: b("c"), SeenTime: 5, Pending: []StreamID{{1, 1}}}}}}}}},
	}
}

func TestDecoderRoundTrip(t *testing.T) {
	entries := smallDataset()
	raw := encodeDataset(t, entries, nil)
	recs := decodeAll(t, raw)
	var got []Entry
	for _, r := range recs {
		if r.Kind == RecordEntry {
			got = append(got, r.Entry)
		}
	}
	require.Len(t, got, len(entries))
	for i := range entries {
		require.Equal(t, entries[i].DB, got[i].DB)
		require.Equal(t, entries[i].ExpireMs, got[i].ExpireMs)
		requireSameValue(t, entries[i].Value, got[i].Value, entries[i].Key)
	}
	require.Equal(t, EncodingTable, got[6].Value.Encoding)
	require.Equal(t, EncodingCompact, got[5].Value.Encoding)
	require.Equal(t, EncodingCompact, got[3].Value.Encoding)
	require.Equal(t, EncodingTable, got[4].Value.Encoding)
}

func TestDecoderTruncated(t *testing.T) {
	raw := encodeDataset(t, smallDataset(), nil)
	for n := 0; n < len(raw); n++ {
		_, err := decodeAllErr(raw[:n])
		require.Error(t, err, "truncated at %d", n)
		// With the size unknown the error is a short read.
		_, err = decodeAllErr2(io.MultiReader(bytes.NewReader(raw[:n])))
		require.Error(t, err, "truncated at %d", n)
	}
}

func decodeAllErr2(r io.Reader) ([]Record, error) {
	var out []Record
	err := Walk(r, nil, func(rec *Record) error {
		out = append(out, *rec)
		return nil
	})
	return out, err
}

func TestDecoderVersions(t *testing.T) {
	_, err := decodeAllErr([]byte("REDIS0011\xff"))
	var ve *VersionError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "Can't handle RDB format version 11", err.Error())
	_, err = decodeAllErr([]byte("REDIS0000\xff"))
	require.EqualError(t, err, "Can't handle RDB format version 0")
	_, err = decodeAllErr([]byte("RADIS0010\xff"))
	require.ErrorIs(t, err, ErrSignature)
	// Versions < 5 have no checksum.
	recs, err := decodeAllErr([]byte("REDIS0004\x00\x01k\x01v\xff"))
	require.NoError(t, err)
	require.Len(t, recs, 1)
	// Legacy second-resolution expire.
	recs, err = decodeAllErr([]byte("REDIS0006\xfd\x10\x00\x00\x00\x00\x01k\x01v\xff" + string(make([]byte, 8))))
	require.NoError(t, err)
	require.Equal(t, int64(16000), recs[0].Entry.ExpireMs)
}

func withCRC(p []byte) []byte { return append(p, le64(CRC64(p))...) }

func TestDecoderRefusals(t *testing.T) {
	// 7.2 listpack sets and modules are refused with ErrUnsupported.
	_, err := decodeAllErr(withCRC([]byte("REDIS0010\x14\x01k\x07\x07\x00\x00\x00\x00\x00\x00\xff")))
	require.ErrorIs(t, err, ErrUnsupported)
	_, err = decodeAllErr(withCRC([]byte("REDIS0010\x07\x01k\x05\xff")))
	require.ErrorIs(t, err, ErrUnsupported)
	_, err = decodeAllErr(withCRC([]byte("REDIS0010\xf7\x05\x02\x00\x00\xff")))
	require.ErrorIs(t, err, ErrUnsupported)
	// Unknown opcodes and bad DB numbers.
	_, err = decodeAllErr(withCRC([]byte("REDIS0010\x08\xff")))
	require.ErrorIs(t, err, ErrCorrupt)
	d := NewDecoder(bytes.NewReader(withCRC([]byte("REDIS0010\xfe\x10\xff"))), &DecoderOptions{Databases: 16})
	_, err = d.Next()
	require.ErrorIs(t, err, ErrLimit)
	// Duplicates in hash-table encodings.
	_, err = decodeAllErr(withCRC([]byte("REDIS0010\x02\x01k\x02\x01a\x01a\xff")))
	require.ErrorIs(t, err, ErrCorrupt)
	// NaN scores.
	_, err = decodeAllErr(withCRC([]byte("REDIS0010\x03\x01k\x01\x01a\xfd\xff")))
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestDecoderSkipsEmptyKeys(t *testing.T) {
	p := withCRC([]byte("REDIS0010\x02\x01k\x00\x04\x01h\x00\x00\x01s\x01v\xff"))
	d := NewDecoder(bytes.NewReader(p), nil)
	r, err := d.Next()
	require.NoError(t, err)
	require.Equal(t, "s", string(r.Entry.Key))
	_, err = d.Next()
	require.Equal(t, io.EOF, err)
	require.Equal(t, 2, d.EmptyKeysSkipped())
	_, err = d.Next()
	require.Equal(t, io.EOF, err)
}

func TestDecoderStopsAtEnd(t *testing.T) {
	raw := encodeDataset(t, smallDataset(), nil)
	tail := "*1\r\n$4\r\nPING\r\n"
	br := bufio.NewReader(io.MultiReader(bytes.NewReader(raw), strings.NewReader(tail)))
	d := NewDecoder(br, nil)
	for {
		_, err := d.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	require.Equal(t, int64(len(raw)), d.Offset())
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.Equal(t, tail, string(rest))
}

func TestDecoderHostileLengths(t *testing.T) {
	// A 4 GB string announced in a 20 byte input.
	p := []byte("REDIS0010\x00\x01k\x80\xff\xff\xff\xf0abc")
	_, err := decodeAllErr(p)
	require.ErrorIs(t, err, ErrLimit)
	// Same with the input size hidden: memory grows with the data received.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = decodeAllErr2(io.MultiReader(bytes.NewReader(p)))
	runtime.ReadMemStats(&after)
	require.True(t, errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20))
	// Huge counts are bounded by the bytes left.
	_, err = decodeAllErr([]byte("REDIS0010\x02\x01k\x81\x00\x00\x00\x10\x00\x00\x00\x00\x01a"))
	require.ErrorIs(t, err, ErrLimit)
	// A bogus LZF expansion ratio.
	_, err = decodeAllErr([]byte("REDIS0010\x00\x01k\xc3\x02\x80\x10\x00\x00\x00\x00a"))
	require.ErrorIs(t, err, ErrCorrupt)
	// The configured limit applies.
	d := NewDecoder(bytes.NewReader([]byte("REDIS0010\x00\x01k\x10abcdefghijklmnop")), &DecoderOptions{MaxStringLen: 8})
	_, err = d.Next()
	require.ErrorIs(t, err, ErrLimit)
}

func FuzzDecoder(f *testing.F) {
	f.Add(encodeDataset(f, smallDataset(), nil))
	f.Add(encodeDataset(f, smallDataset(), &EncoderOptions{NoCompression: true}))
	f.Add([]byte("REDIS0004\x00\x01k\x01v\xff"))
	for _, p := range legacyPayloads() {
		body := p[:len(p)-10]
		f.Add(withCRC(append(append([]byte("REDIS0010"), body[0], 1, 'k'), append(body[1:], 0xff)...)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data), &DecoderOptions{SkipChecksum: true, MaxStringLen: 1 << 20})
		for i := 0; i < 10000; i++ {
			if _, err := d.Next(); err != nil {
				return
			}
		}
	})
}

func FuzzRestore(f *testing.F) {
	for _, c := range capturedDumps {
		f.Add(unhex(f, c.payload))
	}
	for _, p := range legacyPayloads() {
		f.Add(p)
	}
	for _, e := range smallDataset() {
		p, err := Dump(&e.Value, nil)
		require.NoError(f, err)
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Restore(data, &RestoreOptions{SkipChecksum: true, MaxStringLen: 1 << 20})
		if err != nil {
			return
		}
		// Whatever decodes must encode, and decode again to the same value.
		if v.Len() == 0 && v.Kind != KindString && v.Kind != KindStream {
			t.Fatalf("decoded an empty aggregate")
		}
		p, err := Dump(&v, nil)
		if err != nil {
			// Values Redis accepts but that we refuse to write (e.g. a
			// stream whose entries our encoder rejects) must be rare: only
			// tolerate the documented cases.
			t.Fatalf("re-encoding a decoded value failed: %v", err)
		}
		again, err := Restore(p, nil)
		require.NoError(t, err)
		requireSameValue(t, v, again, nil)
	})
}

func TestHeaderAuxOrder(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf, nil)
	require.NoError(t, enc.WriteHeader(&Header{CTime: 1700000000, UsedMem: 123456789,
		Repl: &ReplInfo{StreamDB: 0, ID: strings.Repeat("ab", 20), Offset: 98765}, AOFBase: true}))
	require.NoError(t, enc.WriteAux([]byte("%note"), []byte("hello")))
	require.NoError(t, enc.Close())
	recs := decodeAll(t, buf.Bytes())
	var got []string
	for _, r := range recs {
		got = append(got, string(r.AuxKey)+"="+string(r.AuxValue))
	}
	require.Equal(t, []string{"redis-ver=7.0.15", "redis-bits=64", "ctime=1700000000", "used-mem=123456789",
		"repl-stream-db=0", "repl-id=" + strings.Repeat("ab", 20), "repl-offset=98765", "aof-base=1", "%note=hello"}, got)
	// Out-of-order use is refused.
	require.Error(t, enc.WriteFunction([]byte("x")))
	enc2 := NewEncoder(io.Discard, nil)
	require.Error(t, enc2.SelectDB(0, 1, 0))
	require.NoError(t, enc2.WriteHeader(nil))
	require.Error(t, enc2.WriteEntry(&Entry{Key: b("k"), Value: Value{Kind: KindString}}))
	require.NoError(t, enc2.SelectDB(0, 1, 0))
	require.Error(t, enc2.WriteEntry(&Entry{Key: b("k"), Value: Value{Kind: KindList}}), "empty list")
	require.Error(t, enc2.Close(), "errors are sticky")
}

// TestDecoderSmallWindows decodes through bufio.Readers of every size from
// the smallest up, fed one byte per read or all at once, with
// NextRecord and reused strings: the reader's window over the bufio
// buffer must refill, cross items and checksum the same bytes however the
// input arrives, and stop exactly at the end of the RDB.
func TestDecoderSmallWindows(t *testing.T) {
	entries := smallDataset()
	entries = append(entries, Entry{Key: b("long"), Value: Value{Kind: KindString, Str: b(strings.Repeat("0123456789", 30))}})
	raw := encodeDataset(t, entries, &EncoderOptions{NoCompression: true})
	const tail = "*1\r\n$4\r\nPING\r\n"
	for _, size := range []int{16, 17, 31, 64, 4096} {
		for _, oneByte := range []bool{false, true} {
			var src io.Reader = io.MultiReader(bytes.NewReader(raw), strings.NewReader(tail))
			if oneByte {
				src = iotest.OneByteReader(src)
			}
			br := bufio.NewReaderSize(src, size)
			d := NewDecoder(br, &DecoderOptions{ReuseStrings: true})
			var got []Entry
			for {
				rec, err := d.NextRecord()
				if err == io.EOF {
					break
				}
				require.NoError(t, err, "size %d one byte %v", size, oneByte)
				if rec.Kind == RecordEntry {
					e := rec.Entry
					e.Key = bytes.Clone(e.Key)
					e.Value.Str = bytes.Clone(e.Value.Str)
					got = append(got, e)
				}
			}
			require.Len(t, got, len(entries))
			for i := range entries {
				require.Equal(t, string(entries[i].Key), string(got[i].Key))
				requireSameValue(t, entries[i].Value, got[i].Value, entries[i].Key)
			}
			require.Equal(t, int64(len(raw)), d.Offset())
			rest, err := io.ReadAll(br)
			require.NoError(t, err)
			require.Equal(t, tail, string(rest), "size %d one byte %v", size, oneByte)
		}
	}
}

// TestDecoderChecksumAnyByte flips one byte inside a string value (the
// structure stays valid) at every position: the checksum catches it
// whatever the window size.
func TestDecoderChecksumAnyByte(t *testing.T) {
	long := strings.Repeat("abcdefgh", 40)
	raw := encodeDataset(t, []Entry{{Key: b("k"), Value: Value{Kind: KindString, Str: b(long)}}},
		&EncoderOptions{NoCompression: true})
	at := bytes.Index(raw, []byte(long))
	require.Positive(t, at)
	for _, size := range []int{16, 4096} {
		for i := at; i < at+len(long); i += 7 {
			bad := bytes.Clone(raw)
			bad[i] ^= 0x20
			d := NewDecoder(bufio.NewReaderSize(bytes.NewReader(bad), size), nil)
			var err error
			for err == nil {
				_, err = d.NextRecord()
			}
			require.ErrorIs(t, err, ErrChecksum, "byte %d, window %d", i, size)
		}
	}
}
