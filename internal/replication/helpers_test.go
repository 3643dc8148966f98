package replication

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/rdb"
	"github.com/redcluster/redcluster/internal/testutil"
)

// ---- logging ----

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testLog returns a logger whose output is shown when the test fails.
func testLog(t *testing.T, name string) (zerolog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- %s log ----\n%s", name, buf.String())
		}
	})
	return zerolog.New(buf).With().Timestamp().Logger(), buf
}

// ---- redis-server processes ----

type redisProc struct {
	port int
	dir  string
	log  string
}

// startRedis starts redis-server (testutil.Start: free port, persistence
// off, a temporary dir, its log printed when the test fails), skipping the
// test when redis-server is missing or in -short mode.
func startRedis(t *testing.T, extra ...string) *redisProc {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping redis-server test in -short mode")
	}
	p := testutil.Start(t, testutil.RedisServer(t), extra...)
	return &redisProc{port: p.Port, dir: p.Dir, log: p.Log}
}

func (p *redisProc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

func (p *redisProc) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// client returns a RESP2 go-redis client on db.
func (p *redisProc) client(t *testing.T, db int, password string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: p.addr(), DB: db, Password: password, Protocol: 2,
		DisableIndentity: true, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, PoolSize: 4})
	t.Cleanup(func() { c.Close() })
	return c
}

// infoField returns a field of INFO section.
func infoField(t *testing.T, c *redis.Client, section, field string) string {
	s, err := c.Info(context.Background(), section).Result()
	require.NoError(t, err)
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			return v
		}
	}
	return ""
}

func infoInt(t *testing.T, c *redis.Client, section, field string) int64 {
	n, _ := strconv.ParseInt(infoField(t, c, section, field), 10, 64)
	return n
}

// eventually polls cond until it holds.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- in-memory Dataset ----

type memEntry struct {
	v   rdb.Value
	exp int64
}

type memDB map[string]*memEntry

// memDataset is a Dataset keeping values as rdb.Values, applying a subset
// of the write commands. It stages full syncs and swaps them in at the end.
type memDataset struct {
	mu           sync.Mutex
	dbs          []memDB
	funcs        []string
	staging      []memDB
	stagingFuncs []string
	begins       int
	swaps        int
	aborts       int
	applied      int
	txs          int
	unknown      []string
	// failAt, when > 0, makes the failAt-th LoadEntry fail.
	failAt  int
	loadedN int
}

func newMemDataset() *memDataset {
	return &memDataset{dbs: newDBs()}
}

func newDBs() []memDB {
	d := make([]memDB, 16)
	for i := range d {
		d[i] = memDB{}
	}
	return d
}

func (ds *memDataset) BeginFullSync() error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.begins++
	ds.staging = newDBs()
	ds.stagingFuncs = nil
	ds.loadedN = 0
	return nil
}

func (ds *memDataset) LoadFunction(code []byte) error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.stagingFuncs = append(ds.stagingFuncs, string(code))
	return nil
}

func (ds *memDataset) LoadEntry(e *rdb.Entry) error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.loadedN++
	if ds.failAt > 0 && ds.loadedN == ds.failAt {
		return fmt.Errorf("injected load failure")
	}
	if _, dup := ds.staging[e.DB][string(e.Key)]; dup {
		return fmt.Errorf("duplicate key %q", e.Key)
	}
	v := e.Value
	if v.Kind == rdb.KindString {
		v.Str = append([]byte(nil), v.Str...) // aliases the decoder's buffer
	}
	ds.staging[e.DB][string(e.Key)] = &memEntry{v: v, exp: e.ExpireMs}
	return nil
}

func (ds *memDataset) EndFullSync(ok bool) error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ok {
		ds.dbs, ds.funcs = ds.staging, ds.stagingFuncs
		ds.swaps++
	} else {
		ds.aborts++
	}
	ds.staging, ds.stagingFuncs = nil, nil
	return nil
}

func (ds *memDataset) Apply(db int, a [][]byte) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.applyLocked(db, a)
}

func (ds *memDataset) ApplyTx(ops []Op) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.txs++
	for _, op := range ops {
		ds.applyLocked(op.DB, op.Args)
	}
}

func (ds *memDataset) counts() (begins, swaps, aborts int) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.begins, ds.swaps, ds.aborts
}

func cp(b []byte) []byte { return append([]byte(nil), b...) }

