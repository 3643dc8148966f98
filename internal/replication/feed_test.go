package replication

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/rdb"
)

func args(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

// backlogString returns the whole backlog content.
func backlogString(m *Master) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backlog == nil {
		return ""
	}
	b, _ := m.backlog.AppendFrom(nil, m.backlog.FirstByteOffset())
	return string(b)
}

// withBacklog creates the backlog as the first attaching replica would.
func withBacklog(m *Master) {
	m.mu.Lock()
	m.backlog = NewBacklog(m.cfg.BacklogSize, m.offset)
	m.updateFeeding()
	m.mu.Unlock()
}

func TestAppendCommand(t *testing.T) {
	require.Equal(t, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", string(AppendCommand(nil, args("SET", "k", ""))))
	require.Equal(t, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n", string(appendSelect(nil, 0)))
	require.Equal(t, "*2\r\n$6\r\nSELECT\r\n$2\r\n15\r\n", string(appendSelect(nil, 15)))
	require.Equal(t, "*1\r\n$4\r\nping\r\n", string(pingCmd))
	require.Equal(t, "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n", string(getackCmd))
	require.Equal(t, "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$4\r\n1056\r\n", string(ackCommand(1056)))
}

func TestFeedSelectAndOffsets(t *testing.T) {
	m := NewMaster(DefaultMasterConfig(), nil, zerolog.Nop())
	defer m.Close()
	// No backlog: nothing is recorded and the offset does not move.
	require.Equal(t, int64(0), m.Feed(0, args("SET", "a", "1")))
	require.Equal(t, "", backlogString(m))

	withBacklog(m)
	set := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
	sel0 := "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
	sel3 := "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"
	off := m.Feed(0, args("SET", "k", "v"))
	require.Equal(t, sel0+set, backlogString(m))
	require.Equal(t, int64(len(sel0+set)), off)
	m.Feed(0, args("SET", "k", "v")) // same db: no SELECT
	m.Feed(3, args("SET", "k", "v"))
	require.Equal(t, sel0+set+set+sel3+set, backlogString(m))
	// PING and GETACK use the current db of the stream.
	m.mu.Lock()
	m.links = append(m.links, &link{}) // RequestAck needs a replica
	m.mu.Unlock()
	m.RequestAck()
	m.RequestAck() // coalesced: nothing fed in between
	m.mu.Lock()
	m.feedRawCmd(-1, pingCmd)
	m.links = nil
	m.mu.Unlock()
	require.Equal(t, sel0+set+set+sel3+set+string(getackCmd)+string(pingCmd), backlogString(m))
	require.Equal(t, int64(len(backlogString(m))), m.Offset())

	// MULTI/EXEC wrapping: MULTI in the first op's db, EXEC in the last's.
	before := len(backlogString(m))
	m.FeedMulti([]Op{{DB: 5, Args: args("INCR", "x")}, {DB: 3, Args: args("DEL", "y")}})
	got := backlogString(m)[before:]
	want := "*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n" + string(multiCmd) +
		"*2\r\n$4\r\nINCR\r\n$1\r\nx\r\n" + sel3 + "*2\r\n$3\r\nDEL\r\n$1\r\ny\r\n" + string(execCmd)
	require.Equal(t, want, got)
	// A single op is not wrapped.
	before = len(backlogString(m))
	m.FeedMulti([]Op{{DB: 3, Args: args("DEL", "z")}})
	require.Equal(t, "*2\r\n$3\r\nDEL\r\n$1\r\nz\r\n", backlogString(m)[before:])
}

func TestReplicaModeAndIDs(t *testing.T) {
	m := NewMaster(DefaultMasterConfig(), nil, zerolog.Nop())
	defer m.Close()
	withBacklog(m)
	m.Feed(0, args("SET", "a", "1"))
	id, off := m.ReplID(), m.Offset()
	require.Len(t, id, 40)

	gotID, gotOff, _ := m.BecomeReplica()
	require.Equal(t, id, gotID)
	require.Equal(t, off, gotOff)
	// Feed is a no-op in replica mode; FeedRaw proxies.
	require.Equal(t, off, m.Feed(0, args("SET", "b", "2")))
	m.FeedRaw([]byte("*1\r\n$4\r\nping\r\n"))
	require.Equal(t, off+14, m.Offset())
	msg, _ := m.CheckSync(args("PSYNC", "?", "-1"), &LinkConf{})
	require.Equal(t, "NOMASTERLINK Can't SYNC while not connected with my master", msg)

	// Full sync with a new master: its ID, no replid2.
	newID := strings.Repeat("f", 40)
	m.attachToNewMaster(newID, 5000)
	mi := m.Info()
	require.Equal(t, newID, mi.ReplID)
	require.Equal(t, ZeroReplID, mi.ReplID2)
	require.Equal(t, int64(-1), mi.SecondOffset)
	require.Equal(t, int64(5000), mi.Offset)
	require.Equal(t, int64(5001), mi.BacklogFirstByte)
	require.True(t, mi.BacklogActive)

	// +CONTINUE with a new ID: the old one becomes replid2.
	m.FeedRaw([]byte("0123456789"))
	newer := strings.Repeat("e", 40)
	m.continueWithMaster(newID, newer, 5010)
	mi = m.Info()
	require.Equal(t, newer, mi.ReplID)
	require.Equal(t, newID, mi.ReplID2)
	require.Equal(t, int64(5011), mi.SecondOffset)

	// Promotion: shiftReplicationId.
	m.BecomeMaster()
	mi = m.Info()
	require.False(t, mi.ReplicaMode)
	require.Equal(t, newer, mi.ReplID2)
	require.Equal(t, int64(5011), mi.SecondOffset)
	require.NotEqual(t, newer, mi.ReplID)
	// The next command starts with SELECT.
	before := len(backlogString(m))
	m.Feed(0, args("SET", "k", "v"))
	require.True(t, strings.HasPrefix(backlogString(m)[before:], "*2\r\n$6\r\nSELECT"))
	// PSYNC with the old ID up to second offset continues.
	d := DecidePSYNC(newer, 5011, true, m.psyncState())
	require.True(t, d.Partial)
	require.Equal(t, "+CONTINUE "+mi.ReplID+"\r\n", d.Reply)
}

func (m *Master) psyncState() PsyncState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.psyncStateLocked()
}

func TestRestoreReplInfo(t *testing.T) {
	id := strings.Repeat("d", 40)
	m := NewMaster(DefaultMasterConfig(), nil, zerolog.Nop())
	defer m.Close()
	m.RestoreReplInfo(&rdb.ReplInfo{StreamDB: 4, ID: id, Offset: 500}, true)
	gotID, off, db := m.BecomeReplica()
	require.Equal(t, []any{id, int64(500), 4}, []any{gotID, off, db})

	m2 := NewMaster(DefaultMasterConfig(), nil, zerolog.Nop())
	defer m2.Close()
	m2.RestoreReplInfo(&rdb.ReplInfo{StreamDB: 0, ID: id, Offset: 500}, false)
	mi := m2.Info()
	require.Equal(t, id, mi.ReplID2)
	require.Equal(t, int64(501), mi.SecondOffset)
	require.Equal(t, int64(500), mi.Offset)
	require.Equal(t, int64(501), mi.BacklogFirstByte)
	// A replica restarted with the same data continues with us.
	d := DecidePSYNC(id, 501, true, m2.psyncState())
	require.True(t, d.Partial)
	require.Equal(t, "+CONTINUE "+mi.ReplID+"\r\n", d.Reply)
}

func TestCheckSync(t *testing.T) {
	m := NewMaster(DefaultMasterConfig(), nil, zerolog.Nop())
	defer m.Close()
	lc := &LinkConf{}
	msg, fo := m.CheckSync(args("PSYNC", "?", "abc"), lc)
	require.Equal(t, "ERR value is not an integer or out of range", msg)
	require.False(t, fo)
	msg, _ = m.CheckSync(args("PSYNC", m.ReplID(), "5", "FAILOVER"), lc)
	require.Equal(t, "ERR PSYNC FAILOVER can't be sent to a master.", msg)
	msg, _ = m.CheckSync(args("SYNC"), &LinkConf{ExcludeData: true})
	require.Equal(t, "ERR Filtered replica requires EOF capability", msg)
	msg, _ = m.CheckSync(args("PSYNC", "?", "-1"), lc)
	require.Equal(t, "", msg)
	m.BecomeReplica()
	msg, fo = m.CheckSync(args("PSYNC", m.ReplID(), "5", "failover"), lc)
	require.Equal(t, "", msg)
	require.True(t, fo)
	msg, _ = m.CheckSync(args("PSYNC", strings.Repeat("1", 40), "5", "failover"), lc)
	require.Equal(t, "ERR PSYNC FAILOVER replid must match my replid.", msg)
	m.setLinkUp(true)
	msg, _ = m.CheckSync(args("PSYNC", "?", "-1"), lc)
	require.Equal(t, "", msg)
}

func TestWaitAcksBookkeeping(t *testing.T) {
	m := NewMaster(DefaultMasterConfig(), nil, zerolog.Nop())
	defer m.Close()
	withBacklog(m)
	l1 := &link{m: m, state: linkOnline, ackOff: 100, ackTime: time.Now(), wake: make(chan struct{}, 1)}
	l2 := &link{m: m, state: linkOnline, ackOff: 50, ackTime: time.Now().Add(-20 * time.Second), wake: make(chan struct{}, 1)}
	l3 := &link{m: m, state: linkWaitBgsaveEnd, ackOff: 1000, wake: make(chan struct{}, 1)}
	m.mu.Lock()
	m.links = []*link{l1, l2, l3}
	m.mu.Unlock()
	require.Equal(t, 2, m.AckCount(50))
	require.Equal(t, 1, m.AckCount(51))
	require.Equal(t, 0, m.AckCount(101))
	require.Equal(t, 1, m.GoodReplicas(10))
	require.Equal(t, 2, m.GoodReplicas(30))

	// A waiter is woken by an ACK.
	res := make(chan int, 1)
	go func() { res <- m.WaitAcks(context.Background(), 200, 2) }()
	// WAIT asks for ACKs with REPLCONF GETACK.
	require.Eventually(t, func() bool { return strings.HasSuffix(backlogString(m), string(getackCmd)) }, 5*time.Second, time.Millisecond)
	l1.replconf(args("REPLCONF", "ACK", "200"))
	select {
	case n := <-res:
		t.Fatalf("WAIT returned %d early", n)
	default:
	}
	l2.replconf(args("REPLCONF", "ACK", "250"))
	require.Equal(t, 2, <-res)
	// ACKs never go backwards.
	l1.replconf(args("REPLCONF", "ACK", "10"))
	require.Equal(t, 2, m.AckCount(200))
	// The deadline ends a wait with the count reached.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.Equal(t, 1, m.WaitAcks(ctx, 250, 3))
	m.mu.Lock()
	m.links = nil // fake links have no connection to close
	m.mu.Unlock()
}

// TestFeedDeferredWake checks that FeedMultiDeferred leaves a streaming
// replica's writer asleep until Flush (or the cron), that Feed wakes it
// at once, and that the stream's bytes are the same either way.
func TestFeedDeferredWake(t *testing.T) {
	set := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
	sel0 := "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
	woken := func(l *link) bool {
		select {
		case <-l.wake:
			return true
		default:
			return false
		}
	}
	tests := []struct {
		name      string
		feed      func(m *Master)
		wokenNow  bool // right after the feed
		flush     func(m *Master)
		wokenThen bool // after flush
	}{
		{"deferred then Flush", func(m *Master) { m.FeedMultiDeferred([]Op{{DB: 0, Args: args("SET", "k", "v")}}) }, false,
			func(m *Master) { m.Flush() }, true},
		{"deferred then cron", func(m *Master) { m.FeedMultiDeferred([]Op{{DB: 0, Args: args("SET", "k", "v")}}) }, false,
			func(m *Master) { m.cron(time.Now(), 1) }, true},
		{"immediate", func(m *Master) { m.FeedMulti([]Op{{DB: 0, Args: args("SET", "k", "v")}}) }, true,
			func(m *Master) { m.Flush() }, false},
		{"deferred over the limit", func(m *Master) {
			m.FeedMultiDeferred([]Op{{DB: 0, Args: args("SET", "k", strings.Repeat("x", deferWakeLimit))}})
		}, true, func(m *Master) { m.Flush() }, true}, // the SELECT before it was deferred: a spare wake
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMaster(DefaultMasterConfig(), nil, zerolog.Nop())
			defer m.Close()
			withBacklog(m)
			l := &link{m: m, streaming: true, accumulate: true, wake: make(chan struct{}, 1), done: make(chan struct{})}
			m.mu.Lock()
			m.links = append(m.links, l)
			m.mu.Unlock()
			defer func() { // before Close: the link has no connection
				m.mu.Lock()
				m.links = nil
				m.mu.Unlock()
			}()
			tc.feed(m)
			require.Equal(t, tc.wokenNow, woken(l))
			tc.flush(m)
			require.Equal(t, tc.wokenThen, woken(l))
			require.False(t, m.flushPending.Load())
			m.mu.Lock()
			out := string(l.out)
			m.mu.Unlock()
			require.Equal(t, backlogString(m), out)
			if len(out) < deferWakeLimit {
				require.Equal(t, sel0+set, out)
			}
		})
	}
}

