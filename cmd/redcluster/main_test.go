package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

type result struct {
	stdout, stderr string
	code           int
}

// runBin runs a server binary that must exit by itself.
func runBin(t *testing.T, bin, dir string, args []string, stdin string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "%s %q did not exit", bin, args)
	res := result{stdout: o.String(), stderr: e.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return res
}

var logPrefix = regexp.MustCompile(`(?m)^\d+:C \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} `)

// TestBadStartupMatchesRedis runs bin/redcluster and redis-server with the
// same bad options and requires the same stderr, stdout (without pid and
// time) and exit code 1.
func TestBadStartupMatchesRedis(t *testing.T) {
	redis := testutil.RedisServer(t)
	ours := testutil.Binary(t)
	for _, tc := range []struct {
		name  string
		args  []string
		files map[string]string
		stdin string
	}{
		{"not an integer", []string{"--port", "abc"}, nil, ""},
		{"unknown option", []string{"--foo", "bar"}, nil, ""},
		{"not yes or no", []string{"--appendonly", "maybe"}, nil, ""},
		{"bad memory", []string{"--maxmemory", "10zb"}, nil, ""},
		{"bad enum", []string{"--maxmemory-policy", "lru"}, nil, ""},
		{"out of range", []string{"--databases", "0"}, nil, ""},
		{"wrong arity", []string{"--port", "1", "2"}, nil, ""},
		{"bad save", []string{"--save", "60"}, nil, ""},
		{"bad dir", []string{"--dir", "/nonexistent-redcluster-dir"}, nil, ""},
		{"bad logfile", []string{"--logfile", "/nonexistent-redcluster-dir/log"}, nil, ""},
		{"unknown command to rename", []string{"--rename-command", "nosuch", "x"}, nil, ""},
		{"rename to an existing name", []string{"--rename-command", "get", "set"}, nil, ""},
		{"file error", []string{"redis.conf", "--port", "1"}, map[string]string{"redis.conf": "# c\nport 7000\nbind 127.0.0.1\nhz fast\n"}, ""},
		{"include error", []string{"redis.conf"}, map[string]string{"redis.conf": "include inc.conf\n", "inc.conf": "\ntimeout -5\n"}, ""},
		{"unbalanced quotes", []string{"redis.conf"}, map[string]string{"redis.conf": "requirepass \"abc\n"}, ""},
		{"missing file", []string{"missing.conf"}, nil, ""},
		{"stdin", []string{"-"}, nil, "port 7000\nmaxmemory lots\n"},
		{"cluster replica", []string{"--cluster-enabled", "yes", "--replicaof", "127.0.0.1", "7000"}, nil, ""},
		{"help", []string{"--help"}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
			}
			want := runBin(t, redis, dir, tc.args, tc.stdin)
			got := runBin(t, ours, dir, tc.args, tc.stdin)
			require.Equal(t, want.stderr, got.stderr)
			clean := func(s string) string {
				s = logPrefix.ReplaceAllString(s, "")
				return strings.ReplaceAll(s, "# Reading config from stdin\n", "")
			}
			require.Equal(t, clean(want.stdout), clean(got.stdout))
			require.Equal(t, 1, want.code)
			require.Equal(t, want.code, got.code)
		})
	}
}

func TestDaemonizeRefused(t *testing.T) {
	res := runBin(t, testutil.Binary(t), t.TempDir(), []string{"--daemonize", "yes"}, "")
	require.Equal(t, 1, res.code)
	require.Contains(t, res.stderr, ">>> 'daemonize \"yes\"'\ndaemonize yes is not supported")
}

func TestVersion(t *testing.T) {
	res := runBin(t, testutil.Binary(t), t.TempDir(), []string{"-v"}, "")
	require.Equal(t, 0, res.code)
	require.True(t, strings.HasPrefix(res.stdout, "Redis server v=7.0.15 "), res.stdout)
}

