// Package testutil starts real server processes (bin/redcluster and
// redis-server) on free loopback ports for integration and differential tests.
package testutil

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

var buildOnce sync.Once
var buildPath string
var buildErr error

// RepoRoot returns the repository root (the folder holding go.mod).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binary builds bin/redcluster once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "redcluster-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "redcluster")
		args := []string{"build", "-o", buildPath}
		if os.Getenv("REDCLUSTER_RACE") == "1" {
			// REDCLUSTER_RACE=1 runs the integration and differential
			// suites against a race-detector build of the server.
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/redcluster")...)
		cmd.Dir = RepoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// RedisServer returns the path of redis-server, skipping the test when it is
// not installed (make test installs it).
func RedisServer(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (make test installs it): skipping")
	}
	return p
}

// FreePort returns a port that is free on 127.0.0.1 and whose bus port
// (port+10000) is free too.
func FreePort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if port+10000 > 65535 {
			continue
		}
		ln2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		if err != nil {
			continue
		}
		ln2.Close()
		return port
	}
	t.Fatal("no free port pair found")
	return 0
}

// Proc is a running server process.
type Proc struct {
	Port int
	Dir  string
	Cmd  *exec.Cmd
	Log  string
}

// Addr is "127.0.0.1:port".
func (p *Proc) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

// Start runs bin with the standard test flags plus extra, on a free port in
// a temporary directory, and waits until it answers PING. It is stopped
// when the test ends.
func Start(t testing.TB, bin string, extra ...string) *Proc {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		port := FreePort(t)
		dir := t.TempDir()
		logPath := filepath.Join(dir, "server.log")
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--logfile", logPath}
		args = append(args, extra...)
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		raceLog := filepath.Join(dir, "race")
		if os.Getenv("REDCLUSTER_RACE") == "1" {
			cmd.Env = append(os.Environ(), "GORACE=log_path="+raceLog)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &Proc{Port: port, Dir: dir, Cmd: cmd, Log: logPath}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		if err := waitPing(p.Addr(), done, 10*time.Second); err != nil {
			cmd.Process.Kill()
			<-done
			b, _ := os.ReadFile(logPath)
			lastErr = fmt.Errorf("%s did not start: %v\nlog:\n%s", bin, err, b)
			continue
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-done
			reportRaces(t, raceLog)
			if t.Failed() {
				b, _ := os.ReadFile(logPath)
				t.Logf("---- %s :%d log ----\n%s", filepath.Base(bin), port, b)
			}
		})
		return p
	}
	t.Fatal(lastErr)
	return nil
}

// reportRaces fails the test with the data races a race-detector build
// of the server logged (GORACE log_path writes prefix.<pid>).
func reportRaces(t testing.TB, prefix string) {
	files, _ := filepath.Glob(prefix + ".*")
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && len(b) > 0 {
			t.Errorf("the server reported data races:\n%s", b)
		}
	}
}

func waitPing(addr string, done chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("process exited")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.SetDeadline(time.Now().Add(time.Second))
			_, err = c.Write([]byte("PING\r\n"))
			if err == nil {
				line, err2 := bufio.NewReader(c).ReadString('\n')
				c.Close()
				if err2 == nil && len(line) > 0 {
					return nil
				}
			} else {
				c.Close()
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no PONG within %v", timeout)
}
