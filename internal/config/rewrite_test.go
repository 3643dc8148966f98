package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

const rewriteSource = `# my config
port {port}
save 900 1
save 300 10

slave-read-only no
maxmemory 100mb
Timeout 5
timeout 6
bind 127.0.0.1
include {dir}/inc.conf
rename-command KEYS ""
logfile {dir}/log
pidfile ""
notify-keyspace-events ""
`

// rewriteChanges are CONFIG SET pairs applied before CONFIG REWRITE.
var rewriteChanges = [][]string{
	{"maxmemory-policy", "allkeys-lru", "maxmemory", "3000"},
	{"notify-keyspace-events", "KEA", "client-output-buffer-limit", "pubsub 1mb 2mb 3"},
	{"maxmemory-clients", "10%", "loglevel", "warning", "shutdown-on-sigint", "save now"},
	{"oom-score-adj-values", "1 2 3", "save", "100 1 200 2", "replica-priority", "50"},
	{"hash-max-listpack-value", "2kb", "slave-serve-stale-data", "no", "cluster-announce-ip", "a b\"c"},
	{"requirepass", "p w"},
}

// splitRewrite separates the lines kept from the old file from those
// appended after the signature (whose order is a hash order in Redis).
func splitRewrite(content string) (kept string, appended []string) {
	i := strings.Index(content, rewriteSignature+"\n")
	if i < 0 {
		return content, nil
	}
	appended = strings.Split(strings.TrimSuffix(content[i+len(rewriteSignature)+1:], "\n"), "\n")
	sort.Strings(appended)
	return content[:i], appended
}

// TestRewriteMatchesRedis runs CONFIG REWRITE on redis-server and on our
// Config after the same changes and compares the files.
func TestRewriteMatchesRedis(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	port := strconv.Itoa(testutil.FreePort(t))
	write := func(dir string) string {
		src := strings.NewReplacer("{dir}", dir, "{port}", port).Replace(rewriteSource)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(src), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "inc.conf"), []byte("hz 20\n"), 0o644))
		return filepath.Join(dir, "redis.conf")
	}

	// redis-server
	rdir := t.TempDir()
	rconf := write(rdir)
	cmd := exec.Command(bin, rconf, "--daemonize", "no")
	cmd.Dir = rdir
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var conn *testutil.Conn
	for deadline := time.Now().Add(5 * time.Second); ; {
		if conn, err = testutil.Dial("127.0.0.1:" + port); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "redis-server did not start")
		time.Sleep(20 * time.Millisecond)
	}
	defer conn.Close()
	for _, pairs := range rewriteChanges {
		r, err := conn.DoStrings(append([]string{"CONFIG", "SET"}, pairs...)...)
		require.NoError(t, err)
		require.Equal(t, "+OK\r\n", string(r), "%q", pairs)
	}
	_, err = conn.DoStrings("AUTH", "p w")
	require.NoError(t, err)
	r, err := conn.DoStrings("CONFIG", "REWRITE")
	require.NoError(t, err)
	require.Equal(t, "+OK\r\n", string(r))
	want, err := os.ReadFile(rconf)
	require.NoError(t, err)

	// ours
	odir := t.TempDir()
	oconf := write(odir)
	t.Chdir(odir)
	c, err := Load([]string{oconf, "--daemonize", "no"})
	require.NoError(t, err)
	for _, pairs := range rewriteChanges {
		_, err := c.SetMany(pairs, true)
		require.NoError(t, err, "%q", pairs)
	}
	require.NoError(t, c.Rewrite())
	got, err := os.ReadFile(oconf)
	require.NoError(t, err)

	norm := func(b []byte, dir string) string { return strings.ReplaceAll(string(b), dir, "{dir}") }
	wantKept, wantAppended := splitRewrite(norm(want, rdir))
	gotKept, gotAppended := splitRewrite(norm(got, odir))
	require.Equal(t, wantKept, gotKept)
	require.Equal(t, wantAppended, gotAppended)

	// a second rewrite reuses the generated lines the same way
	r, err = conn.DoStrings("CONFIG", "REWRITE")
	require.NoError(t, err)
	require.Equal(t, "+OK\r\n", string(r))
	want, err = os.ReadFile(rconf)
	require.NoError(t, err)
	require.NoError(t, c.Rewrite())
	got, err = os.ReadFile(oconf)
	require.NoError(t, err)
	wantKept, wantAppended = splitRewrite(norm(want, rdir))
	gotKept, gotAppended = splitRewrite(norm(got, odir))
	require.Equal(t, wantKept, gotKept)
	require.Equal(t, wantAppended, gotAppended)
}

func TestRenderRewrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.conf")
	require.NoError(t, os.WriteFile(path, []byte("# top\n\n\nport 7000\nno-such-option 1\nbad \"quote\nsentinel x\nhz 10\nhz 20\nloadmodule /x.so\n"), 0o644))
	c := Default()
	c.Port = 7001
	out, err := c.RenderRewrite(path)
	require.NoError(t, err)
	kept, appended := splitRewrite(out)
	require.Equal(t, "# top\n\nport 7001\n# ??? no-such-option 1\n# ??? bad \"quote\nsentinel x\nhz 10\n\n", kept)
	require.Equal(t, []string{`dir "` + mustWd(t) + `"`, "latency-tracking-info-percentiles 50 99 99.9",
		"save 300 100", "save 3600 1", "save 60 10000", "user default on nopass ~* &* +@all"}, appended)

	// a missing file gives just the forced lines
	out, err = Default().RenderRewrite(filepath.Join(dir, "missing.conf"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, rewriteSignature+"\n"))

	// the signature is written once; the file's final newline becomes one
	// empty line, then the output is stable
	require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
	out2, err := Default().RenderRewrite(path)
	require.NoError(t, err)
	require.Equal(t, out+"\n", out2)
	require.NoError(t, os.WriteFile(path, []byte(out2), 0o644))
	out3, err := Default().RenderRewrite(path)
	require.NoError(t, err)
	require.Equal(t, out2, out3)
}

func TestRewriteErrors(t *testing.T) {
	c := Default()
	require.EqualError(t, c.Rewrite(), "The server is running without a config file")
	c.ConfigFile = "/nonexistent-redcluster-dir/r.conf"
	require.EqualError(t, c.Rewrite(), "No such file or directory")
}

func TestRewriteFormats(t *testing.T) {
	c := Default()
	_, err := c.SetMany([]string{"maxmemory", "1536", "proto-max-bulk-len", "1gb", "bind", "", "save", "",
		"cluster-announce-hostname", "h", "client-output-buffer-limit", "normal 1kb 1 0"}, true)
	require.NoError(t, err)
	out, err := c.RenderRewrite(filepath.Join(t.TempDir(), "x.conf"))
	require.NoError(t, err)
	for _, line := range []string{"maxmemory 1536", "proto-max-bulk-len 1gb", `bind ""`, `save ""`,
		`cluster-announce-hostname "h"`, "client-output-buffer-limit normal 1kb 1 0"} {
		require.Contains(t, strings.Split(out, "\n"), line)
	}
	require.NotContains(t, out, "client-output-buffer-limit replica", "defaults are not forced")
	require.NotContains(t, out, "pidfile")
}

func mustWd(t *testing.T) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	return wd
}
