package server

import (
	"bufio"
	"bytes"
	"io"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/rdb"
	"github.com/redcluster/redcluster/internal/store"
)

// benchSnapshot returns the RDB a master holding n keys key:N -> v%09d
// sends to a replica (the dataset of scripts/bench/fullsync).
func benchSnapshot(b *testing.B, n int) []byte {
	b.Helper()
	s := New(config.Default(), zerolog.Nop())
	db := s.KS.DBs[0]
	for i := range n {
		k := []byte("key:" + strconv.Itoa(i))
		v := []byte("v" + strconv.Itoa(1000000000 + i)[1:])
		db.SetStringCopy(k, v, store.NewString(nil))
	}
	var buf bytes.Buffer
	if err := s.writeRDB(&buf, func() *rdb.ReplInfo { return nil }, false); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkFullSyncLoad is a replica's load of a full sync's RDB into its
// staging keyspace (replication.Replica.fullSync's loop without the
// socket), 1M string keys per op.
func BenchmarkFullSyncLoad(b *testing.B) {
	const n = 1000000
	raw := benchSnapshot(b, n)
	s := New(config.Default(), zerolog.Nop())
	d := (*serverDataset)(s)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := d.BeginFullSync(); err != nil {
			b.Fatal(err)
		}
		dec := rdb.NewDecoder(bufio.NewReaderSize(bytes.NewReader(raw), 64<<10),
			&rdb.DecoderOptions{Size: int64(len(raw)), Databases: 16, ReuseStrings: true})
		for {
			rec, err := dec.NextRecord()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			switch rec.Kind {
			case rdb.RecordResizeDB:
				d.ResizeDB(rec.DB, rec.DBSize, rec.ExpiresSize)
			case rdb.RecordEntry:
				if err := d.LoadEntry(&rec.Entry); err != nil {
					b.Fatal(err)
				}
			}
		}
		if got := s.repl.staging.DBs[0].Size(); got != n {
			b.Fatalf("loaded %d keys", got)
		}
		b.StopTimer()
		d.EndFullSync(false)
		b.StartTimer()
	}
}

// TestLoadGC: the collector is off during a load, back at GOGC 400 once
// the heap passes the budget (checked after a number of keys, or sooner
// for big values), and at its previous setting afterwards.
func TestLoadGC(t *testing.T) {
	small := &rdb.Value{Kind: rdb.KindString, Str: []byte("v000000001")}
	big := &rdb.Value{Kind: rdb.KindString, Str: make([]byte, 64*loadGCCheckEvery)}
	list := &rdb.Value{Kind: rdb.KindList, List: make([][]byte, loadGCCheckEvery)}
	tests := []struct {
		name  string
		value *rdb.Value
		count int // loads before the heap is checked
	}{
		{"small strings", small, loadGCCheckEvery},
		{"a big string", big, 1},
		{"a long list", list, 1},
	}
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := startLoadGC()
			require.Equal(t, -1, debug.SetGCPercent(-1), "off during the load")
			for range tt.count {
				g.loaded(tt.value)
			}
			require.Equal(t, -1, debug.SetGCPercent(-1), "the heap is within the budget")
			g.limit = 0
			for range tt.count - 1 {
				g.loaded(tt.value)
			}
			if tt.count > 1 {
				require.Equal(t, -1, debug.SetGCPercent(-1), "not checked yet")
			}
			g.loaded(tt.value)
			require.Equal(t, loadGCFallback, debug.SetGCPercent(loadGCFallback), "past the budget")
			g.stop()
			require.Equal(t, 100, debug.SetGCPercent(100), "restored")
		})
	}
	var none *loadGC // no load running
	none.loaded(small)
	none.stop()
}
