package rdb

import (
	"bytes"
	"io"
	"strconv"
	"testing"
)

func benchEntries(n int) []Entry {
	out := make([]Entry, 0, n)
	for i := 0; i < n; i++ {
		k := []byte("key:" + strconv.Itoa(i))
		var v Value
		switch i % 5 {
		case 0:
			v = Value{Kind: KindString, Str: []byte("value-" + strconv.Itoa(i*31))}
		case 1:
			v = Value{Kind: KindString, Str: []byte(strconv.Itoa(i))}
		case 2:
			v = Value{Kind: KindList}
			for j := 0; j < 20; j++ {
				v.List = append(v.List, []byte("item"+strconv.Itoa(j)))
			}
		case 3:
			v = Value{Kind: KindHash}
			for j := 0; j < 10; j++ {
				v.Hash = append(v.Hash, FieldValue{[]byte("f" + strconv.Itoa(j)), []byte(strconv.Itoa(i + j))})
			}
		case 4:
			v = Value{Kind: KindZSet}
			for j := 0; j < 10; j++ {
				v.ZSet = append(v.ZSet, ScoredMember{[]byte("m" + strconv.Itoa(j)), float64(j) * 1.5})
			}
		}
		out = append(out, Entry{Key: k, Value: v})
	}
	return out
}

func BenchmarkEncode(b *testing.B) {
	entries := benchEntries(100000)
	var buf bytes.Buffer
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		enc := NewEncoder(&buf, nil)
		enc.WriteHeader(nil)
		enc.SelectDB(0, uint64(len(entries)), 0)
		for j := range entries {
			if err := enc.WriteEntry(&entries[j]); err != nil {
				b.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(buf.Len()))
	}
}

func BenchmarkDecode(b *testing.B) {
	raw := encodeDataset(b, benchEntries(100000), nil)
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := NewDecoder(bytes.NewReader(raw), nil)
		for {
			_, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
