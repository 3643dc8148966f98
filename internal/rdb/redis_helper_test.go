package rdb

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

// redisProc is a redis-server started for a test.
type redisProc struct {
	port int
	dir  string
	log  string
	cmd  *exec.Cmd
}

// startRedis starts redis-server (testutil.Start: free port, persistence
// off, logfile, stopped at cleanup) with its dir set to dir, or to a
// temporary one when dir is empty. It skips when redis-server is missing
// or in -short mode.
func startRedis(t *testing.T, dir string, extra ...string) *redisProc {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping redis-server test in -short mode")
	}
	bin := testutil.RedisServer(t)
	if dir != "" {
		extra = append([]string{"--dir", dir}, extra...)
	}
	p := testutil.Start(t, bin, extra...)
	if dir == "" {
		dir = p.Dir
	}
	return &redisProc{port: p.Port, dir: dir, log: p.Log, cmd: p.Cmd}
}

func (p *redisProc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// respConn is a minimal RESP2 client.
type respConn struct {
	c net.Conn
	r *bufio.Reader
}

// redisError is an error reply.
type redisError string

func (e redisError) Error() string { return string(e) }

func (p *redisProc) dial(t *testing.T) *respConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.addr(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &respConn{c: c, r: bufio.NewReaderSize(c, 1<<16)}
}

func (rc *respConn) send(args ...any) error {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		var s string
		switch x := a.(type) {
		case string:
			s = x
		case []byte:
			s = string(x)
		case int:
			s = strconv.Itoa(x)
		case int64:
			s = strconv.FormatInt(x, 10)
		default:
			s = fmt.Sprint(x)
		}
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(s), s)
	}
	rc.c.SetDeadline(time.Now().Add(60 * time.Second))
	_, err := rc.c.Write([]byte(b.String()))
	return err
}

// do sends one command and returns its reply: string for status, int64,
// []byte for bulk (nil for null), []any for arrays, redisError for errors.
func (rc *respConn) do(args ...any) (any, error) {
	if err := rc.send(args...); err != nil {
		return nil, err
	}
	return rc.read()
}

func (rc *respConn) read() (any, error) {
	line, err := rc.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, fmt.Errorf("empty reply line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return redisError(line[1:]), nil
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(rc.r, buf); err != nil {
			return nil, err
		}
		return buf[:n], nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = rc.read(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected reply %q", line)
}

func ioReadFull(r *bufio.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// must runs a command and fails the test on an error reply.
func (rc *respConn) must(t *testing.T, args ...any) any {
	t.Helper()
	r, err := rc.do(args...)
	require.NoError(t, err)
	if e, ok := r.(redisError); ok {
		t.Fatalf("%v: %s", args, e)
	}
	return r
}

func asString(t *testing.T, v any) string {
	t.Helper()
	switch x := v.(type) {
	case []byte:
		return string(x)
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	t.Fatalf("not a string reply: %#v", v)
	return ""
}

func asInt(t *testing.T, v any) int64 {
	t.Helper()
	x, ok := v.(int64)
	require.True(t, ok, "not an integer reply: %#v", v)
	return x
}

func asArray(t *testing.T, v any) []any {
	t.Helper()
	x, ok := v.([]any)
	require.True(t, ok, "not an array reply: %#v", v)
	return x
}
