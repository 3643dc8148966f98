package cluster_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redcluster/redcluster/internal/testutil"
)

// TestMixedFailoverData runs failovers in both directions between
// redis-server and redcluster in one 6-node cluster, checking the data
// after each: masters redis R0, redcluster O1, redis R2 with replicas
// redcluster O3 (of R0), redis R4 (of O1), redcluster O5 (of R2).
//
//	A. CLUSTER FAILOVER on O3: redcluster takes over from redis.
//	B. CLUSTER FAILOVER on R4: redis takes over from redcluster.
//	C. kill -9 O3 (now a master, R0 its replica): R0 is elected; O3
//	   restarts and resyncs as R0's replica.
//	D. kill -9 R4 (now a master, O1 its replica): O1 is elected; R4
//	   restarts and resyncs as O1's replica.
//
// After each step every key acknowledged by WAIT is on its master, every
// replica serves its master's keys with READONLY, and
// `redis-cli --cluster check` passes.
func TestMixedFailoverData(t *testing.T) {
	redisCLI(t)
	real, ours := testutil.RedisServer(t), testutil.Binary(t)
	realArgs := append(append([]string(nil), foArgs...), redisNoSyncDelay...)
	bins := []string{real, ours, real, ours, real, ours}
	var ps []*testutil.Proc
	for _, b := range bins {
		args := foArgs
		if b == real {
			args = realArgs
		}
		ps = append(ps, testutil.Start(t, b, args...))
	}
	defer func() { dumpLogs(t, ps) }()
	create(t, addrsOf(ps[:3]), 0)
	ids := make([]string, 6)
	for i, p := range ps {
		ids[i] = myID(t, p.Addr())
	}
	for i := 3; i < 6; i++ {
		if r, err := cmd(ps[i].Addr(), "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(ps[0].Port)); err != nil || r != "+OK\r\n" {
			t.Fatalf("MEET: %q %v", r, err)
		}
		master := ids[i-3]
		poll(t, 20*time.Second, ps[i].Addr()+" replicates "+master, func() (bool, string) {
			r, err := cmd(ps[i].Addr(), "CLUSTER", "REPLICATE", master)
			return err == nil && r == "+OK\r\n", fmt.Sprintf("%q %v", r, err)
		})
	}
	addrs := addrsOf(ps)
	waitAgreement(t, addrs, 6, 30*time.Second)
	waitAllLinksUp(t, addrs[0])

	ks := keyset{}
	// step checks the data after a step and writes a new acknowledged
	// round through the cluster as it now is.
	step := func(t *testing.T, round string) {
		t.Helper()
		waitAgreement(t, addrs, 6, 30*time.Second)
		verifyMasters(t, addrs[0], ks)
		waitAllLinksUp(t, addrs[0])
		writeAcked(t, addrs[0], ks, round)
		verifyMasters(t, addrs[0], ks)
		verifyReplicas(t, addrs[0], ks)
		check(t, addrs[0])
	}
	step(t, "initial")

	manual := func(t *testing.T, m, r int) {
		t.Helper()
		writeAcked(t, addrs[0], ks, "before failover to "+addrs[r])
		ks.merge(lagBurst(t, shard{master: ps[m], replica: ps[r], masterID: ids[m], replicaID: ids[r]}))
		if res, err := cmd(addrs[r], "CLUSTER", "FAILOVER"); err != nil || res != "+OK\r\n" {
			t.Fatalf("CLUSTER FAILOVER on %s: %q %v", addrs[r], res, err)
		}
		poll(t, 15*time.Second, addrs[r]+" is master everywhere", func() (bool, string) {
			return roleEverywhere(addrs, ids[r], "master", "")
		})
		poll(t, 15*time.Second, addrs[m]+" replicates "+addrs[r]+" everywhere", func() (bool, string) {
			return roleEverywhere(addrs, ids[m], "slave", ids[r])
		})
	}
	top := t
	kill := func(t *testing.T, m, r int, bin string, args []string) {
		t.Helper()
		sh := shard{master: ps[m], replica: ps[r], masterID: ids[m], replicaID: ids[r]}
		acked, at := killUnderWrites(t, sh)
		ks.merge(acked)
		live := without(ps, ps[m])
		poll(t, 15*time.Second, addrs[r]+" elected", func() (bool, string) {
			return roleEverywhere(live, ids[r], "master", "")
		})
		t.Logf("kill -9 %s -> %s master everywhere in %v", addrs[m], addrs[r], time.Since(at))
		verifyMasters(t, live[0], ks)
		check(t, live[0])
		// Restarted for the rest of the test, not of this step.
		ps[m] = restartProc(top, ps[m], bin, args...)
		poll(t, 15*time.Second, addrs[m]+" rejoins as a replica of "+addrs[r], func() (bool, string) {
			return roleEverywhere(addrs, ids[m], "slave", ids[r])
		})
	}

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"A redis to redcluster, manual", func(t *testing.T) { manual(t, 0, 3) }},
		{"B redcluster to redis, manual", func(t *testing.T) { manual(t, 1, 4) }},
		{"C redcluster to redis, kill -9", func(t *testing.T) { kill(t, 3, 0, ours, foArgs) }},
		{"D redis to redcluster, kill -9", func(t *testing.T) { kill(t, 4, 1, real, realArgs) }},
	}
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			st.run(t)
			step(t, st.name[:1])
		})
		if !ok {
			return // the next steps start from this one's outcome
		}
	}
}