func (ds *memDataset) applyLocked(db int, a [][]byte) {
	ds.applied++
	d := ds.dbs[db]
	name := strings.ToLower(string(a[0]))
	get := func(k []byte, kind rdb.Kind) *memEntry {
		e := d[string(k)]
		if e == nil {
			e = &memEntry{v: rdb.Value{Kind: kind}}
			d[string(k)] = e
		}
		return e
	}
	switch name {
	case "set":
		k := string(a[1])
		old, exists := d[k]
		var nx, xx, keep bool
		var exp int64
		for i := 3; i < len(a); i++ {
			switch strings.ToLower(string(a[i])) {
			case "nx":
				nx = true
			case "xx":
				xx = true
			case "keepttl":
				keep = true
			case "pxat":
				i++
				exp, _ = strconv.ParseInt(string(a[i]), 10, 64)
			}
		}
		if nx && exists || xx && !exists {
			return
		}
		if keep && exists {
			exp = old.exp
		}
		d[k] = &memEntry{v: rdb.Value{Kind: rdb.KindString, Str: cp(a[2])}, exp: exp}
	case "del", "unlink":
		for _, k := range a[1:] {
			delete(d, string(k))
		}
	case "pexpireat":
		if e := d[string(a[1])]; e != nil {
			e.exp, _ = strconv.ParseInt(string(a[2]), 10, 64)
		}
	case "persist":
		if e := d[string(a[1])]; e != nil {
			e.exp = 0
		}
	case "incr", "decr", "incrby", "decrby":
		by := int64(1)
		if len(a) > 2 {
			by, _ = strconv.ParseInt(string(a[2]), 10, 64)
		}
		if name[0] == 'd' {
			by = -by
		}
		e := get(a[1], rdb.KindString)
		n, _ := strconv.ParseInt(string(e.v.Str), 10, 64)
		e.v.Str = []byte(strconv.FormatInt(n+by, 10))
	case "append":
		e := get(a[1], rdb.KindString)
		e.v.Str = append(cp(e.v.Str), a[2]...)
	case "rpush", "lpush":
		e := get(a[1], rdb.KindList)
		for _, x := range a[2:] {
			if name == "rpush" {
				e.v.List = append(e.v.List, cp(x))
			} else {
				e.v.List = append([][]byte{cp(x)}, e.v.List...)
			}
		}
	case "hset":
		e := get(a[1], rdb.KindHash)
	fields:
		for i := 2; i+1 < len(a); i += 2 {
			for j := range e.v.Hash {
				if string(e.v.Hash[j].Field) == string(a[i]) {
					e.v.Hash[j].Value = cp(a[i+1])
					continue fields
				}
			}
			e.v.Hash = append(e.v.Hash, rdb.FieldValue{Field: cp(a[i]), Value: cp(a[i+1])})
		}
	case "sadd":
		e := get(a[1], rdb.KindSet)
	members:
		for _, x := range a[2:] {
			for _, y := range e.v.Set {
				if string(x) == string(y) {
					continue members
				}
			}
			e.v.Set = append(e.v.Set, cp(x))
		}
	case "srem":
		e := d[string(a[1])]
		if e == nil {
			return
		}
		for _, x := range a[2:] {
			for i, y := range e.v.Set {
				if string(x) == string(y) {
					e.v.Set = append(e.v.Set[:i:i], e.v.Set[i+1:]...)
					break
				}
			}
		}
		if len(e.v.Set) == 0 {
			delete(d, string(a[1]))
		}
	case "zadd":
		e := get(a[1], rdb.KindZSet)
	zmembers:
		for i := 2; i+1 < len(a); i += 2 {
			score, _ := strconv.ParseFloat(string(a[i]), 64)
			for j := range e.v.ZSet {
				if string(e.v.ZSet[j].Member) == string(a[i+1]) {
					e.v.ZSet[j].Score = score
					continue zmembers
				}
			}
			e.v.ZSet = append(e.v.ZSet, rdb.ScoredMember{Member: cp(a[i+1]), Score: score})
		}
	case "flushall":
		for i := range ds.dbs {
			ds.dbs[i] = memDB{}
		}
	case "flushdb":
		ds.dbs[db] = memDB{}
	default:
		ds.unknown = append(ds.unknown, name)
	}
}

