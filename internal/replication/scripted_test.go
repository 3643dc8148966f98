package replication

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/rdb"
)

// fakeMaster is a scripted master: the test reads what the replica sends
// and writes the master's bytes itself.
type fakeMaster struct {
	ln    net.Listener
	port  int
	conns chan net.Conn
}

func newFakeMaster(t *testing.T) *fakeMaster {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakeMaster{ln: ln, port: ln.Addr().(*net.TCPAddr).Port, conns: make(chan net.Conn, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(f.conns)
				return
			}
			f.conns <- c
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return f
}

type fakeConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (f *fakeMaster) accept(t *testing.T) *fakeConn {
	t.Helper()
	select {
	case c := <-f.conns:
		t.Cleanup(func() { c.Close() })
		return &fakeConn{t: t, c: c, br: bufio.NewReader(c)}
	case <-time.After(10 * time.Second):
		t.Fatal("the replica did not connect")
	}
	return nil
}

// read returns the next command the replica sent (newlines skipped).
func (f *fakeConn) read() []string {
	f.t.Helper()
	f.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	sr := newStreamReader(f.br)
	sr.inline = true
	for {
		kind, err := sr.next()
		require.NoError(f.t, err)
		if kind != itemCommand {
			continue
		}
		out := make([]string, len(sr.args))
		for i, a := range sr.args {
			out[i] = string(a)
		}
		return out
	}
}

func (f *fakeConn) expect(want ...string) {
	f.t.Helper()
	require.Equal(f.t, want, f.read())
}

func (f *fakeConn) send(s string) {
	f.t.Helper()
	f.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := f.c.Write([]byte(s))
	require.NoError(f.t, err)
}

// handshake answers PING and the REPLCONFs and returns the PSYNC arguments.
func (f *fakeConn) handshake() []string {
	f.t.Helper()
	f.expect("PING")
	f.send("+PONG\r\n")
	f.expect("REPLCONF", "listening-port", "12345")
	f.expect("REPLCONF", "capa", "eof", "capa", "psync2")
	f.send("+OK\r\n+OK\r\n")
	return f.read()
}

// encodeRDB returns an RDB with the given string keys in db 0.
func encodeRDB(t *testing.T, kv map[string]string, streamDB int) []byte {
	var b bytes.Buffer
	enc := rdb.NewEncoder(&b, nil)
	require.NoError(t, enc.WriteHeader(&rdb.Header{Repl: &rdb.ReplInfo{StreamDB: streamDB, ID: strings.Repeat("a", 40), Offset: 1000}}))
	require.NoError(t, enc.SelectDB(0, uint64(len(kv)), 0))
	for k, v := range kv {
		require.NoError(t, enc.WriteEntry(&rdb.Entry{Key: []byte(k), Value: rdb.Value{Kind: rdb.KindString, Str: []byte(v)}}))
	}
	require.NoError(t, enc.Close())
	return b.Bytes()
}

func cmd(a ...string) string { return string(AppendCommand(nil, args(a...))) }

func TestReplicaScripted(t *testing.T) {
	fm := newFakeMaster(t)
	ds := newMemDataset()
	ds.dbs[0]["old"] = &memEntry{v: rdb.Value{Kind: rdb.KindString, Str: []byte("data")}}
	r := newTestReplica(t, ds, fm.port, func(c *ReplicaConfig) { c.AckPeriod = time.Hour })
	ownID := r.Master().ReplID()
	idA := strings.Repeat("a", 40)
	idB := strings.Repeat("b", 40)
	get := func(db int, k string) string {
		ds.mu.Lock()
		defer ds.mu.Unlock()
		if e := ds.dbs[db][k]; e != nil {
			return string(e.v.Str)
		}
		return "<nil>"
	}

	// 1. A fresh node PSYNCs with its own ID and offset+1; the RDB is
	// corrupt (bad checksum): the staged data is dropped, the old data
	// stays, and the cached master is discarded.
	c := fm.accept(t)
	require.Equal(t, []string{"PSYNC", ownID, "1"}, c.handshake())
	payload := encodeRDB(t, map[string]string{"k1": "v1", "k2": "v2"}, 0)
	bad := append([]byte(nil), payload...)
	bad[len(bad)-1] ^= 0xff
	c.send("\n\n+FULLRESYNC " + idA + " 1000\r\n\n\n$" + strconv.Itoa(len(bad)) + "\r\n")
	c.send(string(bad))
	eventually(t, 10*time.Second, "aborted load", func() bool { _, _, aborts := ds.counts(); return aborts == 1 })
	require.Equal(t, "data", get(0, "old"))

	// 2. Retry with PSYNC ? -1; diskless EOF form delivered in two parts:
	// while loading, the old data stays visible.
	c = fm.accept(t)
	require.Equal(t, []string{"PSYNC", "?", "-1"}, c.handshake())
	mark := strings.Repeat("m", 40)
	payload = encodeRDB(t, map[string]string{"k1": "v1", "k2": "v2"}, 3)
	c.send("+FULLRESYNC " + idA + " 1000\r\n$EOF:" + mark + "\r\n" + string(payload[:20]))
	eventually(t, 10*time.Second, "transfer state", func() bool {
		ri := r.Info()
		return ri.SyncInProgress && ri.SyncReadBytes >= 20
	})
	ri := r.Info()
	require.Equal(t, StateTransfer, ri.State)
	require.Equal(t, int64(0), ri.SyncTotalBytes)
	require.Equal(t, "data", get(0, "old"))
	c.send(string(payload[20:]) + mark)
	// The first ACK, right after loading, starts the stream.
	c.expect("REPLCONF", "ACK", "1000")
	require.Equal(t, "<nil>", get(0, "old"))
	require.Equal(t, "v1", get(0, "k1"))
	ri = r.Info()
	require.True(t, ri.LinkUp)
	require.Equal(t, idA, ri.MasterReplID)
	require.Equal(t, int64(1000), ri.ReplOffset)

	// 3. The stream: repl-stream-db (3) is the initial db; keepalives do
	// not count; a transaction counts at EXEC; GETACK reports the offset
	// before itself.
	off := int64(1000)
	s := cmd("SET", "in3", "x")
	c.send(s + "\n")
	off += int64(len(s))
	tx := cmd("MULTI") + cmd("SET", "b", "2") + cmd("SELECT", "0") + cmd("INCR", "c") + cmd("EXEC")
	c.send(tx)
	off += int64(len(tx))
	getack := cmd("REPLCONF", "GETACK", "*")
	c.send(getack)
	c.expect("REPLCONF", "ACK", strconv.FormatInt(off, 10))
	off += int64(len(getack))
	s = cmd("SET", "d", "4") + cmd("ping")
	c.send(s + getack)
	off += int64(len(s))
	c.expect("REPLCONF", "ACK", strconv.FormatInt(off, 10))
	off += int64(len(getack))
	require.Equal(t, "x", get(3, "in3"))
	require.Equal(t, "2", get(3, "b"))
	require.Equal(t, "1", get(0, "c"))
	require.Equal(t, "4", get(0, "d"), "the SELECT inside EXEC stays in effect")
	require.Equal(t, 1, ds.txs)
	require.Equal(t, off, r.Info().ReplOffset)
	require.Equal(t, off, r.Master().Offset(), "proxied to our backlog")

	// 4. The link drops inside a transaction: the partial transaction is
	// not counted, the PSYNC continues from before MULTI, and the master
	// announces a new ID.
	s = cmd("SELECT", "5") + cmd("SET", "e", "5")
	c.send(s + cmd("MULTI") + cmd("SET", "lost", "1"))
	off += int64(len(s))
	eventually(t, 10*time.Second, "SET e", func() bool { return get(5, "e") == "5" })
	c.c.Close()
	c = fm.accept(t)
	require.Equal(t, []string{"PSYNC", idA, strconv.FormatInt(off+1, 10)}, c.handshake())
	c.send("+CONTINUE " + idB + "\r\n")
	s = cmd("SET", "f", "6")
	c.send(s + getack)
	off += int64(len(s))
	c.expect("REPLCONF", "ACK", strconv.FormatInt(off, 10))
	off += int64(len(getack))
	require.Equal(t, "6", get(5, "f"), "the db survives the reconnection")
	require.Equal(t, "<nil>", get(5, "lost"))
	mi := r.Master().Info()
	require.Equal(t, idB, mi.ReplID)
	require.Equal(t, idA, mi.ReplID2)
	require.Equal(t, off-int64(len(s)+len(getack))+1, mi.SecondOffset)
	require.Equal(t, idB, r.Info().MasterReplID)

	// 5. Plain +CONTINUE keeps the ID.
	c.c.Close()
	c = fm.accept(t)
	require.Equal(t, []string{"PSYNC", idB, strconv.FormatInt(off+1, 10)}, c.handshake())
	c.send("+CONTINUE\r\n" + getack)
	c.expect("REPLCONF", "ACK", strconv.FormatInt(off, 10))
	off += int64(len(getack))
	require.Equal(t, idB, r.Master().ReplID())

	// 6. A protocol error discards the cached master: next is PSYNC ? -1.
	c.send("GARBAGE\r\n")
	c = fm.accept(t)
	require.Equal(t, []string{"PSYNC", "?", "-1"}, c.handshake())
	// -NOMASTERLINK: retry later.
	c.send("-NOMASTERLINK Can't SYNC while not connected with my master\r\n")
	c = fm.accept(t)
	require.Equal(t, []string{"PSYNC", "?", "-1"}, c.handshake())
	// An unknown PSYNC: fall back to SYNC and the $<len> form.
	c.send("-ERR unknown command 'PSYNC'\r\n")
	c.expect("SYNC")
	payload = encodeRDB(t, map[string]string{"s": "1"}, 0)
	c.send("$" + strconv.Itoa(len(payload)) + "\r\n" + string(payload) + cmd("SELECT", "0") + cmd("SET", "after-sync", "1"))
	eventually(t, 10*time.Second, "stream after SYNC", func() bool { return get(0, "after-sync") == "1" })
	require.Equal(t, "1", get(0, "s"))
	require.Equal(t, "<nil>", get(0, "k1"))
	begins, swaps, aborts := ds.counts()
	require.Equal(t, []int{3, 2, 1}, []int{begins, swaps, aborts})
	require.Empty(t, ds.unknown)

}

// TestReplicaTimeout checks that a silent master is dropped after
// repl-timeout and that the cached master is kept for PSYNC.
func TestReplicaTimeout(t *testing.T) {
	fm := newFakeMaster(t)
	ds := newMemDataset()
	r := newTestReplica(t, ds, fm.port, func(c *ReplicaConfig) {
		c.Timeout = 300 * time.Millisecond
		c.AckPeriod = time.Hour
	})
	c := fm.accept(t)
	c.handshake()
	payload := encodeRDB(t, map[string]string{"a": "1"}, 0)
	id := strings.Repeat("c", 40)
	c.send("+FULLRESYNC " + id + " 7\r\n$" + strconv.Itoa(len(payload)) + "\r\n" + string(payload))
	eventually(t, 10*time.Second, "link up", func() bool { return r.Info().LinkUp })
	// No data: the replica gives up and PSYNCs again.
	c = fm.accept(t)
	require.Equal(t, []string{"PSYNC", id, "8"}, c.handshake())
	ri := r.Info()
	require.False(t, ri.LinkUp)
	require.GreaterOrEqual(t, ri.LinkDownSinceSeconds, int64(0))
	require.Equal(t, int64(7), ri.ReplOffset)
	require.Equal(t, int64(-1), ri.RoleOffset)
}

// TestReplicaOfNode runs both sides of this package against each other.
func TestReplicaOfNode(t *testing.T) {
	for _, diskless := range []bool{false, true} {
		cfg := DefaultMasterConfig()
		cfg.Diskless = diskless
		cfg.TempDir = t.TempDir()
		n := newTestNode(t, cfg)
		populateNode(n, 5000)
		ds := newMemDataset()
		r := newTestReplica(t, ds, n.port, nil)
		eventually(t, 30*time.Second, "link up", func() bool { return r.Info().LinkUp })
		requireSameData(t, n.ds.describeAll(), ds.describeAll())
		require.Equal(t, []string{testLibrary}, ds.funcs)
		nodeWrites(n, "live")
		eventually(t, 30*time.Second, "caught up", func() bool { return r.Info().ReplOffset == n.m.Offset() })
		requireSameData(t, n.ds.describeAll(), ds.describeAll())
		// Drop every replica link: the replica continues partially.
		n.m.DisconnectReplicas()
		nodeWrites(n, "during")
		eventually(t, 30*time.Second, "partial resync", func() bool { return n.m.Stats().PartialOK == 1 })
		eventually(t, 30*time.Second, "caught up", func() bool { return r.Info().ReplOffset == n.m.Offset() })
		requireSameData(t, n.ds.describeAll(), ds.describeAll())
		eventually(t, 10*time.Second, "ACK", func() bool {
			mi := n.m.Info()
			return len(mi.Replicas) == 1 && mi.Replicas[0].Offset == n.m.Offset() && mi.Replicas[0].Port == 12345
		})
		require.Empty(t, ds.unknown)
		r.Close()
	}
}
