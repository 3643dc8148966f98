package integration

// Helpers of the persistence tests (persist_*_test.go): a dataset holding
// every type in every encoding redis-server 7.0 gives it, and a dump of a
// server's dataset to compare two servers (or one before and after a
// restart) key by key.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

// persistDBs are the databases fillEveryType writes.
var persistDBs = []int{0, 3}

// everyTypeCommands builds the dataset: strings (embstr, int, raw, long
// compressible), lists of one and of many quicklist nodes, hashes, sets
// and sorted sets in their compact and their table encodings (also ones
// converted and shrunk back, which Redis keeps converted), TTLs, and a
// second database.
func everyTypeCommands() [][]string {
	cmds := [][]string{
		{"SET", "s:embstr", "hello"},
		{"SET", "s:int", "12345"},
		{"SET", "s:neg", "-9223372036854775808"},
		{"SET", "s:raw", strings.Repeat("xyz", 30)},
		{"SET", "s:empty", ""},
		{"SET", "s:ttl", "v", "PXAT", "4102444800123"},
		{"SET", "s:bin", "\x00\x01\xff\r\n"},
		{"RPUSH", "l:small", "a", "b", "c", "1", "2", "-3", "9999999999"},
		{"HSET", "h:lp", "f1", "v1", "f2", "2", "f3", "-1"},
		{"HSET", "h:longval", "f", strings.Repeat("v", 100)},
		{"SADD", "set:int", "1", "2", "3", "-5", "100000"},
		{"SADD", "set:str", "a", "b", "c"},
		{"ZADD", "z:lp", "1", "a", "2.5", "b", "-3", "c", "1e300", "d", "inf", "e", "-inf", "f"},
		{"ZADD", "z:longmember", "1", strings.Repeat("m", 100)},
		{"EXPIREAT", "h:lp", "4102444801"},
		{"PEXPIREAT", "z:lp", "4102444800000"},
	}
	var big []string
	for i := 0; i < 300; i++ {
		big = append(big, fmt.Sprintf("element-%d-%s", i, strings.Repeat("e", i%50)))
	}
	cmds = append(cmds, append([]string{"RPUSH", "l:big"}, big...))
	hash, set, zset, intset := []string{"HSET", "h:ht"}, []string{"SADD", "set:ht"}, []string{"ZADD", "z:sl"}, []string{"SADD", "set:bigint"}
	for i := 0; i < 600; i++ {
		hash = append(hash, "field"+strconv.Itoa(i), "value"+strconv.Itoa(i))
		set = append(set, "member"+strconv.Itoa(i))
		intset = append(intset, strconv.Itoa(i*7))
		if i < 200 {
			zset = append(zset, strconv.FormatFloat(float64(i)/3, 'g', -1, 64), "m"+strconv.Itoa(i))
		}
	}
	cmds = append(cmds, hash, set, zset, intset)
	// converted to a table, then shrunk under the thresholds
	shrunk := []string{"HSET", "h:shrunk"}
	for i := 0; i < 600; i++ {
		shrunk = append(shrunk, "f"+strconv.Itoa(i), "v")
	}
	cmds = append(cmds, shrunk)
	del := []string{"HDEL", "h:shrunk"}
	for i := 2; i < 600; i++ {
		del = append(del, "f"+strconv.Itoa(i))
	}
	cmds = append(cmds, del,
		[]string{"SELECT", "3"},
		[]string{"SET", "db3:s", "in db 3"},
		[]string{"RPUSH", "db3:l", "x"},
		[]string{"SET", "db3:ttl", "y", "EXAT", "4102444802"},
		[]string{"SELECT", "0"},
	)
	return cmds
}

// fill runs commands on addr, failing on error replies.
func fill(t *testing.T, addr string, cmds [][]string) {
	t.Helper()
	c, err := testutil.Dial(addr)
	require.NoError(t, err)
	defer c.Close()
	for _, cmd := range cmds {
		r, err := c.DoStrings(cmd...)
		require.NoError(t, err, "%v", cmd)
		require.NotEqual(t, byte('-'), r[0], "%.60v: %s", cmd, r)
	}
}

// keyState is what a comparison checks of a key.
type keyState struct {
	Type, Value, Encoding string
	ExpireMs              int64 // PEXPIRETIME: -1 without TTL
}

