package replication

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/resp"
)

// fakeLink returns a link attached to m over an in-memory connection.
func fakeLink(t *testing.T, m *Master, state linkState) *link {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	l := newLink(m, a, LinkConf{ListeningPort: 7000}, false)
	l.state = state
	l.accumulate = state != linkWaitBgsaveStart
	m.mu.Lock()
	m.links = append(m.links, l)
	m.mu.Unlock()
	return l
}

func closed(l *link) bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func TestCron(t *testing.T) {
	m := NewMaster(DefaultMasterConfig(), nil, zerolog.Nop())
	defer m.Close()
	withBacklog(m)
	now := time.Now()

	// PING every repl-ping-replica-period (10 loops), only with replicas.
	m.cron(now, 0)
	require.Equal(t, "", backlogString(m))
	l := fakeLink(t, m, linkOnline)
	m.cron(now, 0)
	require.Equal(t, string(pingCmd), backlogString(m))
	require.Equal(t, string(pingCmd), string(l.out), "the PING goes to the replica too")
	m.cron(now, 1)
	require.Equal(t, string(pingCmd), backlogString(m))
	cfg := m.Config()
	cfg.PingPaused = func() bool { return true }
	m.SetConfig(cfg)
	m.cron(now, 10)
	require.Equal(t, string(pingCmd), backlogString(m))

	// Replicas that stopped acknowledging are dropped after repl-timeout;
	// SYNC replicas never ACK and are kept.
	old := fakeLink(t, m, linkOnline)
	pre := fakeLink(t, m, linkOnline)
	pre.prePSYNC = true
	m.mu.Lock()
	old.ackTime = now.Add(-61 * time.Second)
	pre.ackTime = now.Add(-61 * time.Second)
	m.mu.Unlock()
	m.cron(now, 1)
	require.True(t, closed(old))
	require.False(t, closed(pre))
	require.False(t, closed(l))

	// The backlog is freed after repl-backlog-ttl without replicas, with a
	// new replication ID.
	m.mu.Lock()
	m.links = nil
	m.noReplicas = now.Add(-2 * time.Hour)
	m.mu.Unlock()
	id := m.ReplID()
	m.cron(now, 1)
	mi := m.Info()
	require.False(t, mi.BacklogActive)
	require.NotEqual(t, id, mi.ReplID)
	require.Equal(t, int64(0), mi.BacklogFirstByte)
	off := m.Offset()
	require.Equal(t, off, m.Feed(0, args("SET", "a", "b")), "no backlog: nothing fed")
}

func TestOutputLimits(t *testing.T) {
	cfg := DefaultMasterConfig()
	cfg.HardLimit = 1000
	cfg.SoftLimit = 100
	cfg.SoftDuration = 50 * time.Millisecond
	m := NewMaster(cfg, nil, zerolog.Nop())
	defer m.Close()
	withBacklog(m)
	// A replica waiting for its RDB accumulates the stream: over the hard
	// limit it is dropped.
	hard := fakeLink(t, m, linkWaitBgsaveEnd)
	m.Feed(0, args("SET", "k", strings.Repeat("x", 2000)))
	eventually(t, 5*time.Second, "hard limit", func() bool { return closed(hard) })
	// Over the soft limit for longer than its duration.
	soft := fakeLink(t, m, linkWaitBgsaveEnd)
	m.Feed(0, args("SET", "k", strings.Repeat("x", 150)))
	require.False(t, closed(soft))
	time.Sleep(60 * time.Millisecond) // the soft limit is about elapsed time
	m.Feed(0, args("SET", "k", "v"))
	eventually(t, 5*time.Second, "soft limit", func() bool { return closed(soft) })
}

