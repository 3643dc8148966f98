package integration

// Restarts and replication: the replication ID and offset saved in
// dump.rdb let a restarted replica, or the replicas of a restarted master,
// continue with a partial resynchronization (Redis 7.0's
// loadDataFromDisk), both with redcluster and with redis-server on the
// other side.

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

// waitSameOffset polls until the replica processed the master's stream.
func waitSameOffset(t *testing.T, m, r *testutil.Conn) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if infoValue(t, m, "master_repl_offset") == infoValue(t, r, "slave_repl_offset") {
			return
		}
		require.True(t, time.Now().Before(deadline), "the replica did not catch up")
		time.Sleep(10 * time.Millisecond)
	}
}

func dial(t *testing.T, p *testutil.Proc) *testutil.Conn {
	t.Helper()
	c, err := testutil.Dial(p.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestPersistReplicaRestartContinues: a replica stopped with SHUTDOWN
// (saving) and started again on its folder continues partially.
func TestPersistReplicaRestartContinues(t *testing.T) {
	ours := testutil.Binary(t)
	for _, masterBin := range []string{testutil.RedisServer(t), ours} {
		t.Run(masterName(masterBin, ours), func(t *testing.T) {
			master := testutil.Start(t, masterBin, "--repl-diskless-sync-delay", "0")
			mc := dial(t, master)
			fill(t, master.Addr(), everyTypeCommands())
			replArgs := []string{"--replicaof", "127.0.0.1", strconv.Itoa(master.Port)}
			replica := testutil.Start(t, ours, replArgs...)
			rc := dial(t, replica)
			waitLinkUp(t, rc)
			waitSameOffset(t, mc, rc)
			stopWith(t, replica, "SHUTDOWN", "SAVE")

			fill(t, master.Addr(), [][]string{{"SET", "while-down", "1"}, {"INCR", "counter"}})
			again := testutil.Start(t, ours, append(replArgs, "--dir", replica.Dir)...)
			rc2 := dial(t, again)
			waitLinkUp(t, rc2)
			waitSameOffset(t, mc, rc2)
			require.Equal(t, "1", infoValue(t, mc, "sync_full"))
			require.Equal(t, "1", infoValue(t, mc, "sync_partial_ok"))
			requireSameDataset(t, datasetOf(t, master.Addr(), persistDBs), datasetOf(t, again.Addr(), persistDBs), false)
		})
	}
}

// TestPersistMasterRestartContinues: a master stopped with SHUTDOWN
// (saving) and started again on its folder and port lets its replica
// continue partially.
func TestPersistMasterRestartContinues(t *testing.T) {
	ours := testutil.Binary(t)
	for _, replicaBin := range []string{testutil.RedisServer(t), ours} {
		t.Run("replica "+masterName(replicaBin, ours), func(t *testing.T) {
			master := testutil.Start(t, ours, "--repl-diskless-sync-delay", "0")
			fill(t, master.Addr(), everyTypeCommands())
			replica := testutil.Start(t, replicaBin, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
			rc := dial(t, replica)
			waitLinkUp(t, rc)
			mc := dial(t, master)
			waitSameOffset(t, mc, rc)
			stopWith(t, master, "SHUTDOWN", "SAVE")

			again := startOnPort(t, ours, master.Port, master.Dir, "--repl-diskless-sync-delay", "0")
			mc2 := dial(t, again)
			fill(t, again.Addr(), [][]string{{"SET", "after-restart", "1"}})
			waitLinkUp(t, rc)
			waitSameOffset(t, mc2, rc)
			require.Equal(t, "0", infoValue(t, mc2, "sync_full"))
			require.Equal(t, "1", infoValue(t, mc2, "sync_partial_ok"))
			requireSameDataset(t, datasetOf(t, again.Addr(), persistDBs), datasetOf(t, replica.Addr(), persistDBs), false)
		})
	}
}

func masterName(bin, ours string) string {
	if bin == ours {
		return "redcluster"
	}
	return "redis-server"
}
