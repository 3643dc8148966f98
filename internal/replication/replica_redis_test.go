package replication

import (
	"context"
	"fmt"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

const testLibrary = "#!lua name=replib\nredis.register_function('rf', function(keys, args) return 1 end)"

// populate writes every data type to a real server: >= 100k keys, TTLs,
// values over 1 MB, several databases and a function library.
func populate(t *testing.T, p *redisProc, password string) {
	ctx := context.Background()
	c := p.client(t, 0, password)
	rng := rand.New(rand.NewSource(7))
	for start := 0; start < 100000; start += 10000 {
		pipe := c.Pipeline()
		for i := start; i < start+10000; i++ {
			switch i % 4 {
			case 0:
				pipe.Set(ctx, "k:"+strconv.Itoa(i), i, 0)
			case 1:
				pipe.Set(ctx, "k:"+strconv.Itoa(i), "value-"+strconv.Itoa(i), 0)
			case 2:
				pipe.Set(ctx, "k:"+strconv.Itoa(i), strings.Repeat("x", 50+i%100), 0)
			default:
				pipe.Set(ctx, "k:"+strconv.Itoa(i), -i*1000003, 0)
			}
			if i%100 == 0 {
				pipe.Expire(ctx, "k:"+strconv.Itoa(i), time.Duration(1000+i)*time.Second)
			}
			if i%250 == 1 {
				pipe.Do(ctx, "PEXPIREAT", "k:"+strconv.Itoa(i), 4102444800000+int64(i))
			}
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
	}
	big := make([]byte, 1500000)
	rng.Read(big)
	do := func(args ...any) {
		require.NoError(t, c.Do(ctx, args...).Err(), "%v", args[:min(len(args), 3)])
	}
	do("SET", "big:random", big)
	do("SET", "big:text", strings.Repeat("abcdefgh", 300000))
	do("RPUSH", "l:small", "a", "b", "1", "2", "300", "-5", "70000", "12345678901")
	l := []any{"RPUSH", "l:big"}
	for i := 0; i < 20000; i++ {
		l = append(l, "elem-"+strconv.Itoa(i))
	}
	do(l...)
	do("RPUSH", "l:plain", strings.Repeat("p", 10000), "small", strings.Repeat("q", 20000))
	do("SADD", "s:int", 1, 2, 3, -4, 70000, 5000000000)
	s := []any{"SADD", "s:bigint"}
	for i := 0; i < 1000; i++ {
		s = append(s, i*7)
	}
	do(s...)
	do("SADD", "s:str", "a", "b", "c", "")
	do("HSET", "h:small", "f", "v", "n", 5, "neg", -300)
	h := []any{"HSET", "h:big"}
	for i := 0; i < 1000; i++ {
		h = append(h, "field-"+strconv.Itoa(i), "value-"+strconv.Itoa(i))
	}
	do(h...)
	do("HSET", "h:bigval", "f", strings.Repeat("v", 100))
	do("ZADD", "z:small", 1.5, "a", 2, "b", -3, "c")
	z := []any{"ZADD", "z:big"}
	for i := 0; i < 500; i++ {
		z = append(z, float64(i)*0.5, "member-"+strconv.Itoa(i))
	}
	do(z...)
	do("ZADD", "z:inf", "+inf", "top", "-inf", "bottom", 0, "zero")
	for i := 0; i < 100; i++ {
		do("XADD", "x:stream", "*", "field", i, "other", "v"+strconv.Itoa(i))
	}
	do("XGROUP", "CREATE", "x:stream", "g1", "0")
	do("XREADGROUP", "GROUP", "g1", "consumer1", "COUNT", 10, "STREAMS", "x:stream", ">")
	do("XGROUP", "CREATE", "x:stream", "g2", "$")
	ids, err := c.XRange(ctx, "x:stream", "-", "+").Result()
	require.NoError(t, err)
	do("XDEL", "x:stream", ids[50].ID)
	do("SET", "ttl:str", "v", "PX", 100000000)
	do("HSET", "ttl:hash", "a", "b")
	do("PEXPIRE", "ttl:hash", 200000000)
	do("FUNCTION", "LOAD", testLibrary)
	c3 := p.client(t, 3, password)
	require.NoError(t, c3.Set(ctx, "db3:key", "three", 0).Err())
	require.NoError(t, c3.HSet(ctx, "db3:hash", "f", "v").Err())
	c15 := p.client(t, 15, password)
	require.NoError(t, c15.RPush(ctx, "db15:list", "x").Err())
}

// liveWrites runs writes whose propagated forms the test dataset applies.
// The big value (1.2 MB) is written only with tag "live": the other calls
// must fit in the master's 1 MB backlog for partial resyncs.
func liveWrites(t *testing.T, p *redisProc, password string, tag string) {
	ctx := context.Background()
	c := p.client(t, 0, password)
	do := func(c *redis.Client, args ...any) {
		err := c.Do(ctx, args...).Err()
		if err == redis.Nil {
			err = nil
		}
		require.NoError(t, err, "%v", args)
	}
	do(c, "SET", tag+":a", "1")
	do(c, "SET", tag+":ex", "v", "EX", 1000)            // SET ... PXAT
	do(c, "SET", tag+":px", "v", "PXAT", 4102444800000) // kept as is
	do(c, "SET", tag+":nx", "v", "NX")
	do(c, "INCR", tag+":ctr")
	do(c, "INCRBY", tag+":ctr", 41)
	do(c, "INCRBYFLOAT", tag+":f", "1.5") // SET ... KEEPTTL
	do(c, "APPEND", tag+":a", "xyz")
	do(c, "DEL", "k:10", "k:11", "nonexistent")
	do(c, "EXPIRE", "k:12", 5000) // PEXPIREAT
	do(c, "PERSIST", "k:100")
	do(c, "RPUSH", "l:small", "tail")
	do(c, "LPUSH", "l:small", "head")
	do(c, "HSET", "h:small", "f2", "v2", "f", "changed")
	do(c, "HINCRBYFLOAT", "h:small", "fl", "2.5") // HSET
	do(c, "SADD", "s:str", "d", "a")
	do(c, "SREM", "s:str", "b")
	do(c, "ZADD", "z:small", 7, "m", 8, "a")
	if tag == "live" {
		do(c, "SET", tag+":big", strings.Repeat("B", 1200000))
	}
	// A transaction arrives as MULTI ... EXEC.
	pipe := c.TxPipeline()
	pipe.Set(ctx, tag+":tx1", "1", 0)
	pipe.Incr(ctx, tag+":tx2")
	pipe.HSet(ctx, tag+":tx3", "a", "b")
	_, err := pipe.Exec(ctx)
	require.NoError(t, err)
	// Another database: SELECT in the stream.
	c3 := p.client(t, 3, password)
	do(c3, "SET", tag+":db3", "x")
	do(c3, "DEL", "db3:hash")
	do(c, "SET", tag+":back0", "y")
	// A key expiring on access: the master propagates DEL.
	do(c, "SET", tag+":tmp", "v", "PX", 1)
	eventually(t, 5*time.Second, "key expiry", func() bool {
		return c.Exists(ctx, tag+":tmp").Val() == 0
	})
}

// waitCaughtUp waits until the replica processed the master's whole stream.
func waitCaughtUp(t *testing.T, p *redisProc, password string, r *Replica) {
	c := p.client(t, 0, password)
	eventually(t, 30*time.Second, "replica offset to reach the master's", func() bool {
		ri := r.Info()
		return ri.LinkUp && ri.ReplOffset == infoInt(t, c, "replication", "master_repl_offset")
	})
}

func newTestReplica(t *testing.T, ds *memDataset, port int, mutate func(*ReplicaConfig)) *Replica {
	log, _ := testLog(t, "replica")
	m := NewMaster(DefaultMasterConfig(), ds.snapshot, log)
	cfg := ReplicaConfig{Master: m, Dataset: ds, ListeningPort: 12345, Log: log, MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond}
	if mutate != nil {
		mutate(&cfg)
	}
	r := NewReplica(cfg)
	r.SetMaster("127.0.0.1", port)
	t.Cleanup(func() {
		r.Close()
		m.Close()
	})
	return r
}

// TestReplicaOfRedis replicates from a real redis-server 7.0 master: full
// sync of every type in the disk and diskless forms, live writes, partial
// resynchronizations, ACKs and WAIT.
func TestReplicaOfRedis(t *testing.T) {
	for _, diskless := range []bool{false, true} {
		name := map[bool]string{false: "disk", true: "diskless"}[diskless]
		t.Run(name, func(t *testing.T) {
			srv := startRedis(t, "--repl-diskless-sync", map[bool]string{false: "no", true: "yes"}[diskless],
				"--repl-diskless-sync-delay", "0")
			populate(t, srv, "")
			ctx := context.Background()
			rc := srv.client(t, 0, "")
			ds := newMemDataset()
			r := newTestReplica(t, ds, srv.port, nil)
			eventually(t, 60*time.Second, "link up", func() bool { return r.Info().LinkUp })
			target := map[bool]string{false: "disk", true: "replicas sockets"}[diskless]
			require.Contains(t, srv.logText(), "Starting BGSAVE for SYNC with target: "+target)

			ri := r.Info()
			require.Equal(t, StateConnected, ri.State)
			require.Equal(t, infoField(t, rc, "replication", "master_replid"), ri.MasterReplID)
			require.Equal(t, []string{testLibrary}, ds.funcs)
			want := describeRedis(t, srv, "")
			require.GreaterOrEqual(t, len(want[0]), 100000)
			requireSameData(t, want, ds.describeAll())
			// Our own replication state adopted the master's.
			mi := r.Master().Info()
			require.True(t, mi.ReplicaMode)
			require.Equal(t, ri.MasterReplID, mi.ReplID)
			require.Equal(t, ZeroReplID, mi.ReplID2)

			// Live writes, applied from the stream.
			liveWrites(t, srv, "", "live")
			waitCaughtUp(t, srv, "", r)
			requireSameData(t, describeRedis(t, srv, ""), ds.describeAll())
			require.Empty(t, ds.unknown)
			require.Equal(t, r.Info().ReplOffset, r.Master().Offset(), "the stream is proxied to our backlog")

			// The master sees our ACKs: slave0 with our port and offset.
			eventually(t, 10*time.Second, "ACK offset on the master", func() bool {
				off := infoInt(t, rc, "replication", "master_repl_offset")
				return infoField(t, rc, "replication", "slave0") ==
					fmt.Sprintf("ip=127.0.0.1,port=12345,state=online,offset=%d,lag=0", off) ||
					infoField(t, rc, "replication", "slave0") ==
						fmt.Sprintf("ip=127.0.0.1,port=12345,state=online,offset=%d,lag=1", off)
			})
			// WAIT sends REPLCONF GETACK and gets our ACK.
			require.NoError(t, rc.Set(ctx, "wait:key", "1", 0).Err())
			n, err := rc.Do(ctx, "WAIT", 1, 0).Int64()
			require.NoError(t, err)
			require.Equal(t, int64(1), n)
			waitCaughtUp(t, srv, "", r)
			require.Equal(t, infoInt(t, rc, "replication", "master_repl_offset"), r.Info().ReplOffset)

			// Partial resync after the connection is killed.
			begins, _, _ := ds.counts()
			require.NoError(t, rc.Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Err())
			liveWrites(t, srv, "", "during")
			eventually(t, 30*time.Second, "partial resync", func() bool {
				return infoInt(t, rc, "stats", "sync_partial_ok") == 1
			})
			waitCaughtUp(t, srv, "", r)
			requireSameData(t, describeRedis(t, srv, ""), ds.describeAll())
			b2, _, _ := ds.counts()
			require.Equal(t, begins, b2, "no full sync")

			// Restart with the persisted replication ID and offset: a new
			// Replica and Master seeded from them continue partially.
			r.Close()
			ri = r.Info()
			require.False(t, ri.LinkUp)
			replid, off := ri.MasterReplID, ri.ReplOffset
			require.Equal(t, infoField(t, rc, "replication", "master_replid"), replid)
			liveWrites(t, srv, "", "offline")
			log, _ := testLog(t, "replica2")
			m2 := NewMaster(DefaultMasterConfig(), nil, log)
			defer m2.Close()
			m2.SetReplicationID(replid, off)
			r2 := NewReplica(ReplicaConfig{Master: m2, Dataset: ds, ListeningPort: 12346, Log: log})
			defer r2.Close()
			r2.SetMaster("127.0.0.1", srv.port)
			eventually(t, 30*time.Second, "second partial resync", func() bool {
				return infoInt(t, rc, "stats", "sync_partial_ok") == 2
			})
			waitCaughtUp(t, srv, "", r2)
			requireSameData(t, describeRedis(t, srv, ""), ds.describeAll())
			b3, _, aborts := ds.counts()
			require.Equal(t, begins, b3, "no full sync")
			require.Zero(t, aborts)
			require.Empty(t, ds.unknown)
			require.Equal(t, int64(1), infoInt(t, rc, "stats", "sync_full"))
		})
	}
}

// TestReplicaAuth checks masterauth and masteruser, and that a wrong
// password keeps the replica retrying without ever syncing.
func TestReplicaAuth(t *testing.T) {
	srv := startRedis(t, "--requirepass", "s3cret", "--repl-diskless-sync-delay", "0")
	ctx := context.Background()
	rc := srv.client(t, 0, "s3cret")
	require.NoError(t, rc.Set(ctx, "a", "1", 0).Err())
	require.NoError(t, rc.Do(ctx, "ACL", "SETUSER", "repl", "on", ">pw", "~*", "&*", "+@all").Err())

	t.Run("masterauth", func(t *testing.T) {
		ds := newMemDataset()
		r := newTestReplica(t, ds, srv.port, func(c *ReplicaConfig) { c.MasterAuth = "s3cret" })
		eventually(t, 30*time.Second, "link up", func() bool { return r.Info().LinkUp })
		requireSameData(t, describeRedis(t, srv, "s3cret"), ds.describeAll())
	})
	t.Run("masteruser", func(t *testing.T) {
		ds := newMemDataset()
		r := newTestReplica(t, ds, srv.port, func(c *ReplicaConfig) { c.MasterUser, c.MasterAuth = "repl", "pw" })
		eventually(t, 30*time.Second, "link up", func() bool { return r.Info().LinkUp })
		require.NoError(t, rc.Set(ctx, "b", "2", 0).Err())
		waitCaughtUp(t, srv, "s3cret", r)
		requireSameData(t, describeRedis(t, srv, "s3cret"), ds.describeAll())
	})
	t.Run("wrong password", func(t *testing.T) {
		ds := newMemDataset()
		var dials atomic.Int32
		r := newTestReplica(t, ds, srv.port, func(c *ReplicaConfig) {
			c.MasterAuth = "wrong"
			c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}
		})
		eventually(t, 30*time.Second, "several attempts", func() bool { return dials.Load() >= 4 })
		ri := r.Info()
		require.False(t, ri.LinkUp)
		require.NotEqual(t, StateConnected, ri.State)
		begins, _, _ := ds.counts()
		require.Zero(t, begins)
		require.Equal(t, int64(-1), ri.LastIOSecondsAgo)
	})
}