func TestSetConfigResizesBacklog(t *testing.T) {
	m := NewMaster(DefaultMasterConfig(), nil, zerolog.Nop())
	defer m.Close()
	withBacklog(m)
	m.Feed(0, args("SET", "k", strings.Repeat("x", 100000)))
	cfg := m.Config()
	cfg.BacklogSize = 1 // clamped to the 16 KB minimum
	m.SetConfig(cfg)
	mi := m.Info()
	require.Equal(t, int64(MinBacklogSize), mi.BacklogSize)
	require.Equal(t, int64(MinBacklogSize), mi.BacklogHistLen)
	require.Equal(t, mi.Offset-MinBacklogSize+1, mi.BacklogFirstByte)
}

func TestAppendInfo(t *testing.T) {
	mi := MasterInfo{ReplID: strings.Repeat("a", 40), ReplID2: ZeroReplID, Offset: 100, SecondOffset: -1,
		BacklogActive: true, BacklogSize: 1048576, BacklogFirstByte: 1, BacklogHistLen: 100,
		Replicas: []AttachedReplica{{IP: "127.0.0.1", Port: 6380, State: "online", Offset: 100, Lag: 1},
			{IP: "10.0.0.1", Port: 6381, State: ""}, {IP: "10.0.0.2", Port: 6382, State: "wait_bgsave"}}}
	got := string(AppendInfo(nil, &mi, nil, InfoOptions{MinReplicasToWrite: 1, MinReplicasMaxLag: 10}))
	require.Equal(t, "# Replication\r\nrole:master\r\nconnected_slaves:3\r\nmin_slaves_good_slaves:1\r\n"+
		"slave0:ip=127.0.0.1,port=6380,state=online,offset=100,lag=1\r\n"+
		"slave1:ip=10.0.0.2,port=6382,state=wait_bgsave,offset=0,lag=0\r\n"+
		"master_failover_state:no-failover\r\nmaster_replid:"+mi.ReplID+"\r\nmaster_replid2:"+ZeroReplID+"\r\n"+
		"master_repl_offset:100\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:1\r\nrepl_backlog_size:1048576\r\n"+
		"repl_backlog_first_byte_offset:1\r\nrepl_backlog_histlen:100\r\n", got)
	ri := ReplicaInfo{Host: "h", Port: 1, SyncInProgress: true, LastIOSecondsAgo: -1, ReadReplOffset: 1, ReplOffset: 1,
		SyncTotalBytes: 200, SyncReadBytes: 50, LinkDownSinceSeconds: 5}
	got = string(AppendInfo(nil, &MasterInfo{ReplID2: ZeroReplID}, &ri, InfoOptions{ReplicaPriority: 100, ReplicaReadOnly: true}))
	require.Contains(t, got, "role:slave\r\nmaster_host:h\r\nmaster_port:1\r\nmaster_link_status:down\r\n"+
		"master_last_io_seconds_ago:-1\r\nmaster_sync_in_progress:1\r\nslave_read_repl_offset:1\r\nslave_repl_offset:1\r\n"+
		"master_sync_total_bytes:200\r\nmaster_sync_read_bytes:50\r\nmaster_sync_left_bytes:150\r\nmaster_sync_perc:25.00\r\n"+
		"master_sync_last_io_seconds_ago:0\r\nmaster_link_down_since_seconds:5\r\nslave_priority:100\r\nslave_read_only:1\r\n"+
		"replica_announced:0\r\nconnected_slaves:0\r\n")
}

func TestWriteRole(t *testing.T) {
	w := resp.NewWriter()
	WriteRole(w, &MasterInfo{Offset: 42, Replicas: []AttachedReplica{
		{IP: "127.0.0.1", Port: 6380, State: "online", Offset: 40}, {IP: "x", Port: 1, State: "wait_bgsave"}}}, nil)
	require.Equal(t, "*3\r\n$6\r\nmaster\r\n:42\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n$2\r\n40\r\n", string(w.Buf))
	w.Reset()
	WriteRole(w, nil, &ReplicaInfo{Host: "h", Port: 6379, State: StateConnected, RoleOffset: 99})
	require.Equal(t, "*5\r\n$5\r\nslave\r\n$1\r\nh\r\n:6379\r\n$9\r\nconnected\r\n:99\r\n", string(w.Buf))
}
