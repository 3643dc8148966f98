// Package cluster_test starts real clusters: bin/redcluster processes alone
// and mixed with redis-server 7.0 processes, created with
// `redis-cli --cluster create`, and checks that every node agrees on one
// view (CLUSTER NODES), that `redis-cli --cluster check` passes and that
// `redis-cli -c` is redirected between masters.
package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redcluster/redcluster/internal/testutil"
)

var clusterArgs = []string{"--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--cluster-config-file", "nodes.conf"}

func redisCLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not installed")
	}
	return p
}

// cli runs redis-cli with a timeout and returns its combined output.
func cli(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, redisCLI(t), args...).CombinedOutput()
	return string(out), err
}

// cmd sends one command on a fresh connection and returns the reply bytes.
func cmd(addr string, args ...string) (string, error) {
	c, err := testutil.Dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	r, err := c.DoStrings(args...)
	return string(r), err
}

// bulk strips a bulk reply's header and trailer.
func bulk(r string) string {
	if i := strings.Index(r, "\r\n"); i >= 0 && strings.HasPrefix(r, "$") {
		return strings.TrimSuffix(r[i+2:], "\r\n")
	}
	return r
}

// view is a node's CLUSTER NODES without what legitimately differs between
// nodes (myself, ping/pong times, link state), sorted.
func view(addr string) (string, error) {
	r, err := cmd(addr, "CLUSTER", "NODES")
	if err != nil {
		return "", err
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(bulk(r)), "\n") {
		f := strings.Fields(l)
		if len(f) < 8 {
			return "", fmt.Errorf("bad CLUSTER NODES line %q", l)
		}
		flags := strings.TrimPrefix(strings.TrimPrefix(f[2], "myself,"), "myself")
		line := strings.Join(append([]string{f[0], f[1], flags, f[3], f[6]}, f[8:]...), " ")
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n"), nil
}

// waitAgreement polls until every node is cluster_state:ok, knows n nodes
// and prints the same view.
func waitAgreement(t *testing.T, addrs []string, n int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last []string
	for time.Now().Before(deadline) {
		last = last[:0]
		ok := true
		for _, a := range addrs {
			info, err := cmd(a, "CLUSTER", "INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok\r\n") {
				ok = false
			}
			v, err := view(a)
			if err != nil {
				ok = false
			}
			last = append(last, a+":\n"+v)
			if strings.Count(v, "\n") != n-1 || strings.Contains(v, "fail") || strings.Contains(v, "handshake") {
				ok = false
			}
		}
		if ok {
			same := true
			for _, v := range last[1:] {
				same = same && v[strings.Index(v, "\n"):] == last[0][strings.Index(last[0], "\n"):]
			}
			if same {
				return last[0][strings.Index(last[0], "\n")+1:]
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no agreement after %v:\n%s", timeout, strings.Join(last, "\n\n"))
	return ""
}

func addrsOf(ps []*testutil.Proc) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Addr())
	}
	return out
}

// create runs redis-cli --cluster create.
func create(t *testing.T, addrs []string, replicas int) {
	t.Helper()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	out, err := cli(t, 90*time.Second, args...)
	if err != nil || !strings.Contains(out, "[OK] All 16384 slots covered.") {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
}

// check runs redis-cli --cluster check against addr.
func check(t *testing.T, addr string) {
	t.Helper()
	out, err := cli(t, 30*time.Second, "--cluster", "check", addr)
	if err != nil || !strings.Contains(out, "[OK] All nodes agree about slots configuration.") ||
		!strings.Contains(out, "[OK] All 16384 slots covered.") || strings.Contains(out, "[ERR]") {
		t.Fatalf("redis-cli --cluster check %s: %v\n%s", addr, err, out)
	}
}

// roundTrip writes keys through one node with redis-cli -c and reads them
// back through another: MOVED redirections between masters.
func roundTrip(t *testing.T, from, to string) {
	t.Helper()
	hostPort := func(a string) []string {
		i := strings.LastIndexByte(a, ':')
		return []string{"-h", a[:i], "-p", a[i+1:]}
	}
	for _, k := range []string{"foo", "bar", "{user1000}.following", "hello", "zap"} {
		out, err := cli(t, 10*time.Second, append(append([]string{"-c"}, hostPort(from)...), "SET", k, "v-"+k)...)
		if err != nil || strings.TrimSpace(out) != "OK" {
			t.Fatalf("SET %s via %s: %v %q", k, from, err, out)
		}
		out, err = cli(t, 10*time.Second, append(append([]string{"-c"}, hostPort(to)...), "GET", k)...)
		if err != nil || strings.TrimSpace(out) != "v-"+k {
			t.Fatalf("GET %s via %s: %v %q", k, to, err, out)
		}
	}
}

func dumpLogs(t *testing.T, ps []*testutil.Proc) {
	if !t.Failed() {
		return
	}
	for _, p := range ps {
		b, _ := os.ReadFile(p.Log)
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		t.Logf("log of %s:\n%s", p.Addr(), bytes.TrimSpace(b))
	}
}

func TestCreateSixRedclusterNodes(t *testing.T) {
	redisCLI(t)
	bin := testutil.Binary(t)
	var ps []*testutil.Proc
	for i := 0; i < 6; i++ {
		ps = append(ps, testutil.Start(t, bin, clusterArgs...))
	}
	defer dumpLogs(t, ps)
	addrs := addrsOf(ps)
	create(t, addrs, 1)
	v := waitAgreement(t, addrs, 6, 30*time.Second)
	if strings.Count(v, " slave ") != 3 || strings.Count(v, " master ") != 3 {
		t.Fatalf("want 3 masters and 3 replicas:\n%s", v)
	}
	for _, a := range addrs {
		check(t, a)
	}
	roundTrip(t, addrs[0], addrs[2])
	// CLUSTER INFO counts the bus traffic; CLUSTER LINKS lists two links
	// per peer.
	info, _ := cmd(addrs[0], "CLUSTER", "INFO")
	for _, want := range []string{"cluster_known_nodes:6\r\n", "cluster_size:3\r\n", "cluster_stats_messages_ping_sent:",
		"cluster_stats_messages_pong_received:"} {
		if !strings.Contains(info, want) {
			t.Fatalf("CLUSTER INFO lacks %q:\n%s", want, info)
		}
	}
	links, _ := cmd(addrs[0], "CLUSTER", "LINKS")
	if !strings.HasPrefix(links, "*10\r\n") {
		t.Fatalf("CLUSTER LINKS: %q", links)
	}
}

// startMixed starts redis-server and redcluster processes alternately.
func startMixed(t *testing.T, n int) []*testutil.Proc {
	redisCLI(t)
	real := testutil.RedisServer(t)
	bin := testutil.Binary(t)
	var ps []*testutil.Proc
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			ps = append(ps, testutil.Start(t, real, clusterArgs...))
		} else {
			ps = append(ps, testutil.Start(t, bin, clusterArgs...))
		}
	}
	return ps
}

