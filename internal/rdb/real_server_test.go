package rdb

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testLibrary = "#!lua name=rdbtestlib\nredis.register_function('rdbtest_echo', function(keys, args) return args[1] end)"

// populate fills a real server with every type and encoding Redis 7.0
// writes, TTLs and several databases, and loads a function library.
func populate(t *testing.T, rc *respConn) {
	rng := rand.New(rand.NewSource(42))
	must := func(args ...any) { rc.must(t, args...) }
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		rng.Read(b)
		return b
	}
	// Strings.
	for k, v := range map[string]string{
		"s:hello": "hello", "s:empty": "", "s:i0": "0", "s:neg": "-5", "s:300": "300",
		"s:70000": "70000", "s:maxi32": "2147483647", "s:i32p": "2147483648",
		"s:mini32": "-2147483648", "s:long11": "12345678901", "s:minint64": "-9223372036854775808",
		"s:lead0": "007", "s:negzero": "-0", "s:plus": "+1", "s:bin": "\x00\xff\r\n", "s:float": "3.14",
		"s:lzf": strings.Repeat("a", 200), "s:20": strings.Repeat("b", 20), "s:21": strings.Repeat("b", 21),
		"s:comp": strings.Repeat("the quick brown fox jumps over the lazy dog ", 250),
		"s:big":  strings.Repeat("0123456789abcdef", 1<<17),
	} {
		must("SET", k, v)
	}
	must("SET", "s:rand", randBytes(5000))
	must("SET", []byte("\x00bin\xffkey"), randBytes(100))
	must("INCRBY", "s:counter", 1234567)
	must("SET", "s:appended", "abc")
	must("APPEND", "s:appended", "def")
	// Lists.
	must("RPUSH", "l:small", "a", "1", "300", "-70000", "9223372036854775807", "-9223372036854775808",
		strings.Repeat("x", 63), strings.Repeat("y", 64), strings.Repeat("z", 4095), strings.Repeat("w", 4096), "")
	args := []any{"RPUSH", "l:1000"}
	for i := 0; i < 1000; i++ {
		args = append(args, i)
	}
	must(args...)
	args = []any{"RPUSH", "l:mixed"}
	for i := 0; i < 3000; i++ {
		switch i % 7 {
		case 0:
			args = append(args, randBytes(rng.Intn(300)))
		case 1:
			args = append(args, strings.Repeat("q", 5120))
		default:
			args = append(args, rng.Int63n(1<<uint(rng.Intn(62)+1))-1<<20)
		}
	}
	must(args...)
	args = []any{"LPUSH", "l:lpush"}
	for i := 0; i < 700; i++ {
		args = append(args, fmt.Sprintf("element-%d", i))
	}
	must(args...)
	var allBytes []any
	for i := 0; i < 256; i++ {
		allBytes = append(allBytes, []byte{byte(i), byte(255 - i)})
	}
	must(append([]any{"RPUSH", "l:bytes"}, allBytes...)...)
	must("CONFIG", "SET", "list-compress-depth", "1")
	args = []any{"RPUSH", "l:compressed"}
	for i := 0; i < 3000; i++ {
		args = append(args, fmt.Sprintf("compressible-element-%d", i%50))
	}
	must(args...)
	must("CONFIG", "SET", "list-compress-depth", "0")
	// Sets.
	must("SADD", "set:i16", 1, 2, 3, -5, 32767)
	must("SADD", "set:i32", 70000, -70000, 1)
	must("SADD", "set:i64", "9223372036854775807", "-9223372036854775808", "0")
	args = []any{"SADD", "set:600"}
	for i := 0; i < 600; i++ {
		args = append(args, i*7)
	}
	must(args...)
	must("SADD", "set:str", "a", "b", "c", "hello world")
	must("SADD", "set:mixed", "1", "a", "-0")
	// Sorted sets.
	must("ZADD", "z:small", 1.5, "a", 2, "b", "-inf", "c", "inf", "d", 0.1, "e", 1e300, "f", "-0", "g",
		1e-300, "h", -4611686018427387904.0, "i", 4611686018427387904.0, "j", 123456789012, "k")
	args = []any{"ZADD", "z:skip"}
	for i := 0; i < 200; i++ {
		args = append(args, float64(i)/3, fmt.Sprintf("m%d", i))
	}
	must(args...)
	must("ZADD", "z:longmember", 1, strings.Repeat("m", 100), 2, "short")
	// Hashes.
	must("HSET", "h:small", "f", "v", "n", "5", "neg", "-70000", "big", "9223372036854775807", "empty", "")
	args = []any{"HSET", "h:300"}
	for i := 0; i < 300; i++ {
		args = append(args, fmt.Sprintf("field:%d", i), i*i)
	}
	must(args...)
	args = []any{"HSET", "h:600"}
	for i := 0; i < 600; i++ {
		args = append(args, fmt.Sprintf("field:%d", i), fmt.Sprintf("value-%d", i))
	}
	must(args...)
	must("HSET", "h:longval", "f", strings.Repeat("v", 100), "g", "1")
	// Streams.
	must("XADD", "x:s", "1-1", "name", "alice", "age", "30")
	must("XADD", "x:s", "1-2", "name", "bob", "age", "25")
	must("XADD", "x:s", "2-0", "other", "field")
	must("XADD", "x:s", "3-0", "name", "carol", "age", "41")
	must("XDEL", "x:s", "1-2")
	must("XGROUP", "CREATE", "x:s", "g1", "0")
	must("XGROUP", "CREATE", "x:s", "g2", "$")
	must("XREADGROUP", "GROUP", "g1", "c1", "COUNT", "2", "STREAMS", "x:s", ">")
	must("XREADGROUP", "GROUP", "g1", "c2", "COUNT", "1", "STREAMS", "x:s", ">")
	must("XACK", "x:s", "g1", "1-1")
	must("XGROUP", "CREATECONSUMER", "x:s", "g2", "idle")
	for i := 0; i < 250; i++ {
		if i%3 == 0 {
			must("XADD", "x:big", "*", "i", i, "payload", strings.Repeat("p", i))
		} else {
			must("XADD", "x:big", "*", "i", i, "extra", "yes", "n", -i)
		}
	}
	must("XGROUP", "CREATE", "x:empty", "g", "$", "MKSTREAM")
	// TTLs (absolute, in the future).
	base := time.Now().Add(time.Hour).UnixMilli()
	for i, k := range []string{"s:hello", "l:small", "h:small", "z:small", "x:s", "set:i16", "s:big"} {
		must("PEXPIREAT", k, base+int64(i)*1000+7)
	}
	// Other databases.
	must("SELECT", 3)
	must("SET", "db3:str", "in db 3")
	must("HSET", "db3:h", "a", "1")
	must("PEXPIREAT", "db3:h", base+123)
	must("SELECT", 15)
	must("RPUSH", "db15:l", "x", "y", "z")
	must("SELECT", 0)
	must("FUNCTION", "LOAD", testLibrary)
}

