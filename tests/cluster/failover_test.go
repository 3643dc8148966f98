package cluster_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redcluster/redcluster/internal/testutil"
)

// Failover of real processes (issue 4): kill -9 and SIGSTOP of a master,
// CLUSTER FAILOVER [FORCE|TAKEOVER], and elections won across
// implementations in mixed redis-server / redcluster clusters. Node timeout
// 1000 ms.

const foTimeout = "1000"

var foArgs = []string{"--cluster-enabled", "yes", "--cluster-node-timeout", foTimeout, "--cluster-config-file", "nodes.conf"}

// nodeInfo is one CLUSTER NODES line.
type nodeInfo struct {
	id, addr, master string
	flags            map[string]bool
	slots            []string
}

// nodesOf parses addr's CLUSTER NODES by node ID.
func nodesOf(addr string) (map[string]nodeInfo, error) {
	r, err := cmd(addr, "CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(r, "$") {
		return nil, fmt.Errorf("CLUSTER NODES: %q", r)
	}
	out := map[string]nodeInfo{}
	for _, l := range strings.Split(strings.TrimSpace(bulk(r)), "\n") {
		f := strings.Fields(l)
		if len(f) < 8 {
			return nil, fmt.Errorf("bad CLUSTER NODES line %q", l)
		}
		n := nodeInfo{id: f[0], addr: f[1], master: f[3], flags: map[string]bool{}, slots: f[8:]}
		if i := strings.IndexByte(n.addr, '@'); i >= 0 {
			n.addr = n.addr[:i]
		}
		for _, fl := range strings.Split(f[2], ",") {
			n.flags[fl] = true
		}
		out[n.id] = n
	}
	return out, nil
}

func myID(t *testing.T, addr string) string {
	t.Helper()
	r, err := cmd(addr, "CLUSTER", "MYID")
	if err != nil {
		t.Fatalf("CLUSTER MYID %s: %v", addr, err)
	}
	return bulk(r)
}