// snapshot is a SnapshotFunc producing an RDB of the dataset.
func (ds *memDataset) snapshot(w io.Writer, req *SnapshotRequest) error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	info := req.Begin()
	enc := rdb.NewEncoder(w, nil)
	if err := enc.WriteHeader(&rdb.Header{Repl: info}); err != nil {
		return err
	}
	if !req.ExcludeFunctions {
		for _, f := range ds.funcs {
			enc.WriteFunction([]byte(f))
		}
	}
	if !req.ExcludeData {
		for db, d := range ds.dbs {
			if len(d) == 0 {
				continue
			}
			keys := make([]string, 0, len(d))
			expires := uint64(0)
			for k, e := range d {
				keys = append(keys, k)
				if e.exp != 0 {
					expires++
				}
			}
			sort.Strings(keys)
			enc.SelectDB(db, uint64(len(keys)), expires)
			for _, k := range keys {
				e := d[k]
				if err := enc.WriteEntry(&rdb.Entry{Key: []byte(k), Value: e.v, ExpireMs: e.exp}); err != nil {
					return err
				}
			}
		}
	}
	return enc.Close()
}

// describe renders a value canonically (order-insensitive where Redis is).
func describe(v *rdb.Value, exp int64) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s exp=%d ", v.Kind, exp)
	switch v.Kind {
	case rdb.KindString:
		fmt.Fprintf(&sb, "%q", v.Str)
	case rdb.KindList:
		for _, x := range v.List {
			fmt.Fprintf(&sb, "%q,", x)
		}
	case rdb.KindSet:
		s := make([]string, len(v.Set))
		for i, x := range v.Set {
			s[i] = strconv.Quote(string(x))
		}
		sort.Strings(s)
		sb.WriteString(strings.Join(s, ","))
	case rdb.KindHash:
		s := make([]string, len(v.Hash))
		for i, x := range v.Hash {
			s[i] = strconv.Quote(string(x.Field)) + "=" + strconv.Quote(string(x.Value))
		}
		sort.Strings(s)
		sb.WriteString(strings.Join(s, ","))
	case rdb.KindZSet:
		s := make([]string, len(v.ZSet))
		for i, x := range v.ZSet {
			s[i] = strconv.Quote(string(x.Member)) + "=" + strconv.FormatFloat(x.Score, 'g', -1, 64)
		}
		sort.Strings(s)
		sb.WriteString(strings.Join(s, ","))
	case rdb.KindStream:
		fmt.Fprintf(&sb, "%+v", *v.Stream)
	}
	return sb.String()
}

// snapshotOf renders every key of a dataset.
func (ds *memDataset) describeAll() []map[string]string {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	out := make([]map[string]string, len(ds.dbs))
	for db, d := range ds.dbs {
		out[db] = make(map[string]string, len(d))
		for k, e := range d {
			out[db][k] = describe(&e.v, e.exp)
		}
	}
	return out
}

// describeRedis renders every key of a real server through DUMP and
// PEXPIRETIME.
func describeRedis(t *testing.T, p *redisProc, password string) []map[string]string {
	ctx := context.Background()
	out := make([]map[string]string, 16)
	for db := 0; db < 16; db++ {
		c := p.client(t, db, password)
		keys, err := c.Keys(ctx, "*").Result()
		require.NoError(t, err)
		out[db] = make(map[string]string, len(keys))
		for start := 0; start < len(keys); start += 5000 {
			batch := keys[start:min(start+5000, len(keys))]
			pipe := c.Pipeline()
			dumps := make([]*redis.StringCmd, len(batch))
			ttls := make([]*redis.Cmd, len(batch))
			for i, k := range batch {
				dumps[i] = pipe.Dump(ctx, k)
				ttls[i] = pipe.Do(ctx, "PEXPIRETIME", k)
			}
			_, err := pipe.Exec(ctx)
			require.NoError(t, err)
			for i, k := range batch {
				v, err := rdb.Restore([]byte(dumps[i].Val()), nil)
				require.NoError(t, err, "key %q", k)
				exp, _ := ttls[i].Int64()
				if exp < 0 {
					exp = 0
				}
				out[db][k] = describe(&v, exp)
			}
		}
	}
	return out
}

// requireSameData compares two renderings db by db.
func requireSameData(t *testing.T, want, got []map[string]string) {
	t.Helper()
	for db := range want {
		require.Equal(t, len(want[db]), len(got[db]), "db %d key count", db)
		for k, v := range want[db] {
			g, ok := got[db][k]
			require.True(t, ok, "db %d: key %q missing", db, k)
			if g != v {
				t.Fatalf("db %d key %q differs:\nwant %.300s\ngot  %.300s", db, k, v, g)
			}
		}
	}
}
