package replication

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/rdb"
)

// testNode is a minimal server built from this package: a RESP listener
// answering PING, AUTH, REPLCONF, SYNC and PSYNC, a memDataset and a
// Master fed by write().
type testNode struct {
	t    *testing.T
	ds   *memDataset
	m    *Master
	ln   net.Listener
	port int
}

func newTestNode(t *testing.T, cfg MasterConfig) *testNode {
	log, _ := testLog(t, "node")
	ds := newMemDataset()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	n := &testNode{t: t, ds: ds, m: NewMaster(cfg, ds.snapshot, log), ln: ln, port: ln.Addr().(*net.TCPAddr).Port}
	go n.accept()
	t.Cleanup(func() {
		ln.Close()
		n.m.Close()
	})
	return n
}

func (n *testNode) accept() {
	for {
		c, err := n.ln.Accept()
		if err != nil {
			return
		}
		go n.handle(c)
	}
}

func (n *testNode) handle(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	sr := newStreamReader(br)
	sr.inline = true
	var lc LinkConf
	for {
		kind, err := sr.next()
		if err != nil {
			return
		}
		if kind != itemCommand {
			continue
		}
		a := make([][]byte, len(sr.args))
		for i, x := range sr.args {
			a[i] = cp(x)
		}
		reply := "+OK\r\n"
		switch strings.ToLower(string(a[0])) {
		case "ping":
			reply = "+PONG\r\n"
		case "auth":
		case "replconf":
			msg, noReply := lc.Replconf(a)
			switch {
			case msg != "":
				reply = "-" + msg + "\r\n"
			case noReply:
				reply = ""
			}
		case "sync", "psync":
			if msg, _ := n.m.CheckSync(a, &lc); msg != "" {
				reply = "-" + msg + "\r\n"
				break
			}
			pending, _ := br.Peek(br.Buffered())
			n.m.Serve(conn, pending, lc, a)
			return
		default:
			reply = "-ERR unknown command '" + string(a[0]) + "'\r\n"
		}
		if _, err := conn.Write([]byte(reply)); err != nil {
			return
		}
	}
}

// write applies a command to the dataset and feeds it, atomically with
// respect to snapshots.
func (n *testNode) write(db int, a ...string) int64 {
	n.ds.mu.Lock()
	defer n.ds.mu.Unlock()
	n.ds.applyLocked(db, args(a...))
	return n.m.Feed(db, args(a...))
}

// writeMulti applies and feeds ops as a MULTI/EXEC block.
func (n *testNode) writeMulti(ops ...Op) int64 {
	n.ds.mu.Lock()
	defer n.ds.mu.Unlock()
	for _, op := range ops {
		n.ds.applyLocked(op.DB, op.Args)
	}
	return n.m.FeedMulti(ops)
}

