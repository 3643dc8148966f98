package rdb

import (
	"bufio"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// redisProc is a redis-server started for a test.
type redisProc struct {
	port int
	dir  string
	log  string
	cmd  *exec.Cmd
}

// startRedis starts redis-server on a random free port in 20000-29999 with
// persistence off and a private directory. It skips the test when
// redis-server is not installed.
func startRedis(t *testing.T, dir string, extra ...string) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (make test installs it): skipping")
	}
	if testing.Short() {
		t.Skip("skipping redis-server test in -short mode")
	}
	if dir == "" {
		dir = t.TempDir()
	}
	var lastErr error
	for attempt := 0; attempt < 8; attempt++ {
		port := 20000 + rand.Intn(10000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		ln.Close()
		logPath := filepath.Join(dir, fmt.Sprintf("redis-%d.log", port))
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--dir", dir, "--logfile", logPath, "--daemonize", "no"}
		args = append(args, extra...)
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		p := &redisProc{port: port, dir: dir, log: logPath, cmd: cmd}
		if err := waitReady(p.addr(), done); err != nil {
			cmd.Process.Kill()
			<-done
			b, _ := os.ReadFile(logPath)
			lastErr = fmt.Errorf("redis-server did not start: %v\n%s", err, b)
			continue
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-done
		})
		return p
	}
	t.Fatal(lastErr)
	return nil
}

func (p *redisProc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

func waitReady(addr string, done chan struct{}) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("process exited")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			rc := &respConn{c: c, r: bufio.NewReader(c)}
			reply, err := rc.do("PING")
			c.Close()
			if err == nil && reply == "PONG" {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no PONG in time")
}

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
