package integration

// RDB files between redcluster and redis-server 7.0.15: redis-check-rdb
// accepts what redcluster saves (every type, values over 1 MB, 100k
// keys) and redis-server loads it to the same data; redcluster loads what
// redis-server saves (every type and encoding, TTLs, keys already
// expired, a stream and a function library it skips) to the same data
// and encodings; a restart keeps the data; a file that cannot be loaded
// stops the server like redis-server.

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

// bigValueCommands adds values over 1 MB: a string, and a list, a hash and
// a sorted set whose elements add up to more.
func bigValueCommands() [][]string {
	rnd := rand.New(rand.NewSource(1))
	blob := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rnd.Intn(26))
		}
		return string(b)
	}
	list, hash, zset := []string{"RPUSH", "big:list"}, []string{"HSET", "big:hash"}, []string{"ZADD", "big:zset"}
	for i := 0; i < 300; i++ {
		list = append(list, blob(4000))
		hash = append(hash, "f"+strconv.Itoa(i), blob(4000))
		zset = append(zset, strconv.Itoa(i), blob(4000))
	}
	return [][]string{{"SET", "big:str", blob(1 << 20)}, {"SET", "big:zeros", strings.Repeat("\x00", 3<<20)}, list, hash, zset}
}

// fillMany writes n keys to db with MSET batches.
func fillMany(t *testing.T, addr string, db, n int) {
	t.Helper()
	c, err := testutil.Dial(addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.DoStrings("SELECT", strconv.Itoa(db))
	require.NoError(t, err)
	for i := 0; i < n; i += 1000 {
		args := []string{"MSET"}
		for j := i; j < i+1000 && j < n; j++ {
			args = append(args, "key:"+strconv.Itoa(j), "value:"+strconv.Itoa(j))
		}
		r, err := c.DoStrings(args...)
		require.NoError(t, err)
		require.Equal(t, "+OK\r\n", string(r))
	}
}

// requireManyKeys checks the keys fillMany wrote.
func requireManyKeys(t *testing.T, addr string, db, n int) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db, Protocol: 2})
	defer c.Close()
	ctx := context.Background()
	size, err := c.DBSize(ctx).Result()
	require.NoError(t, err)
	require.Equal(t, int64(n), size)
	for i := 0; i < n; i += 997 {
		v, err := c.Get(ctx, "key:"+strconv.Itoa(i)).Result()
		require.NoError(t, err)
		require.Equal(t, "value:"+strconv.Itoa(i), v)
	}
}