// poll calls cond every 20 ms until it holds or timeout passes.
func poll(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < timeout {
		ok, why := cond()
		if ok {
			return time.Since(start)
		}
		last = why
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v (%s)", what, timeout, last)
	return 0
}

// roleEverywhere reports whether every address sees id with role ("master"
// or "slave"), and for a slave, with master of.
func roleEverywhere(addrs []string, id, role, of string) (bool, string) {
	for _, a := range addrs {
		ns, err := nodesOf(a)
		if err != nil {
			return false, err.Error()
		}
		n, ok := ns[id]
		if !ok {
			return false, a + " does not know " + id
		}
		if !n.flags[role] || (of != "" && n.master != of) {
			return false, fmt.Sprintf("%s sees %s as %v of %s", a, id[:8], n.flags, n.master)
		}
	}
	return true, ""
}

// shard is a master process and one of its replicas.
type shard struct {
	master, replica     *testutil.Proc
	masterID, replicaID string
}

// findShard returns a master with a replica among ps.
func findShard(t *testing.T, ps []*testutil.Proc) shard {
	t.Helper()
	byID := map[string]*testutil.Proc{}
	for _, p := range ps {
		byID[myID(t, p.Addr())] = p
	}
	ns, err := nodesOf(ps[0].Addr())
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range ns {
		if n.flags["slave"] && byID[n.master] != nil {
			return shard{master: byID[n.master], replica: byID[id], masterID: n.master, replicaID: id}
		}
	}
	t.Fatalf("no master with a replica in:\n%v", ns)
	return shard{}
}

// keyServedBy returns a key that addr serves (SET answers OK there).
func keyServedBy(t *testing.T, addr string) string {
	t.Helper()
	for i := 0; i < 1000; i++ {
		k := "key:" + strconv.Itoa(i)
		r, err := cmd(addr, "SET", k, "before")
		if err == nil && r == "+OK\r\n" {
			return k
		}
	}
	t.Fatalf("%s serves none of 1000 keys", addr)
	return ""
}

func without(ps []*testutil.Proc, x *testutil.Proc) []string {
	var out []string
	for _, p := range ps {
		if p != x {
			out = append(out, p.Addr())
		}
	}
	return out
}

// restartProc starts bin again on p's port and folder (its nodes.conf).
func restartProc(t *testing.T, p *testutil.Proc, bin string, extra ...string) *testutil.Proc {
	t.Helper()
	args := []string{"--port", strconv.Itoa(p.Port), "--bind", "127.0.0.1", "--dir", p.Dir,
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(p.Dir, "server-restarted.log")}
	c := exec.Command(bin, append(args, extra...)...)
	c.Dir = p.Dir
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	t.Cleanup(func() {
		c.Process.Kill()
		<-done
	})
	np := &testutil.Proc{Port: p.Port, Dir: p.Dir, Cmd: c, Log: filepath.Join(p.Dir, "server-restarted.log")}
	poll(t, 10*time.Second, "restarted node answers", func() (bool, string) {
		r, err := cmd(np.Addr(), "PING")
		return err == nil && r == "+PONG\r\n", fmt.Sprint(err)
	})
	return np
}

func startSix(t *testing.T) []*testutil.Proc {
	redisCLI(t)
	bin := testutil.Binary(t)
	var ps []*testutil.Proc
	for i := 0; i < 6; i++ {
		ps = append(ps, testutil.Start(t, bin, foArgs...))
	}
	addrs := addrsOf(ps)
	create(t, addrs, 1)
	waitAgreement(t, addrs, 6, 30*time.Second)
	return ps
}

func TestFailoverKillMaster(t *testing.T) {
	ps := startSix(t)
	defer dumpLogs(t, ps)
	waitAllLinksUp(t, ps[0].Addr())
	// Every slot holds a key that WAIT saw reach the replica; the replicas
	// serve them with READONLY.
	ks := keyset{}
	writeAcked(t, ps[0].Addr(), ks, "r1")
	verifyMasters(t, ps[0].Addr(), ks)
	verifyReplicas(t, ps[0].Addr(), ks)
	check(t, ps[0].Addr())

	sh := findShard(t, ps)
	key := keyServedBy(t, sh.master.Addr())
	live := without(ps, sh.master)
	acked, start := killUnderWrites(t, sh)
	ks.merge(acked)
	poll(t, 10*time.Second, "a write on the replica is accepted", func() (bool, string) {
		r, err := cmd(sh.replica.Addr(), "SET", key, "after")
		return err == nil && r == "+OK\r\n", fmt.Sprintf("%q %v", r, err)
	})
	firstWrite := time.Since(start)
	poll(t, 10*time.Second, "the replica is master on every node", func() (bool, string) {
		return roleEverywhere(live, sh.replicaID, "master", "")
	})
	t.Logf("kill -9 -> first write accepted %v, replica master everywhere %v", firstWrite, time.Since(start))
	// Writes through any node are redirected to the new master.
	roundTrip(t, live[0], live[1])

	t.Run("no key lost", func(t *testing.T) {
		// Every key acknowledged by WAIT before the kill (the writer's
		// last ones included) is on the new master.
		verifyMasters(t, live[0], ks)
		check(t, live[0])
	})

	// The killed node comes back with its nodes.conf and rejoins as a
	// replica of the node that replaced it.
	old := restartProc(t, sh.master, testutil.Binary(t), foArgs...)
	ps2 := append(append([]*testutil.Proc(nil), ps...), old)
	defer dumpLogs(t, []*testutil.Proc{old})
	addrs := without(ps2, sh.master)
	poll(t, 15*time.Second, "the old master is a replica of the new one everywhere", func() (bool, string) {
		return roleEverywhere(addrs, sh.masterID, "slave", sh.replicaID)
	})
	waitAgreement(t, addrs, 6, 30*time.Second)
	check(t, addrs[0])
	r, _ := cmd(old.Addr(), "SET", key, "x")
	if !strings.HasPrefix(r, "-MOVED ") || !strings.HasSuffix(strings.TrimSpace(r), sh.replica.Addr()) {
		t.Fatalf("SET on the old master: %q, want MOVED to %s", r, sh.replica.Addr())
	}

	t.Run("the old master resyncs", func(t *testing.T) {
		// It restarted empty (no RDB): its data must come from a full
		// synchronization with the new master.
		waitLinkUp(t, old.Addr(), 30*time.Second)
		writeAcked(t, addrs[0], ks, "r2")
		verifyMasters(t, addrs[0], ks)
		verifyReplicas(t, addrs[0], ks)
		check(t, addrs[0])
	})
}

func TestFailoverSigstopMaster(t *testing.T) {
	ps := startSix(t)
	defer dumpLogs(t, ps)
	waitAllLinksUp(t, ps[0].Addr())
	ks := keyset{}
	writeAcked(t, ps[0].Addr(), ks, "r1")
	sh := findShard(t, ps)
	key := keyServedBy(t, sh.master.Addr())
	live := without(ps, sh.master)
	if err := sh.master.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	cont := func() { sh.master.Cmd.Process.Signal(syscall.SIGCONT) }
	defer cont()
	poll(t, 10*time.Second, "the replica is master on every other node", func() (bool, string) {
		return roleEverywhere(live, sh.replicaID, "master", "")
	})
	cont()
	// Woken up, the old master learns it lost its slots: it is demoted and
	// redirects its old keys.
	poll(t, 10*time.Second, "the old master demoted", func() (bool, string) {
		return roleEverywhere([]string{sh.master.Addr()}, sh.masterID, "slave", sh.replicaID)
	})
	// Poll for the redirect: while the node was stopped, packets queued on
	// both links to it, and a header sent before the election (the new
	// master still a replica of it) may be read after the new one. That
	// unbinds the slots (clusterDelNodeSlots on a master-to-replica switch,
	// a rule Redis 7.0 has too) until the next packet binds them again, so
	// the node can briefly answer CLUSTERDOWN before it redirects.
	poll(t, 10*time.Second, "the old master redirects to the new one", func() (bool, string) {
		r, err := cmd(sh.master.Addr(), "SET", key, "x")
		ok := err == nil && strings.HasPrefix(r, "-MOVED ") && strings.HasSuffix(strings.TrimSpace(r), sh.replica.Addr())
		return ok, fmt.Sprintf("SET on the old master: %q %v, want MOVED to %s", r, err, sh.replica.Addr())
	})
	waitAgreement(t, addrsOf(ps), 6, 30*time.Second)
	t.Run("no key lost", func(t *testing.T) {
		verifyMasters(t, ps[0].Addr(), ks)
		// The demoted master resyncs with the new one.
		waitLinkUp(t, sh.master.Addr(), 30*time.Second)
		writeAcked(t, ps[0].Addr(), ks, "r2")
		verifyMasters(t, ps[0].Addr(), ks)
		verifyReplicas(t, ps[0].Addr(), ks)
		check(t, ps[0].Addr())
	})
}

func TestManualFailoverModes(t *testing.T) {
	ps := startSix(t)
	defer dumpLogs(t, ps)
	addrs := addrsOf(ps)
	waitAllLinksUp(t, addrs[0])
	sh := findShard(t, ps)
	key := keyServedBy(t, sh.master.Addr())
	for _, tc := range []struct{ addr, want string }{
		{sh.master.Addr(), "-ERR You should send CLUSTER FAILOVER to a replica\r\n"},
		{sh.replica.Addr(), "-ERR syntax error\r\n"},
	} {
		args := []string{"CLUSTER", "FAILOVER"}
		if tc.addr == sh.replica.Addr() {
			args = append(args, "SOFTLY")
		}
		if r, _ := cmd(tc.addr, args...); r != tc.want {
			t.Fatalf("%v on %s: %q, want %q", args, tc.addr, r, tc.want)
		}
	}
	ks := keyset{}
	// Each mode swaps the roles of the two nodes: default, FORCE,
	// TAKEOVER, alternating which one is the replica.
	cur := sh
	for _, mode := range []string{"", "FORCE", "TAKEOVER"} {
		args := []string{"CLUSTER", "FAILOVER"}
		if mode != "" {
			args = append(args, mode)
		}
		name := strings.Join(args, " ")
		writeAcked(t, addrs[0], ks, "before "+name)
		if mode == "" {
			// The default mode waits for the replica to process the
			// paused master's stream: writes acknowledged by the master
			// alone (no WAIT), which a lagging replica has not yet
			// applied, survive it too.
			ks.merge(lagBurst(t, cur))
		}
		start := time.Now()
		if r, err := cmd(cur.replica.Addr(), args...); err != nil || r != "+OK\r\n" {
			t.Fatalf("%v: %q %v", args, r, err)
		}
		poll(t, 10*time.Second, name+": the replica is master everywhere", func() (bool, string) {
			return roleEverywhere(addrs, cur.replicaID, "master", "")
		})
		poll(t, 10*time.Second, name+": the old master replicates it everywhere", func() (bool, string) {
			return roleEverywhere(addrs, cur.masterID, "slave", cur.replicaID)
		})
		if r, err := cmd(cur.replica.Addr(), "SET", key, "v-"+mode); err != nil || r != "+OK\r\n" {
			t.Fatalf("write on the new master after %v: %q %v", args, r, err)
		}
		t.Logf("%v: roles swapped everywhere in %v", args, time.Since(start))
		cur = shard{master: cur.replica, replica: cur.master, masterID: cur.replicaID, replicaID: cur.masterID}
		waitAgreement(t, addrs, 6, 30*time.Second)
		t.Run("no key lost after "+name, func(t *testing.T) {
			verifyMasters(t, addrs[0], ks)
			// The demoted master follows the new one: acknowledged writes
			// reach it and it serves them with READONLY.
			waitLinkUp(t, cur.replica.Addr(), 30*time.Second)
			writeAcked(t, addrs[0], ks, "after "+name)
			verifyMasters(t, addrs[0], ks)
			verifyReplicas(t, addrs[0], ks)
			check(t, addrs[0])
		})
	}
}

// startMixedShard builds a 4-node cluster by hand: three masters of
// masterBin (0-5460, 5461-10922, 10923-16383) and one replicaBin replica
// of the first master.
func startMixedShard(t *testing.T, masterBin, replicaBin string, masterExtra, replicaExtra []string) ([]*testutil.Proc, shard) {
	redisCLI(t)
	var ps []*testutil.Proc
	for i := 0; i < 3; i++ {
		ps = append(ps, testutil.Start(t, masterBin, append(append([]string(nil), foArgs...), masterExtra...)...))
	}
	ps = append(ps, testutil.Start(t, replicaBin, append(append([]string(nil), foArgs...), replicaExtra...)...))
	ranges := [][2]string{{"0", "5460"}, {"5461", "10922"}, {"10923", "16383"}}
	for i, p := range ps[:3] {
		for _, c := range [][]string{
			{"CLUSTER", "ADDSLOTSRANGE", ranges[i][0], ranges[i][1]},
			{"CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i + 1)},
		} {
			if r, err := cmd(p.Addr(), c...); err != nil || r != "+OK\r\n" {
				t.Fatalf("%v on %s: %q %v", c, p.Addr(), r, err)
			}
		}
	}
	for _, p := range ps[1:] {
		if r, err := cmd(p.Addr(), "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(ps[0].Port)); err != nil || r != "+OK\r\n" {
			t.Fatalf("MEET: %q %v", r, err)
		}
	}
	sh := shard{master: ps[0], replica: ps[3], masterID: myID(t, ps[0].Addr()), replicaID: myID(t, ps[3].Addr())}
	poll(t, 20*time.Second, "the replica knows its master", func() (bool, string) {
		r, err := cmd(sh.replica.Addr(), "CLUSTER", "REPLICATE", sh.masterID)
		return err == nil && r == "+OK\r\n", fmt.Sprintf("%q %v", r, err)
	})
	waitAgreement(t, addrsOf(ps), 4, 30*time.Second)
	return ps, sh
}

func testMixedElection(t *testing.T, masterBin, replicaBin string, masterExtra, replicaExtra []string) {
	ps, sh := startMixedShard(t, masterBin, replicaBin, masterExtra, replicaExtra)
	defer dumpLogs(t, ps)
	key := keyServedBy(t, sh.master.Addr())
	// The replica synchronizes with the other implementation's master
	// before the kill: its data is recent enough to be elected, and every
	// key WAIT acknowledged survives.
	waitLinkUp(t, sh.replica.Addr(), 30*time.Second)
	ks := keyset{}
	writeAcked(t, sh.master.Addr(), ks, "r1")
	verifyReplicas(t, sh.master.Addr(), ks)
	start := time.Now()
	if err := sh.master.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	live := without(ps, sh.master)
	poll(t, 15*time.Second, "the replica won its election", func() (bool, string) {
		return roleEverywhere(live, sh.replicaID, "master", "")
	})
	poll(t, 5*time.Second, "a write on the new master", func() (bool, string) {
		r, err := cmd(sh.replica.Addr(), "SET", key, "after")
		return err == nil && r == "+OK\r\n", fmt.Sprintf("%q %v", r, err)
	})
	t.Logf("kill -9 -> replica master everywhere and writable in %v", time.Since(start))
	// The votes came from the other implementation's masters.
	b, _ := os.ReadFile(sh.replica.Log)
	if !strings.Contains(string(b), "Failover election won") {
		t.Fatalf("the replica's log does not show an election:\n%s", b)
	}
	t.Run("no key lost", func(t *testing.T) {
		verifyMasters(t, live[0], ks)
	})
}

// A redis-server replica is elected by redcluster masters' votes.
func TestMixedFailoverRedisReplicaWins(t *testing.T) {
	testMixedElection(t, testutil.Binary(t), testutil.RedisServer(t), nil, nil)
}

// A redcluster replica is elected by redis-server masters' votes.
func TestMixedFailoverRedclusterReplicaWins(t *testing.T) {
	testMixedElection(t, testutil.RedisServer(t), testutil.Binary(t), redisNoSyncDelay, nil)
}

// redisNoSyncDelay makes redis-server masters start a full sync at once
// instead of waiting 5 s for more replicas (repl-diskless-sync-delay).
var redisNoSyncDelay = []string{"--repl-diskless-sync-delay", "0"}