// populateNode fills the node's dataset with every type.
func populateNode(n *testNode, keys int) {
	for i := 0; i < keys; i++ {
		k := "k:" + strconv.Itoa(i)
		switch i % 6 {
		case 0:
			n.write(0, "SET", k, strconv.Itoa(i))
		case 1:
			n.write(0, "SET", k, "value-"+strconv.Itoa(i), "PXAT", strconv.Itoa(4102444800000+i))
		case 2:
			n.write(0, "RPUSH", k, "a", "b", strconv.Itoa(i))
		case 3:
			n.write(0, "HSET", k, "f", "v", "n", strconv.Itoa(i))
		case 4:
			n.write(0, "SADD", k, "1", "2", strconv.Itoa(i))
		default:
			n.write(0, "ZADD", k, "1.5", "a", strconv.Itoa(i), "b")
		}
	}
	big := strings.Repeat("0123456789abcdef", 80000) // 1.28 MB
	n.write(0, "SET", "big", big)
	hb := []string{"HSET", "h:big"}
	for i := 0; i < 600; i++ {
		hb = append(hb, "field-"+strconv.Itoa(i), strings.Repeat("v", i%100))
	}
	n.write(0, hb...)
	n.write(0, "ZADD", "z:inf", "inf", "top", "-inf", "bottom")
	n.write(3, "SET", "db3", "three")
	n.ds.mu.Lock()
	n.ds.funcs = []string{testLibrary}
	st := &rdb.Stream{
		Entries: []rdb.StreamEntry{
			{ID: rdb.StreamID{Ms: 1, Seq: 0}, Fields: [][]byte{[]byte("f"), []byte("v")}},
			{ID: rdb.StreamID{Ms: 2, Seq: 5}, Fields: [][]byte{[]byte("f"), []byte("w")}},
		},
		LastID:       rdb.StreamID{Ms: 2, Seq: 5},
		FirstID:      rdb.StreamID{Ms: 1, Seq: 0},
		EntriesAdded: 2,
		Groups: []rdb.StreamGroup{{
			Name: []byte("g"), LastID: rdb.StreamID{Ms: 1, Seq: 0}, EntriesRead: 1,
			Pending:   []rdb.StreamPending{{ID: rdb.StreamID{Ms: 1, Seq: 0}, DeliveryTime: 1700000000000, DeliveryCount: 1}},
			Consumers: []rdb.StreamConsumer{{Name: []byte("c"), SeenTime: 1700000000000, Pending: []rdb.StreamID{{Ms: 1, Seq: 0}}}},
		}},
	}
	n.ds.dbs[0]["stream"] = &memEntry{v: rdb.Value{Kind: rdb.KindStream, Stream: st}}
	n.ds.mu.Unlock()
}

// nodeWrites feeds live writes of every kind.
func nodeWrites(n *testNode, tag string) {
	n.write(0, "SET", tag+":a", "1")
	n.write(0, "SET", tag+":px", "v", "PXAT", "4102444800000")
	n.write(0, "DEL", "k:0", "k:1")
	n.write(0, "PEXPIREAT", "k:6", "4102444800123")
	n.write(0, "RPUSH", "k:2", "tail")
	n.write(0, "HSET", "k:3", "new", "field")
	n.write(0, "SADD", "k:4", "x")
	n.write(0, "ZADD", "k:5", "9", "c")
	n.write(3, "SET", tag+":db3", "x")
	n.write(0, "INCR", tag+":ctr")
	n.writeMulti(Op{DB: 0, Args: args("SET", tag+":tx1", "1")}, Op{DB: 3, Args: args("INCRBY", tag+":tx2", "5")})
	n.write(5, "HSET", tag+":h5", "a", "b")
}

func replicaOffset(t *testing.T, p *redisProc) int64 {
	return infoInt(t, p.client(t, 0, ""), "replication", "slave_repl_offset")
}