// TestFlushDirectWrite checks that Flush writes a deferred feed to the
// replica's socket itself, and that the writer goroutine takes over when
// the direct write cannot be made (here: a write deadline in the past).
func TestFlushDirectWrite(t *testing.T) {
	tests := []struct {
		name         string
		pastDeadline bool
	}{
		{"direct", false},
		{"writer takes over", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			conn, err := net.Dial("tcp", ln.Addr().String())
			require.NoError(t, err)
			peer, err := ln.Accept()
			require.NoError(t, err)
			defer peer.Close()

			m := NewMaster(DefaultMasterConfig(), nil, zerolog.Nop())
			defer m.Close()
			withBacklog(m)
			l := newLink(m, conn, LinkConf{}, false)
			require.NotNil(t, l.raw)
			l.streaming, l.accumulate = true, true
			m.mu.Lock()
			m.links = append(m.links, l)
			m.mu.Unlock()
			go l.writeLoop()
			if tc.pastDeadline {
				require.NoError(t, conn.SetWriteDeadline(time.Now().Add(-time.Second)))
			}
			m.FeedMultiDeferred([]Op{{DB: 0, Args: args("SET", "k", "v")}})
			m.FeedMultiDeferred([]Op{{DB: 0, Args: args("SET", "k2", "v2")}})
			m.Flush()
			want := backlogString(m)
			got := make([]byte, len(want))
			require.NoError(t, peer.SetReadDeadline(time.Now().Add(10*time.Second)))
			_, err = io.ReadFull(peer, got)
			require.NoError(t, err)
			require.Equal(t, want, string(got))
			// The writer clears writing just after its write returns.
			require.Eventually(t, func() bool {
				m.mu.Lock()
				defer m.mu.Unlock()
				return !l.writing && len(l.out) == 0
			}, 10*time.Second, time.Millisecond)
		})
	}
}
