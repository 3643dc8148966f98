package integration

// Issue 5's bulk replication checks: a redis-server replica of a
// redcluster master and a redcluster replica of a redis-server master,
// with every data type, TTLs, values over 1 MB and 100k keys, synchronized
// while writes continue, end with the same data; a replica killed with
// SIGKILL and restarted on its folder continues with +CONTINUE.

import (
	"context"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

// fillBulk writes n keys of every type through pipelines, plus values over
// 1 MB.
func fillBulk(t *testing.T, addr string, n int) {
	t.Helper()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer c.Close()
	for start := 0; start < n; start += 5000 {
		p := c.Pipeline()
		for i := start; i < start+5000 && i < n; i++ {
			k := "bulk:" + strconv.Itoa(i)
			switch i % 10 {
			case 0:
				p.RPush(ctx, k, "a", strconv.Itoa(i), "c")
			case 1:
				p.HSet(ctx, k, "f", strconv.Itoa(i), "g", "x")
			case 2:
				p.SAdd(ctx, k, i, i+1, "m")
			case 3:
				p.ZAdd(ctx, k, redis.Z{Score: float64(i) / 7, Member: "m"}, redis.Z{Score: 1, Member: "n"})
			case 4:
				p.Set(ctx, k, strconv.Itoa(i), time.Hour)
			default:
				p.Set(ctx, k, "value-"+strconv.Itoa(i), 0)
			}
		}
		_, err := p.Exec(ctx)
		require.NoError(t, err)
	}
	big := strings.Repeat("0123456789abcdef", 1<<17) // 2 MiB
	require.NoError(t, c.Set(ctx, "big:string", big, 0).Err())
	require.NoError(t, c.RPush(ctx, "big:list", big[:1<<20+7], "small").Err())
	require.NoError(t, c.HSet(ctx, "big:hash", "f", big[:1<<20+3]).Err())
}

// writeWhile keeps writing random commands to addr until stop is set.
func writeWhile(t *testing.T, addr string, stop *atomic.Bool, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := testutil.Dial(addr)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		rng := rand.New(rand.NewSource(1))
		for !stop.Load() {
			k := "bulk:" + strconv.Itoa(rng.Intn(100000))
			var args []string
			switch rng.Intn(5) {
			case 0:
				args = []string{"INCR", "counter:" + strconv.Itoa(rng.Intn(100))}
			case 1:
				args = []string{"SET", k, "rewritten", "EX", "3600"}
			case 2:
				args = []string{"RPUSH", "live:list", strconv.Itoa(rng.Int())}
			case 3:
				args = []string{"DEL", k}
			default:
				args = []string{"HSET", "live:hash", strconv.Itoa(rng.Intn(1000)), k}
			}
			if _, err := c.DoStrings(args...); err != nil {
				return
			}
		}
	}()
}