func TestMixedClusterNoReplicas(t *testing.T) {
	ps := startMixed(t, 6)
	defer dumpLogs(t, ps)
	addrs := addrsOf(ps)
	create(t, addrs, 0)
	waitAgreement(t, addrs, 6, 30*time.Second)
	for _, a := range addrs {
		check(t, a)
	}
	roundTrip(t, addrs[1], addrs[0]) // from a redcluster node to a real one
	roundTrip(t, addrs[0], addrs[3])
}

func TestMixedClusterWithReplicas(t *testing.T) {
	ps := startMixed(t, 6)
	defer dumpLogs(t, ps)
	addrs := addrsOf(ps)
	create(t, addrs, 1)
	v := waitAgreement(t, addrs, 6, 30*time.Second)
	if strings.Count(v, " slave ") != 3 {
		t.Fatalf("want 3 replicas:\n%s", v)
	}
	for _, a := range addrs {
		check(t, a)
	}
	// A later MEET-free change propagates both ways: a redcluster master
	// bumps its epoch and everybody learns it.
	var ours string
	for i, a := range addrs {
		if i%2 == 1 {
			if r, _ := cmd(a, "CLUSTER", "NODES"); strings.Contains(r, "myself,master") {
				ours = a
			}
		}
	}
	if ours != "" {
		if r, err := cmd(ours, "CLUSTER", "BUMPEPOCH"); err != nil || !strings.HasPrefix(r, "+BUMPED") {
			t.Fatalf("BUMPEPOCH: %v %q", err, r)
		}
		waitAgreement(t, addrs, 6, 20*time.Second)
	}
}
