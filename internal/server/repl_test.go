package server

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/testutil"
)

// replicaOfTest makes r a replica of m and waits for the link to be up.
func replicaOfTest(t *testing.T, m, r *Server) *testutil.Conn {
	t.Helper()
	rc := testDial(t, r)
	host, port := splitHostPort(t, m.Addr().String())
	require.Equal(t, "+OK\r\n", testDo(t, rc, "REPLICAOF", host, port))
	waitInfoField(t, rc, "master_link_status", "up")
	return rc
}

func splitHostPort(t *testing.T, addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	require.Positive(t, i)
	return addr[:i], addr[i+1:]
}

// infoField reads one field of INFO (all sections) over c.
func infoField(t *testing.T, c *testutil.Conn, field string) string {
	t.Helper()
	raw := testDo(t, c, "INFO", "everything")
	for _, line := range strings.Split(raw, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}

// waitInfoField polls INFO until field has the wanted value.
func waitInfoField(t *testing.T, c *testutil.Conn, field, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := infoField(t, c, field)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("INFO %s = %q, want %q", field, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitCaughtUp polls until the replica processed everything the master
// propagated.
func waitCaughtUp(t *testing.T, mc, rc *testutil.Conn) {
	t.Helper()
	want := infoField(t, mc, "master_repl_offset")
	waitInfoField(t, rc, "slave_repl_offset", want)
}

// TestReplicaFullSyncUnderWrites: a replica that synchronizes while
// clients keep writing ends with exactly the master's data. It checks the
// slot-by-slot snapshot: every write is either in the RDB or in the stream
// after it, never in both nor in neither (an INCR applied twice or lost
// shows as a different counter).
func TestReplicaFullSyncUnderWrites(t *testing.T) {
	m := testServer(t, nil)
	r := testServer(t, nil)
	mc := testDial(t, m)
	const keys = 20000
	args := []string{"MSET"}
	for i := 0; i < keys; i++ {
		args = append(args, "k"+strconv.Itoa(i), "0")
	}
	require.Equal(t, "+OK\r\n", testDo(t, mc, args...))

	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wc := testDial(t, m)
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			for !stop.Load() {
				k := "k" + strconv.Itoa(rng.Intn(keys))
				switch rng.Intn(4) {
				case 0:
					if _, err := wc.DoStrings("RPUSH", "l"+strconv.Itoa(rng.Intn(200)), k); err != nil {
						return
					}
				default:
					if _, err := wc.DoStrings("INCR", k); err != nil {
						return
					}
				}
			}
		}(int64(w))
	}
	rc := replicaOfTest(t, m, r)
	// Keep writing a little after the sync, through the stream.
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	waitCaughtUp(t, mc, rc)

	require.Equal(t, testDo(t, mc, "DBSIZE"), testDo(t, rc, "DBSIZE"))
	for i := 0; i < keys; i += 1000 {
		mget := []string{"MGET"}
		for j := i; j < i+1000 && j < keys; j++ {
			mget = append(mget, "k"+strconv.Itoa(j))
		}
		require.Equal(t, testDo(t, mc, mget...), testDo(t, rc, mget...), "keys from k%d", i)
	}
	for i := 0; i < 200; i++ {
		l := "l" + strconv.Itoa(i)
		require.Equal(t, testDo(t, mc, "LRANGE", l, "0", "-1"), testDo(t, rc, "LRANGE", l, "0", "-1"), l)
	}
	require.Equal(t, "1", infoField(t, mc, "sync_full"))
}

// TestReplicaReadOnlyAndRole: a replica refuses writes from clients,
// applies the master's, and both ends report their roles.
func TestReplicaReadOnlyAndRole(t *testing.T) {
	m := testServer(t, nil)
	r := testServer(t, nil)
	mc := testDial(t, m)
	rc := replicaOfTest(t, m, r)
	require.Equal(t, "-READONLY You can't write against a read only replica.\r\n", testDo(t, rc, "SET", "a", "1"))
	require.Equal(t, "+OK\r\n", testDo(t, mc, "SET", "a", "1"))
	require.Equal(t, ":1\r\n", testDo(t, mc, "WAIT", "1", "5000"))
	require.Equal(t, "$1\r\n1\r\n", testDo(t, rc, "GET", "a"))
	require.True(t, strings.HasPrefix(testDo(t, rc, "ROLE"), "*5\r\n$5\r\nslave\r\n"))
	require.True(t, strings.HasPrefix(testDo(t, mc, "ROLE"), "*3\r\n$6\r\nmaster\r\n"))
	require.Equal(t, "slave", infoField(t, rc, "role"))
	require.Equal(t, "1", infoField(t, mc, "connected_slaves"))
	// WAIT on a replica is an error; more replicas than exist times out.
	require.True(t, strings.HasPrefix(testDo(t, rc, "WAIT", "1", "0"), "-ERR WAIT cannot be used with replica instances."))
	require.Equal(t, ":1\r\n", testDo(t, mc, "WAIT", "2", "50"))
	// REPLICAOF NO ONE promotes: writes are accepted again.
	require.Equal(t, "+OK\r\n", testDo(t, rc, "REPLICAOF", "NO", "ONE"))
	require.Equal(t, "+OK\r\n", testDo(t, rc, "SET", "b", "2"))
	require.Equal(t, "master", infoField(t, rc, "role"))
}

// TestReplicaExpiry: a replica hides a key whose TTL passed but keeps it
// until the master's DEL arrives (replication.md, expiry).
func TestReplicaExpiry(t *testing.T) {
	m := testServer(t, func(c *config.Config) { c.EnableDebugCommand = "yes" })
	r := testServer(t, nil)
	mc := testDial(t, m)
	rc := replicaOfTest(t, m, r)
	require.Equal(t, "+OK\r\n", testDo(t, mc, "DEBUG", "SET-ACTIVE-EXPIRE", "0"))
	require.Equal(t, "+OK\r\n", testDo(t, mc, "SET", "k", "v", "PX", "30"))
	waitCaughtUp(t, mc, rc)
	deadline := time.Now().Add(5 * time.Second)
	for testDo(t, rc, "GET", "k") != "$-1\r\n" {
		require.True(t, time.Now().Before(deadline), "key never expired on the replica")
		time.Sleep(5 * time.Millisecond)
	}
	// Still there, awaiting the master's DEL.
	require.Equal(t, ":1\r\n", testDo(t, rc, "DBSIZE"))
	// The master's lazy expiry deletes it and propagates DEL.
	require.Equal(t, "$-1\r\n", testDo(t, mc, "GET", "k"))
	waitCaughtUp(t, mc, rc)
	require.Equal(t, ":0\r\n", testDo(t, rc, "DBSIZE"))
}

// TestReplicaPartialResync: after its link is killed, a replica continues
// with PSYNC from its offset (+CONTINUE), and gets what it missed.
func TestReplicaPartialResync(t *testing.T) {
	m := testServer(t, nil)
	r := testServer(t, nil)
	mc := testDial(t, m)
	rc := replicaOfTest(t, m, r)
	require.Equal(t, "+OK\r\n", testDo(t, mc, "SET", "a", "1"))
	waitCaughtUp(t, mc, rc)
	// Kill the replica link from the master side.
	require.Equal(t, ":1\r\n", testDo(t, mc, "CLIENT", "KILL", "TYPE", "replica"))
	require.Equal(t, "+OK\r\n", testDo(t, mc, "SET", "b", "2"))
	waitInfoField(t, mc, "sync_partial_ok", "1")
	waitCaughtUp(t, mc, rc)
	require.Equal(t, "$1\r\n2\r\n", testDo(t, rc, "GET", "b"))
	require.Equal(t, "1", infoField(t, mc, "sync_full"))
}

// TestWriteRefusals: min-replicas-to-write refuses writes on a master
// without enough good replicas, inside MULTI too (EXECABORT).
func TestWriteRefusals(t *testing.T) {
	m := testServer(t, func(c *config.Config) { c.MinReplicasToWrite = 1 })
	mc := testDial(t, m)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"SET", "a", "1"}, "-NOREPLICAS Not enough good replicas to write.\r\n"},
		{[]string{"GET", "a"}, "$-1\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"INCR", "a"}, "-NOREPLICAS Not enough good replicas to write.\r\n"},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
		{[]string{"WAIT", "0", "0"}, ":0\r\n"},
		{[]string{"WAIT", "1", "-1"}, "-ERR timeout is negative\r\n"},
		{[]string{"WAIT", "x", "0"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"WAIT", "1", "x"}, "-ERR timeout is not an integer or out of range\r\n"},
	}
	for i, tc := range cases {
		require.Equal(t, tc.want, testDo(t, mc, tc.args...), fmt.Sprint(i, tc.args))
	}
}