// TestRunAndShutdown starts the binary with a config file, checks the pid
// file, the log, CONFIG REWRITE and rename-command, then stops it with
// SIGTERM.
func TestRunAndShutdown(t *testing.T) {
	bin := testutil.Binary(t)
	dir := t.TempDir()
	port := testutil.FreePort(t)
	conf := filepath.Join(dir, "redis.conf")
	pidfile := filepath.Join(dir, "redis.pid")
	logfile := filepath.Join(dir, "redis.log")
	require.NoError(t, os.WriteFile(conf, []byte("port "+strconv.Itoa(port)+"\nbind 127.0.0.1\nsave \"\"\nrename-command FLUSHALL \"\"\nrename-command dbsize count\n"), 0o644))
	cmd := exec.Command(bin, conf, "--pidfile", pidfile, "--logfile", logfile, "--loglevel", "verbose", "--dir", dir)
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	var conn *testutil.Conn
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if conn, err = testutil.Dial("127.0.0.1:" + strconv.Itoa(port)); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "server did not start")
	}
	defer conn.Close()
	pid, err := os.ReadFile(pidfile)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(cmd.Process.Pid)+"\n", string(pid))

	r, err := conn.DoStrings("FLUSHALL")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(r), "-ERR unknown command 'FLUSHALL'"), "%q", r)
	r, err = conn.DoStrings("COUNT")
	require.NoError(t, err)
	require.Equal(t, ":0\r\n", string(r))
	r, err = conn.DoStrings("CONFIG", "SET", "maxmemory", "10mb")
	require.NoError(t, err)
	require.Equal(t, "+OK\r\n", string(r))
	r, err = conn.DoStrings("CONFIG", "REWRITE")
	require.NoError(t, err)
	require.Equal(t, "+OK\r\n", string(r))
	data, err := os.ReadFile(conf)
	require.NoError(t, err)
	require.Contains(t, string(data), "\nmaxmemory 10mb\n")
	require.Contains(t, string(data), "rename-command FLUSHALL \"\"\n")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err, "exit code 0 after SIGTERM")
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop on SIGTERM")
	}
	_, err = os.Stat(pidfile)
	require.True(t, os.IsNotExist(err), "pid file removed")
	log, err := os.ReadFile(logfile)
	require.NoError(t, err)
	for _, want := range []string{"# Configuration loaded", "* Ready to accept connections", "# Received SIGTERM scheduling shutdown...", "# Redis is now ready to exit, bye bye..."} {
		require.Contains(t, string(log), want)
	}
}

// TestConfigSetPort moves the listening port with CONFIG SET.
func TestConfigSetPort(t *testing.T) {
	proc := testutil.Start(t, testutil.Binary(t))
	conn, err := testutil.Dial(proc.Addr())
	require.NoError(t, err)
	defer conn.Close()
	newPort := testutil.FreePort(t)
	r, err := conn.DoStrings("CONFIG", "SET", "port", strconv.Itoa(newPort))
	require.NoError(t, err)
	require.Equal(t, "+OK\r\n", string(r))
	c2, err := testutil.Dial("127.0.0.1:" + strconv.Itoa(newPort))
	require.NoError(t, err)
	defer c2.Close()
	r, err = c2.DoStrings("CONFIG", "GET", "port")
	require.NoError(t, err)
	require.Equal(t, "*2\r\n$4\r\nport\r\n$"+strconv.Itoa(len(strconv.Itoa(newPort)))+"\r\n"+strconv.Itoa(newPort)+"\r\n", string(r))
	_, err = testutil.Dial(proc.Addr())
	require.Error(t, err, "the old port is closed")

	// a port in use is refused and the server keeps its port
	busy := testutil.Start(t, testutil.Binary(t))
	r, err = c2.DoStrings("CONFIG", "SET", "port", strconv.Itoa(busy.Port))
	require.NoError(t, err)
	require.Equal(t, "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n", string(r))
	r, err = c2.DoStrings("CONFIG", "GET", "port")
	require.NoError(t, err)
	require.Contains(t, string(r), strconv.Itoa(newPort))
	c3, err := testutil.Dial("127.0.0.1:" + strconv.Itoa(newPort))
	require.NoError(t, err)
	c3.Close()
}