// TestRedisReplicaOfNode attaches a real redis-server 7.0 replica to a node
// built from this package, in the disk and diskless forms.
func TestRedisReplicaOfNode(t *testing.T) {
	for _, diskless := range []bool{false, true} {
		name := map[bool]string{false: "disk", true: "diskless"}[diskless]
		t.Run(name, func(t *testing.T) {
			cfg := DefaultMasterConfig()
			cfg.Diskless = diskless
			cfg.TempDir = t.TempDir()
			n := newTestNode(t, cfg)
			populateNode(n, 20000)
			rep := startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(n.port))
			rc := rep.client(t, 0, "")
			eventually(t, 60*time.Second, "replica link up", func() bool {
				return infoField(t, rc, "replication", "master_link_status") == "up"
			})
			form := map[bool]string{false: "bytes from master to disk", true: "receiving streamed RDB from master with EOF"}[diskless]
			require.Contains(t, rep.logText(), form)
			requireSameData(t, n.ds.describeAll(), describeRedis(t, rep, ""))
			fl, err := rc.Do(context.Background(), "FUNCTION", "LIST").Slice()
			require.NoError(t, err)
			require.Len(t, fl, 1)

			mi := n.m.Info()
			require.Len(t, mi.Replicas, 1)
			require.Equal(t, rep.port, mi.Replicas[0].Port)
			require.Equal(t, "127.0.0.1", mi.Replicas[0].IP)
			require.Equal(t, "online", mi.Replicas[0].State)
			require.Equal(t, mi.ReplID, infoField(t, rc, "replication", "master_replid"))

			// Live writes.
			nodeWrites(n, "live")
			n.write(0, "SET", "live:big", strings.Repeat("z", 1100000))
			eventually(t, 30*time.Second, "replica offset", func() bool { return replicaOffset(t, rep) == n.m.Offset() })
			requireSameData(t, n.ds.describeAll(), describeRedis(t, rep, ""))

			// WAIT: the replica answers GETACK.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			woff := n.m.Offset()
			require.Equal(t, 1, n.m.WaitAcks(ctx, woff, 1))
			require.Equal(t, 1, n.m.AckCount(woff))
			eventually(t, 10*time.Second, "ack offset", func() bool { return n.m.Info().Replicas[0].Offset == n.m.Offset() })

			// INFO replication has Redis's fields in Redis's order.
			require.Equal(t, infoKeys(string(AppendInfo(nil, &MasterInfo{}, &ReplicaInfo{LinkUp: true}, InfoOptions{}))),
				infoKeys(infoSection(t, rc, "replication")))

			// Partial resync after the replica drops its master link.
			require.NoError(t, rc.Do(context.Background(), "CLIENT", "KILL", "TYPE", "master").Err())
			nodeWrites(n, "during")
			eventually(t, 30*time.Second, "partial resync", func() bool { return n.m.Stats().PartialOK == 1 })
			nodeWrites(n, "after")
			eventually(t, 30*time.Second, "replica offset", func() bool { return replicaOffset(t, rep) == n.m.Offset() })
			requireSameData(t, n.ds.describeAll(), describeRedis(t, rep, ""))
			require.Contains(t, rep.logText(), "Successful partial resynchronization with master.")
			require.Equal(t, int64(1), n.m.Stats().Full)
		})
	}
}

// infoSection returns the text of an INFO section.
func infoSection(t *testing.T, p *redis.Client, section string) string {
	s, err := p.Info(context.Background(), section).Result()
	require.NoError(t, err)
	return s
}

// infoKeys returns the field names of an INFO text, slaveN lines folded.
func infoKeys(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\r\n") {
		k, _, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if strings.HasPrefix(k, "slave") && len(k) > 5 && k[5] >= '0' && k[5] <= '9' {
			k = "slaveN"
		}
		out = append(out, k)
	}
	return out
}

// TestRedisCLIRDB fetches the node's RDB with redis-cli --rdb (SYNC, REPLCONF
// rdb-only) and --functions-rdb (rdb-filter-only functions).
func TestRedisCLIRDB(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not installed")
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	for _, diskless := range []bool{false, true} {
		cfg := DefaultMasterConfig()
		cfg.Diskless = diskless
		n := newTestNode(t, cfg)
		populateNode(n, 1000)
		dir := t.TempDir()
		file := filepath.Join(dir, "dump.rdb")
		out, err := exec.Command(cli, "-p", strconv.Itoa(n.port), "--rdb", file).CombinedOutput()
		require.NoError(t, err, "%s", out)
		f, err := os.Open(file)
		require.NoError(t, err)
		got := newMemDataset()
		got.BeginFullSync()
		require.NoError(t, rdb.Walk(f, nil, func(rec *rdb.Record) error {
			switch rec.Kind {
			case rdb.RecordEntry:
				return got.LoadEntry(&rec.Entry)
			case rdb.RecordFunction:
				return got.LoadFunction(rec.Function)
			}
			return nil
		}))
		f.Close()
		got.EndFullSync(true)
		requireSameData(t, n.ds.describeAll(), got.describeAll())
		require.Equal(t, []string{testLibrary}, got.funcs)
		eventually(t, 5*time.Second, "rdb-only replica gone", func() bool { return len(n.m.Info().Replicas) == 0 })

		out, err = exec.Command(cli, "-p", strconv.Itoa(n.port), "--functions-rdb", file).CombinedOutput()
		require.NoError(t, err, "%s", out)
		f, err = os.Open(file)
		require.NoError(t, err)
		var keys, funcs int
		require.NoError(t, rdb.Walk(f, nil, func(rec *rdb.Record) error {
			switch rec.Kind {
			case rdb.RecordEntry:
				keys++
			case rdb.RecordFunction:
				funcs++
			}
			return nil
		}))
		f.Close()
		require.Equal(t, 0, keys)
		require.Equal(t, 1, funcs)
	}
}