// TestReplicaServeStaleDataNo: a replica whose link is down refuses the
// commands without the stale flag (replies compared with redis-server
// 7.0.15 started with --replica-serve-stale-data no --replicaof 127.0.0.1 1).
func TestReplicaServeStaleDataNo(t *testing.T) {
	r := testServer(t, func(c *config.Config) { c.ReplicaServeStaleData = false })
	rc := testDial(t, r)
	require.Equal(t, "+OK\r\n", testDo(t, rc, "REPLICAOF", "127.0.0.1", "1"))
	down := "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"GET", "a"}, down},
		{[]string{"PING"}, down},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"GET", "a"}, down},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
		{[]string{"SET", "a", "1"}, "-READONLY You can't write against a read only replica.\r\n"},
		{[]string{"DBSIZE"}, down},
	}
	for i, tc := range cases {
		require.Equal(t, tc.want, testDo(t, rc, tc.args...), fmt.Sprint(i, tc.args))
	}
	require.Equal(t, "down", infoField(t, rc, "master_link_status"))
}

// TestPromotedReplicaServesPartialResync: after a failover, the other
// replica of the old master continues partially (+CONTINUE) from the
// promoted one, which kept the old replication ID as replid2.
func TestPromotedReplicaServesPartialResync(t *testing.T) {
	m := testServer(t, nil)
	r1 := testServer(t, nil)
	r2 := testServer(t, nil)
	mc := testDial(t, m)
	r1c := replicaOfTest(t, m, r1)
	r2c := replicaOfTest(t, m, r2)
	require.Equal(t, "+OK\r\n", testDo(t, mc, "SET", "a", "1"))
	require.Equal(t, ":2\r\n", testDo(t, mc, "WAIT", "2", "5000"))
	oldID := infoField(t, mc, "master_replid")
	m.Close()

	require.Equal(t, "+OK\r\n", testDo(t, r1c, "REPLICAOF", "NO", "ONE"))
	require.Equal(t, oldID, infoField(t, r1c, "master_replid2"))
	require.Equal(t, "+OK\r\n", testDo(t, r1c, "SET", "b", "2"))
	host, port := splitHostPort(t, r1.Addr().String())
	require.Equal(t, "+OK\r\n", testDo(t, r2c, "REPLICAOF", host, port))
	waitInfoField(t, r2c, "master_link_status", "up")
	waitCaughtUp(t, r1c, r2c)
	require.Equal(t, "$1\r\n2\r\n", testDo(t, r2c, "GET", "b"))
	require.Equal(t, "$1\r\n1\r\n", testDo(t, r2c, "GET", "a"))
	require.Equal(t, "1", infoField(t, r1c, "sync_partial_ok"))
	require.Equal(t, "0", infoField(t, r1c, "sync_full"))
}

// TestWaitBlocksLikeBlockingCommands: a WAIT that has to wait is a blocked
// client (INFO blocked_clients, CLIENT UNBLOCK answers the count reached)
// and does not hold up other clients.
func TestWaitBlocksLikeBlockingCommands(t *testing.T) {
	m := testServer(t, nil)
	r := testServer(t, nil)
	mc := testDial(t, m)
	replicaOfTest(t, m, r)
	require.Equal(t, "+OK\r\n", testDo(t, mc, "SET", "a", "1"))
	id := strings.TrimSpace(strings.TrimPrefix(testDo(t, mc, "CLIENT", "ID"), ":"))
	testSend(t, mc, "WAIT", "2", "0") // only one replica: waits forever
	other := testDial(t, m)
	deadline := time.Now().Add(5 * time.Second)
	for infoField(t, other, "blocked_clients") != "1" {
		require.True(t, time.Now().Before(deadline), "WAIT never blocked")
		time.Sleep(5 * time.Millisecond)
	}
	require.Equal(t, "+PONG\r\n", testDo(t, other, "PING"))
	require.Equal(t, ":1\r\n", testDo(t, other, "CLIENT", "UNBLOCK", id))
	require.Equal(t, ":1\r\n", testRead(t, mc))
}