// TestPersistOurRDBInRedis: redis-check-rdb accepts redcluster's dump.rdb
// and redis-server loads it to the data redcluster holds; redcluster
// loading the same file ends with the encodings redis-server gives.
func TestPersistOurRDBInRedis(t *testing.T) {
	redisBin := testutil.RedisServer(t)
	ours := testutil.Start(t, testutil.Binary(t))
	fill(t, ours.Addr(), everyTypeCommands())
	fill(t, ours.Addr(), bigValueCommands())
	const many = 100000
	fillMany(t, ours.Addr(), 5, many)
	dbs := persistDBs
	want := datasetOf(t, ours.Addr(), dbs)
	require.Equal(t, "+OK\r\n", do(t, ours.Addr(), "SAVE"))

	out := checkRDB(t, dumpPath(ours))
	m := regexp.MustCompile(`\[info\] (\d+) keys read`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	total := many + len(want)
	require.Equal(t, strconv.Itoa(total), m[1])

	redisDir, oursDir := t.TempDir(), t.TempDir()
	copyFile(t, dumpPath(ours), filepath.Join(redisDir, "dump.rdb"))
	copyFile(t, dumpPath(ours), filepath.Join(oursDir, "dump.rdb"))
	rs := testutil.Start(t, redisBin, "--dir", redisDir)
	requireSameDataset(t, want, datasetOf(t, rs.Addr(), dbs), false)
	requireManyKeys(t, rs.Addr(), 5, many)

	again := testutil.Start(t, testutil.Binary(t), "--dir", oursDir)
	requireSameDataset(t, datasetOf(t, rs.Addr(), dbs), datasetOf(t, again.Addr(), dbs), true)
	requireManyKeys(t, again.Addr(), 5, many)
}

// TestPersistRedisRDBInOurs: redcluster loads redis-server's dump.rdb to
// the data and encodings redis-server itself loads from it.
func TestPersistRedisRDBInOurs(t *testing.T) {
	redisBin := testutil.RedisServer(t)
	src := testutil.Start(t, redisBin, "--enable-debug-command", "yes")
	fill(t, src.Addr(), everyTypeCommands())
	fill(t, src.Addr(), bigValueCommands())
	fill(t, src.Addr(), [][]string{
		{"XADD", "stream", "1-1", "f", "v"},
		{"FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('f', function() return 1 end)"},
		{"DEBUG", "SET-ACTIVE-EXPIRE", "0"},
		{"SET", "gone", "v", "PX", "1"},
		{"SELECT", "3"},
		{"SET", "gone3", "v", "PX", "1"},
	})
	time.Sleep(10 * time.Millisecond) // "gone" and "gone3" expire: saved, skipped on load
	require.Equal(t, "+OK\r\n", do(t, src.Addr(), "SAVE"))

	redisDir, oursDir := t.TempDir(), t.TempDir()
	copyFile(t, dumpPath(src), filepath.Join(redisDir, "dump.rdb"))
	copyFile(t, dumpPath(src), filepath.Join(oursDir, "dump.rdb"))
	ref := testutil.Start(t, redisBin, "--dir", redisDir)
	ours := testutil.Start(t, testutil.Binary(t), "--dir", oursDir)
	requireSameDataset(t, datasetOf(t, ref.Addr(), persistDBs), datasetOf(t, ours.Addr(), persistDBs), true)

	field := func(addr, name string) string {
		m := regexp.MustCompile(name + `:(\S+)`).FindStringSubmatch(do(t, addr, "INFO", "persistence"))
		require.NotNil(t, m, name)
		return m[1]
	}
	require.Equal(t, "2", field(ours.Addr(), "rdb_last_load_keys_expired"))
	require.Equal(t, field(ref.Addr(), "rdb_last_load_keys_expired"), field(ours.Addr(), "rdb_last_load_keys_expired"))
	refLoaded, _ := strconv.Atoi(field(ref.Addr(), "rdb_last_load_keys_loaded"))
	require.Equal(t, strconv.Itoa(refLoaded-1), field(ours.Addr(), "rdb_last_load_keys_loaded"), "the stream is skipped")
	log, err := os.ReadFile(ours.Log)
	require.NoError(t, err)
	for _, line := range []string{"Loading RDB produced by version 7.0.15", "Done loading RDB, keys loaded: ",
		"DB loaded from disk: ", "stream", "function"} {
		require.Contains(t, string(log), line)
	}
}

// TestPersistRestart: SHUTDOWN SAVE, then a start on the same folder,
// gives back the same data; so does SIGTERM with save points.
func TestPersistRestart(t *testing.T) {
	bin := testutil.Binary(t)
	tests := []struct {
		name string
		args []string
		stop func(t *testing.T, p *testutil.Proc)
	}{
		{"shutdown save", nil, func(t *testing.T, p *testutil.Proc) { stopWith(t, p, "SHUTDOWN", "SAVE") }},
		{"shutdown with save points", []string{"--save", "3600 1"}, func(t *testing.T, p *testutil.Proc) { stopWith(t, p, "SHUTDOWN") }},
		{"sigterm with save points", []string{"--save", "3600 1"}, func(t *testing.T, p *testutil.Proc) {
			require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
			waitExit(t, p)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first := testutil.Start(t, bin, tc.args...)
			fill(t, first.Addr(), everyTypeCommands())
			want := datasetOf(t, first.Addr(), persistDBs)
			tc.stop(t, first)
			log, err := os.ReadFile(first.Log)
			require.NoError(t, err)
			require.Contains(t, string(log), "DB saved on disk")
			checkRDB(t, dumpPath(first))

			second := testutil.Start(t, bin, append(tc.args, "--dir", first.Dir)...)
			requireSameDataset(t, want, datasetOf(t, second.Addr(), persistDBs), false)
		})
	}
}

// TestPersistBadFileAtStart: a dump.rdb that cannot be loaded stops
// redcluster with status 1 and the line redis-server logs for it.
func TestPersistBadFileAtStart(t *testing.T) {
	redisBin := testutil.RedisServer(t)
	src := testutil.Start(t, redisBin)
	fill(t, src.Addr(), [][]string{{"SET", "a", "1"}, {"RPUSH", "l", "x", "y"}})
	require.Equal(t, "+OK\r\n", do(t, src.Addr(), "SAVE"))
	good, err := os.ReadFile(dumpPath(src))
	require.NoError(t, err)
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-1] ^= 0xff
	tests := []struct {
		name, data, line string
	}{
		{"truncated", string(good[:len(good)-20]), "Short read or OOM loading DB. Unrecoverable error, aborting now."},
		{"too short", "garbage", "Short read or OOM loading DB. Unrecoverable error, aborting now."},
		{"checksum", string(badCRC), "Wrong RDB checksum expected: ("},
		{"signature", "garbagegarbage", "Wrong signature trying to load DB from file"},
		{"version", "REDIS0011xxxxxxx", "Can't handle RDB format version 11"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, bin := range []string{redisBin, testutil.Binary(t)} {
				dir := t.TempDir()
				require.NoError(t, os.WriteFile(filepath.Join(dir, "dump.rdb"), []byte(tc.data), 0o644))
				logPath := filepath.Join(dir, "server.log")
				cmd := exec.Command(bin, "--port", strconv.Itoa(testutil.FreePort(t)), "--bind", "127.0.0.1",
					"--dir", dir, "--logfile", logPath, "--save", "")
				cmd.Dir = dir
				done := make(chan error, 1)
				require.NoError(t, cmd.Start())
				go func() { done <- cmd.Wait() }()
				select {
				case err := <-done:
					var ee *exec.ExitError
					require.ErrorAs(t, err, &ee, "%s must fail", filepath.Base(bin))
					require.Equal(t, 1, ee.ExitCode())
				case <-time.After(20 * time.Second):
					cmd.Process.Kill()
					t.Fatalf("%s kept running with a bad dump.rdb", filepath.Base(bin))
				}
				log, err := os.ReadFile(logPath)
				require.NoError(t, err)
				require.Contains(t, string(log), tc.line, fmt.Sprintf("%s log", filepath.Base(bin)))
			}
		})
	}
}