// TestChainedReplication runs redis master -> our node (Replica proxying to
// its Master) -> redis sub-replica, then promotes our node: the sub-replica
// continues with a partial resync and the new replication ID.
func TestChainedReplication(t *testing.T) {
	top := startRedis(t, "--repl-diskless-sync-delay", "0")
	ctx := context.Background()
	tc := top.client(t, 0, "")
	for i := 0; i < 2000; i++ {
		require.NoError(t, tc.Set(ctx, "top:"+strconv.Itoa(i), i, 0).Err())
	}
	require.NoError(t, tc.Do(ctx, "FUNCTION", "LOAD", testLibrary).Err())
	cfg := DefaultMasterConfig()
	cfg.Diskless = false
	cfg.TempDir = t.TempDir()
	n := newTestNode(t, cfg)
	log, _ := testLog(t, "chain-replica")
	r := NewReplica(ReplicaConfig{Master: n.m, Dataset: n.ds, ListeningPort: n.port, Log: log})
	t.Cleanup(r.Close)
	r.SetMaster("127.0.0.1", top.port)
	eventually(t, 30*time.Second, "node link up", func() bool { return r.Info().LinkUp })
	liveWrites(t, top, "", "before")

	sub := startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(n.port))
	sc := sub.client(t, 0, "")
	eventually(t, 30*time.Second, "sub-replica link up", func() bool {
		return infoField(t, sc, "replication", "master_link_status") == "up"
	})
	liveWrites(t, top, "", "chain")
	topOff := func() int64 { return infoInt(t, tc, "replication", "master_repl_offset") }
	eventually(t, 30*time.Second, "sub-replica offset", func() bool { return replicaOffset(t, sub) == topOff() })
	requireSameData(t, describeRedis(t, top, ""), describeRedis(t, sub, ""))
	require.Equal(t, infoField(t, tc, "replication", "master_replid"), infoField(t, sc, "replication", "master_replid"))
	require.Empty(t, n.ds.unknown)
	// The top master lists our node; INFO fields match Redis's order.
	mi := n.m.Info()
	require.Len(t, mi.Replicas, 1)
	require.Equal(t, infoKeys(infoSection(t, tc, "replication")), infoKeys(string(AppendInfo(nil, &mi, nil, InfoOptions{}))))

	// Promotion: REPLICAOF NO ONE on our node.
	oldID := n.m.ReplID()
	r.UnsetMaster()
	require.False(t, n.m.IsReplica())
	newID := n.m.ReplID()
	require.NotEqual(t, oldID, newID)
	eventually(t, 30*time.Second, "sub-replica continues with the new ID", func() bool {
		return infoField(t, sc, "replication", "master_replid") == newID &&
			infoField(t, sc, "replication", "master_link_status") == "up"
	})
	require.Equal(t, int64(1), n.m.Stats().PartialOK)
	require.Equal(t, oldID, infoField(t, sc, "replication", "master_replid2"))
	n.write(0, "SET", "after-promotion", "1")
	n.write(2, "SET", "db2", "x")
	eventually(t, 30*time.Second, "sub-replica offset", func() bool { return replicaOffset(t, sub) == n.m.Offset() })
	requireSameData(t, n.ds.describeAll(), describeRedis(t, sub, ""))
}