func TestReplicationBulkBothWays(t *testing.T) {
	if testing.Short() {
		t.Skip("bulk replication: not in -short")
	}
	ours := testutil.Binary(t)
	redisBin := testutil.RedisServer(t)
	for _, tc := range []struct{ name, master, replica string }{
		{"redis-server replica of redcluster", ours, redisBin},
		{"redcluster replica of redis-server", redisBin, ours},
	} {
		t.Run(tc.name, func(t *testing.T) {
			master := testutil.Start(t, tc.master, "--repl-diskless-sync-delay", "0")
			fillBulk(t, master.Addr(), 100000)
			fill(t, master.Addr(), everyTypeCommands())
			var stop atomic.Bool
			var wg sync.WaitGroup
			writeWhile(t, master.Addr(), &stop, &wg)
			replica := testutil.Start(t, tc.replica, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
			rc := dial(t, replica)
			waitLinkUp(t, rc)
			time.Sleep(200 * time.Millisecond) // writes keep flowing through the stream
			stop.Store(true)
			wg.Wait()
			mc := dial(t, master)
			waitSameOffset(t, mc, rc)
			want := bulkDataset(t, master.Addr(), 0)
			require.Greater(t, len(want), 90000)
			requireSameBulk(t, want, bulkDataset(t, replica.Addr(), 0))
			requireSameDataset(t, datasetOf(t, master.Addr(), persistDBs[1:]), datasetOf(t, replica.Addr(), persistDBs[1:]), false)
		})
	}
}

// TestReplicationReplicaKilledContinues: a redcluster replica killed with
// SIGKILL restarts from the dataset it saved after its full sync and
// continues partially, with the writes it missed.
func TestReplicationReplicaKilledContinues(t *testing.T) {
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
			fill(t, master.Addr(), [][]string{{"SET", "after-sync", "1"}})
			waitSameOffset(t, mc, rc)
			// The replica saved what it synchronized (as a Redis replica
			// keeps the transferred file): wait for that save to end.
			deadline := time.Now().Add(20 * time.Second)
			for infoValue(t, rc, "rdb_bgsave_in_progress") != "0" || infoValue(t, rc, "rdb_last_bgsave_status") != "ok" {
				require.True(t, time.Now().Before(deadline), "the replica never saved")
				time.Sleep(10 * time.Millisecond)
			}
			require.FileExists(t, dumpPath(replica))
			require.NoError(t, replica.Cmd.Process.Kill())
			waitExit(t, replica)

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

// bulkKey is a key's type, value (rendered) and absolute expire time
// (PEXPIRETIME, -1 without TTL: the same on master and replica, whatever
// the time between the two reads).
type bulkKey struct {
	typ, val string
	expireAt int64
}

// bulkDataset reads every key of a database with pipelines (datasetOf's
// one round trip per read is too slow for 100k keys).
func bulkDataset(t *testing.T, addr string, db int) map[string]bulkKey {
	t.Helper()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db, Protocol: 2})
	defer c.Close()
	var keys []string
	it := c.Scan(ctx, 0, "*", 5000).Iterator()
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	require.NoError(t, it.Err())
	out := make(map[string]bulkKey, len(keys))
	for start := 0; start < len(keys); start += 5000 {
		batch := keys[start:min(start+5000, len(keys))]
		p := c.Pipeline()
		types := make([]*redis.StatusCmd, len(batch))
		ttls := make([]*redis.Cmd, len(batch))
		for i, k := range batch {
			types[i] = p.Type(ctx, k)
			ttls[i] = p.Do(ctx, "PEXPIRETIME", k)
		}
		_, err := p.Exec(ctx)
		require.NoError(t, err)
		p = c.Pipeline()
		vals := make([]redis.Cmder, len(batch))
		for i, k := range batch {
			switch types[i].Val() {
			case "string":
				vals[i] = p.Get(ctx, k)
			case "list":
				vals[i] = p.LRange(ctx, k, 0, -1)
			case "hash":
				vals[i] = p.HGetAll(ctx, k)
			case "set":
				vals[i] = p.SMembers(ctx, k)
			case "zset":
				vals[i] = p.ZRangeWithScores(ctx, k, 0, -1)
			default:
				vals[i] = p.Echo(ctx, "unsupported "+types[i].Val())
			}
		}
		_, err = p.Exec(ctx)
		require.NoError(t, err)
		for i, k := range batch {
			v := vals[i].String()
			if types[i].Val() == "set" {
				m := vals[i].(*redis.StringSliceCmd).Val()
				sort.Strings(m)
				v = strings.Join(m, ",")
			}
			at, err := ttls[i].Int64()
			require.NoError(t, err)
			out[k] = bulkKey{typ: types[i].Val(), val: v, expireAt: at}
		}
	}
	return out
}

// requireSameBulk compares two bulkDatasets.
func requireSameBulk(t *testing.T, want, got map[string]bulkKey) {
	t.Helper()
	require.Equal(t, len(want), len(got), "number of keys")
	for k, w := range want {
		g, ok := got[k]
		require.True(t, ok, "key %q missing", k)
		require.Equal(t, w.typ, g.typ, "type of %q", k)
		require.Equal(t, w.val, g.val, "value of %q", k)
		require.Equal(t, w.expireAt, g.expireAt, "expire time of %q", k)
	}
}