// datasetOf reads every key of the databases dbs of the server at addr.
// Streams (which redcluster does not hold) are left out.
func datasetOf(t *testing.T, addr string, dbs []int) map[string]keyState {
	t.Helper()
	ctx := context.Background()
	out := map[string]keyState{}
	for _, db := range dbs {
		c := redis.NewClient(&redis.Options{Addr: addr, DB: db, Protocol: 2})
		it := c.Scan(ctx, 0, "*", 1000).Iterator()
		for it.Next(ctx) {
			k := it.Val()
			typ, err := c.Type(ctx, k).Result()
			require.NoError(t, err)
			if typ == "stream" || typ == "none" {
				continue
			}
			enc, err := c.ObjectEncoding(ctx, k).Result()
			require.NoError(t, err)
			exp, err := c.Do(ctx, "PEXPIRETIME", k).Int64()
			require.NoError(t, err)
			out[strconv.Itoa(db)+":"+k] = keyState{Type: typ, Value: keyValue(t, ctx, c, typ, k), Encoding: enc, ExpireMs: exp}
		}
		require.NoError(t, it.Err())
		c.Close()
	}
	return out
}

// requireSameDataset compares two datasets key by key (and the
// encodings when withEncoding is set).
func requireSameDataset(t *testing.T, want, got map[string]keyState, withEncoding bool) {
	t.Helper()
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		w, ok := want[k]
		require.True(t, ok, "key %q is extra", k)
		g, ok := got[k]
		require.True(t, ok, "key %q is missing", k)
		if !withEncoding {
			w.Encoding, g.Encoding = "", ""
		}
		require.Equal(t, w, g, "key %q", k)
	}
	require.NotEmpty(t, names)
}

// copyFile copies src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, b, 0o644))
}

// do sends one command on a fresh connection and returns the raw reply.
func do(t *testing.T, addr string, args ...string) string {
	t.Helper()
	c, err := testutil.Dial(addr)
	require.NoError(t, err)
	defer c.Close()
	r, err := c.DoStrings(args...)
	require.NoError(t, err, "%v", args)
	return string(r)
}

// checkRDB runs redis-check-rdb on path and requires it to pass.
func checkRDB(t *testing.T, path string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-check-rdb")
	if err != nil {
		t.Skip("redis-check-rdb not installed")
	}
	out, err := exec.Command(bin, path).CombinedOutput()
	require.NoError(t, err, "redis-check-rdb %s:\n%s", path, out)
	require.Contains(t, string(out), "RDB looks OK")
	return string(out)
}

// stopWith sends a command that ends the process (SHUTDOWN ...) and
// waits for the process to exit.
func stopWith(t *testing.T, p *testutil.Proc, args ...string) {
	t.Helper()
	c, err := testutil.Dial(p.Addr())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.WriteRaw(testutil.Encode(toArgs(args...))))
	waitExit(t, p)
}

// waitExit waits until the process exited.
func waitExit(t *testing.T, p *testutil.Proc) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	// Start's goroutine reaps the process: signal 0 fails once it has.
	for p.Cmd.Process.Signal(syscall.Signal(0)) == nil {
		require.True(t, time.Now().Before(deadline), "process %d did not exit", p.Cmd.Process.Pid)
		time.Sleep(10 * time.Millisecond)
	}
}

// dumpPath is dump.rdb in a process's folder.
func dumpPath(p *testutil.Proc) string { return filepath.Join(p.Dir, "dump.rdb") }

// startOnPort starts bin on a given port and folder (a restart in place,
// which testutil.Start, picking a free port, cannot do) and waits for
// PING; it is killed when the test ends.
func startOnPort(t *testing.T, bin string, port int, dir string, extra ...string) *testutil.Proc {
	t.Helper()
	logPath := filepath.Join(dir, "restarted.log")
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--logfile", logPath}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("---- %s :%d log ----\n%s", filepath.Base(bin), port, b)
		}
	})
	p := &testutil.Proc{Port: port, Dir: dir, Cmd: cmd, Log: logPath}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := testutil.Dial(p.Addr()); err == nil {
			r, err := c.DoStrings("PING")
			c.Close()
			if err == nil && string(r) == "+PONG\r\n" {
				return p
			}
		}
		select {
		case <-done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s exited at start:\n%s", bin, b)
		default:
		}
		require.True(t, time.Now().Before(deadline), "%s did not answer PING on port %d", bin, port)
		time.Sleep(20 * time.Millisecond)
	}
}