// decodeFile decodes an RDB file, returning its entries, aux fields and
// function libraries.
func decodeFile(t *testing.T, path string) ([]Entry, map[string]string, []string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var entries []Entry
	aux := map[string]string{}
	var funcs []string
	db := -1
	err = Walk(f, &DecoderOptions{Databases: 16}, func(r *Record) error {
		switch r.Kind {
		case RecordAux:
			aux[string(r.AuxKey)] = string(r.AuxValue)
		case RecordFunction:
			funcs = append(funcs, string(r.Function))
		case RecordSelectDB:
			require.Greater(t, r.DB, db, "databases in ascending order")
			db = r.DB
		case RecordEntry:
			entries = append(entries, r.Entry)
		}
		return nil
	})
	require.NoError(t, err)
	return entries, aux, funcs
}

func TestRealServerSaveDecode(t *testing.T) {
	srv := startRedis(t, "")
	rc := srv.dial(t)
	populate(t, rc)
	rc.must(t, "SAVE")
	path := filepath.Join(srv.dir, "dump.rdb")
	entries, aux, funcs := decodeFile(t, path)

	require.Equal(t, "7.0.15", aux["redis-ver"])
	require.Equal(t, "64", aux["redis-bits"])
	require.Equal(t, "0", aux["aof-base"])
	ctime, err := strconv.ParseInt(aux["ctime"], 10, 64)
	require.NoError(t, err)
	require.InDelta(t, time.Now().Unix(), ctime, 120)
	require.NotEmpty(t, aux["used-mem"])
	require.Equal(t, []string{testLibrary}, funcs)

	enc := checkEntries(t, rc, entries, true)
	for i := range entries {
		e := &entries[i]
		if want := encodingName(&e.Value); want != "" {
			require.Equal(t, want, enc[strconv.Itoa(e.DB)+"/"+string(e.Key)], "OBJECT ENCODING of %q", e.Key)
		}
	}
	// The file exercised LZF (string values and compressed quicklist nodes).
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, k := range []string{"s:lzf", "s:comp", "s:big", "l:compressed"} {
		i := bytes.Index(raw, append([]byte{byte(len(k))}, k...))
		require.Greater(t, i, 0, k)
		after := raw[i+1+len(k):]
		if k == "l:compressed" {
			// node count, container, then the LZF string marker
			require.Equal(t, byte(0xc3), after[2], "quicklist node of %s is LZF", k)
		} else {
			require.Equal(t, byte(0xc3), after[0], "%s is LZF-compressed", k)
		}
	}

	t.Run("DumpPayloadsDecode", func(t *testing.T) {
		for i := range entries {
			e := &entries[i]
			rc.must(t, "SELECT", e.DB)
			payload := []byte(asString(t, rc.must(t, "DUMP", e.Key)))
			v, err := Restore(payload, nil)
			require.NoError(t, err, "key %q", e.Key)
			requireSameValue(t, e.Value, v, e.Key)
			require.Equal(t, e.Value.Encoding, v.Encoding, "key %q", e.Key)
		}
		rc.must(t, "SELECT", 0)
	})

	t.Run("OurDumpsRestore", func(t *testing.T) {
		for i := range entries {
			e := &entries[i]
			rc.must(t, "SELECT", e.DB)
			payload, err := Dump(&e.Value, nil)
			require.NoError(t, err)
			copyKey := append([]byte("restored:"), e.Key...)
			rc.must(t, "RESTORE", copyKey, 0, payload, "REPLACE")
			requireSameValue(t, e.Value, serverValue(t, rc, copyKey), e.Key)
			if string(e.Key) == "s:appended" { // APPEND left it "raw"; a fresh load is embstr
				rc.must(t, "DEL", copyKey)
				continue
			}
			require.Equal(t, asString(t, rc.must(t, "OBJECT", "ENCODING", e.Key)),
				asString(t, rc.must(t, "OBJECT", "ENCODING", copyKey)), "encoding of %q", e.Key)
			rc.must(t, "DEL", copyKey)
		}
		rc.must(t, "SELECT", 0)
	})

	t.Run("ByteIdenticalDumps", func(t *testing.T) {
		// With rdbcompression off, values whose layout does not depend on
		// hash table order or on edit history dump byte for byte like Redis.
		rc.must(t, "CONFIG", "SET", "rdbcompression", "no")
		defer rc.must(t, "CONFIG", "SET", "rdbcompression", "yes")
		skip := map[string]bool{"set:600": true, "set:str": true, "set:mixed": true, "h:600": true,
			"h:longval": true, "l:lpush": true, "l:compressed": true, "x:s": true}
		checked := 0
		for i := range entries {
			e := &entries[i]
			if skip[string(e.Key)] {
				continue
			}
			rc.must(t, "SELECT", e.DB)
			want := []byte(asString(t, rc.must(t, "DUMP", e.Key)))
			v := e.Value
			if v.Kind != KindStream {
				v.Encoding = EncodingAuto
			}
			got, err := Dump(&v, &EncoderOptions{NoCompression: true})
			require.NoError(t, err)
			require.Equal(t, want, got, "DUMP of %q", e.Key)
			checked++
		}
		require.Greater(t, checked, 30)
		rc.must(t, "SELECT", 0)
	})
}
