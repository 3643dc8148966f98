package integration

// Data test of replication both ways: a real redis-server replicating from
// redcluster, and redcluster replicating from a real redis-server, under a
// few thousand random writes of every type (TTLs short and long, expire
// times already past, random pops, blocked pops served later, MULTI/EXEC,
// float increments). After WAIT, master and replica must hold the same
// dataset key by key: type, value and TTL.

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

// replDBs are the databases the workload writes.
var replDBs = []int{0, 3}

func TestReplicationDataRedisReplicaOfRedcluster(t *testing.T) {
	redisBin := testutil.RedisServer(t)
	master := testutil.Start(t, testutil.Binary(t), "--repl-diskless-sync-delay", "0")
	runReplicationData(t, master, func() *testutil.Proc {
		return testutil.Start(t, redisBin, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	})
}

func TestReplicationDataRedclusterReplicaOfRedis(t *testing.T) {
	master := testutil.Start(t, testutil.RedisServer(t), "--repl-diskless-sync-delay", "0")
	ours := testutil.Binary(t)
	runReplicationData(t, master, func() *testutil.Proc {
		return testutil.Start(t, ours, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	})
}

// runReplicationData fills the master, attaches the replica startReplica
// starts, runs the random workload and compares the datasets.
func runReplicationData(t *testing.T, master *testutil.Proc, startReplica func() *testutil.Proc) {
	ctx := context.Background()
	w := newReplWorkload(t, master, 1)
	w.run(t, 300) // in the RDB of the full synchronization
	replica := startReplica()
	rc, err := testutil.Dial(replica.Addr())
	require.NoError(t, err)
	defer rc.Close()
	waitLinkUp(t, rc)
	w.run(t, 3000)

	// Keys with a short TTL expire during the run: wait until all have,
	// so that neither side sees one expire while they are compared.
	for time.Now().UnixMilli() <= w.lastShortExpiry+50 {
		time.Sleep(10 * time.Millisecond)
	}
	w.do(t, "SELECT", "0")
	w.do(t, "SET", "done", "1")
	reply, err := w.main.DoStrings("WAIT", "1", "10000")
	require.NoError(t, err)
	require.Equal(t, ":1\r\n", string(reply), "WAIT: the replica did not acknowledge the stream")

	for _, db := range replDBs {
		mc := redis.NewClient(&redis.Options{Addr: master.Addr(), DB: db, Protocol: 2})
		rcl := redis.NewClient(&redis.Options{Addr: replica.Addr(), DB: db, Protocol: 2})
		defer mc.Close()
		defer rcl.Close()
		compareDatasets(t, ctx, db, mc, rcl)
	}
}

func waitLinkUp(t *testing.T, rc *testutil.Conn) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		raw, err := rc.DoStrings("INFO", "replication")
		require.NoError(t, err)
		if strings.Contains(string(raw), "master_link_status:up") {
			return
		}
		require.True(t, time.Now().Before(deadline), "the replica's link never came up: %s", raw)
		time.Sleep(10 * time.Millisecond)
	}
}

// compareDatasets compares every key of one database of the master with
// the replica's.
func compareDatasets(t *testing.T, ctx context.Context, db int, m, r *redis.Client) {
	t.Helper()
	keys := map[string]bool{}
	for _, c := range []*redis.Client{m, r} {
		it := c.Scan(ctx, 0, "*", 1000).Iterator()
		for it.Next(ctx) {
			keys[it.Val()] = true
		}
		require.NoError(t, it.Err())
	}
	live := 0
	for k := range keys {
		mt, err := m.Type(ctx, k).Result()
		require.NoError(t, err)
		rt, err := r.Type(ctx, k).Result()
		require.NoError(t, err)
		require.Equal(t, mt, rt, "db %d key %q: type", db, k)
		if mt == "none" {
			continue
		}
		live++
		require.Equal(t, keyValue(t, ctx, m, mt, k), keyValue(t, ctx, r, rt, k), "db %d key %q: value", db, k)
		mp, err := m.PTTL(ctx, k).Result()
		require.NoError(t, err)
		rp, err := r.PTTL(ctx, k).Result()
		require.NoError(t, err)
		if mp < 0 || rp < 0 {
			require.Equal(t, mp, rp, "db %d key %q: PTTL", db, k)
		} else {
			d := mp - rp
			require.True(t, d > -time.Second && d < time.Second, "db %d key %q: PTTL %v on the master, %v on the replica", db, k, mp, rp)
		}
	}
	require.Positive(t, live, "db %d: no key to compare", db)
	t.Logf("db %d: %d keys compared", db, live)
}

// keyValue reads a value in a form that does not depend on the server's
// encoding (hash and set members sorted).
func keyValue(t *testing.T, ctx context.Context, c *redis.Client, typ, k string) string {
	t.Helper()
	var v any
	var err error
	switch typ {
	case "string":
		v, err = c.Get(ctx, k).Result()
	case "list":
		v, err = c.LRange(ctx, k, 0, -1).Result()
	case "set":
		var m []string
		m, err = c.SMembers(ctx, k).Result()
		sort.Strings(m)
		v = m
	case "hash":
		var h map[string]string
		h, err = c.HGetAll(ctx, k).Result()
		fields := make([]string, 0, len(h))
		for f, x := range h {
			fields = append(fields, f+"="+x)
		}
		sort.Strings(fields)
		v = fields
	case "zset":
		v, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
	default:
		t.Fatalf("key %q has type %s", k, typ)
	}
	require.NoError(t, err, "reading %s %q", typ, k)
	return fmt.Sprintf("%v", v)
}

// replWorkload sends random writes to a master.
type replWorkload struct {
	rnd     *rand.Rand
	main    *testutil.Conn
	blocker *testutil.Conn
	ctl     *testutil.Conn
	db      int
	waiters int // keys of the blocked pops so far
	// lastShortExpiry is the latest expire time (Unix ms) of a short TTL.
	lastShortExpiry int64
}

func newReplWorkload(t *testing.T, master *testutil.Proc, seed int64) *replWorkload {
	w := &replWorkload{rnd: rand.New(rand.NewSource(seed))}
	for _, c := range []**testutil.Conn{&w.main, &w.blocker, &w.ctl} {
		conn, err := testutil.Dial(master.Addr())
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		*c = conn
	}
	return w
}

func (w *replWorkload) do(t *testing.T, args ...string) string {
	t.Helper()
	reply, err := w.main.DoStrings(args...)
	require.NoError(t, err, "%v", args)
	return string(reply)
}

// run sends n random operations.
func (w *replWorkload) run(t *testing.T, n int) {
	for i := 0; i < n; i++ {
		switch p := w.rnd.Intn(100); {
		case p < 3:
			w.db = replDBs[w.rnd.Intn(len(replDBs))]
			w.do(t, "SELECT", strconv.Itoa(w.db))
		case p < 8:
			w.do(t, "MULTI")
			for j := 1 + w.rnd.Intn(5); j > 0; j-- {
				reply := w.do(t, w.command()...)
				require.True(t, reply == "+QUEUED\r\n" || strings.HasPrefix(reply, "-"), "queued: %q", reply)
			}
			w.do(t, "EXEC")
		case p < 10:
			w.blockedPop(t)
		default:
			cmd := w.command()
			if push := w.feedFirst(cmd); push != nil {
				w.do(t, push...)
			}
			w.do(t, cmd...)
		}
	}
}

// feedFirst returns a push that makes the first key of a blocking pop
// non-empty, so that it is served at once instead of waiting for its
// timeout (Redis notices those only every 100 ms); nil for other commands.
func (w *replWorkload) feedFirst(cmd []string) []string {
	switch cmd[0] {
	case "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH":
		return []string{"RPUSH", cmd[1], w.val()}
	case "BLMPOP":
		return []string{"RPUSH", cmd[3], w.val(), w.val()}
	case "BZPOPMIN", "BZPOPMAX":
		return []string{"ZADD", cmd[1], w.score(), "m" + strconv.Itoa(w.rnd.Intn(15))}
	case "BZMPOP":
		return []string{"ZADD", cmd[3], w.score(), "m" + strconv.Itoa(w.rnd.Intn(15))}
	}
	return nil
}

// blockedPop blocks a client on an empty key, then makes the key ready so
// that the client is served after the command that pushed.
func (w *replWorkload) blockedPop(t *testing.T) {
	w.waiters++
	key := "w:" + strconv.Itoa(w.waiters)
	dst := w.pick("l")
	_, err := w.blocker.DoStrings("SELECT", strconv.Itoa(w.db))
	require.NoError(t, err)
	var block, push []string
	list := []string{"RPUSH", key, "a", "b", "c", "d"}
	zset := []string{"ZADD", key, "1", "a", "2.5", "b", "3", "c"}
	switch w.rnd.Intn(8) {
	case 0:
		block, push = []string{"BLPOP", key, "0"}, list
	case 1:
		block, push = []string{"BRPOP", "nokey", key, "0"}, list
	case 2:
		block, push = []string{"BLMOVE", key, dst, "RIGHT", "LEFT", "0"}, list
	case 3:
		block, push = []string{"BRPOPLPUSH", key, dst, "0"}, list
	case 4:
		block, push = []string{"BLMPOP", "0", "1", key, "LEFT", "COUNT", "3"}, list
	case 5:
		block, push = []string{"BZPOPMIN", key, "0"}, zset
	case 6:
		block, push = []string{"BZPOPMAX", key, "0"}, zset
	default:
		block, push = []string{"BZMPOP", "0", "1", key, "MAX", "COUNT", "2"}, zset
	}
	before := infoInt(t, w.ctl, "clients", "blocked_clients")
	require.NoError(t, w.blocker.WriteRaw(testutil.Encode(toArgs(block...))))
	waitInt(t, "blocked_clients", before+1, func() int64 { return infoInt(t, w.ctl, "clients", "blocked_clients") })
	w.do(t, push...)
	reply, err := w.blocker.ReadReply(5 * time.Second)
	require.NoError(t, err)
	require.NotEqual(t, byte('-'), reply[0], "%v: %q", block, reply)
}

// pick returns a random key of a type family.
func (w *replWorkload) pick(family string) string {
	n := 12
	if family == "s" {
		n = 30
	}
	return family + ":" + strconv.Itoa(w.rnd.Intn(n))
}

func (w *replWorkload) val() string {
	switch w.rnd.Intn(4) {
	case 0:
		return strconv.Itoa(w.rnd.Intn(1000))
	case 1:
		return strings.Repeat("x", 1+w.rnd.Intn(60))
	default:
		return "v" + strconv.Itoa(w.rnd.Intn(20))
	}
}

func (w *replWorkload) score() string {
	switch w.rnd.Intn(4) {
	case 0:
		return strconv.Itoa(w.rnd.Intn(100) - 50)
	case 1:
		return strconv.FormatFloat(w.rnd.Float64()*100, 'g', -1, 64)
	default:
		return strconv.Itoa(w.rnd.Intn(10))
	}
}

// shortTTL returns a TTL in ms short enough to pass during the run.
func (w *replWorkload) shortTTL() string {
	ms := 1 + w.rnd.Intn(300)
	if at := time.Now().UnixMilli() + int64(ms); at > w.lastShortExpiry {
		w.lastShortExpiry = at
	}
	return strconv.Itoa(ms)
}

// longSeconds returns a TTL in seconds that outlives the test.
func (w *replWorkload) longSeconds() string { return strconv.Itoa(1000 + w.rnd.Intn(100000)) }

// command returns a random command.
func (w *replWorkload) command() []string {
	r := w.rnd
	s, h, l, st, z := w.pick("s"), w.pick("h"), w.pick("l"), w.pick("t"), w.pick("z")
	future := strconv.FormatInt(time.Now().Unix()+1000+int64(r.Intn(1000)), 10)
	futureMs := strconv.FormatInt(time.Now().UnixMilli()+1000000+int64(r.Intn(1000000)), 10)
	switch r.Intn(64) {
	// strings
	case 0:
		return []string{"SET", s, w.val()}
	case 1:
		opts := [][]string{{"EX", w.longSeconds()}, {"PX", w.shortTTL()}, {"EXAT", future}, {"PXAT", futureMs}, {"KEEPTTL"},
			{"NX"}, {"XX"}, {"GET"}, {"EXAT", "1"}, {"XX", "GET", "PX", "500000"}}
		return append([]string{"SET", s, w.val()}, opts[r.Intn(len(opts))]...)
	case 2:
		return []string{"SETEX", s, w.longSeconds(), w.val()}
	case 3:
		return []string{"PSETEX", s, w.shortTTL(), w.val()}
	case 4:
		opts := [][]string{{"EX", w.longSeconds()}, {"PX", w.shortTTL()}, {"EXAT", future}, {"PXAT", futureMs}, {"PERSIST"}, {"EXAT", "1"}, {}}
		return append([]string{"GETEX", s}, opts[r.Intn(len(opts))]...)
	case 5:
		return []string{"GETDEL", s}
	case 6:
		return []string{"GETSET", s, w.val()}
	case 7:
		return []string{"APPEND", s, w.val()}
	case 8:
		return []string{"SETRANGE", s, strconv.Itoa(r.Intn(20)), w.val()}
	case 9:
		return []string{"INCR", "n:" + strconv.Itoa(r.Intn(8))}
	case 10:
		return []string{"INCRBY", "n:" + strconv.Itoa(r.Intn(8)), strconv.Itoa(r.Intn(200) - 100)}
	case 11, 12:
		incr := []string{"0.1", "1.5e2", "-3", "3.0000000001", "1e-5"}[r.Intn(5)]
		return []string{"INCRBYFLOAT", "n:" + strconv.Itoa(r.Intn(8)), incr}
	case 13:
		return []string{"SETBIT", s, strconv.Itoa(r.Intn(200)), strconv.Itoa(r.Intn(2))}
	case 14:
		return []string{"BITFIELD", s, "INCRBY", "u8", strconv.Itoa(r.Intn(40)), strconv.Itoa(r.Intn(300))}
	case 15:
		return []string{"MSET", s, w.val(), w.pick("s"), w.val()}
	case 16:
		return []string{"MSETNX", s, w.val(), w.pick("s"), w.val()}
	case 17:
		return []string{"BITOP", "XOR", s, w.pick("s"), w.pick("s")}
	// generic
	case 18:
		opts := [][]string{{}, {"NX"}, {"XX"}, {"GT"}, {"LT"}}
		k := []string{s, h, l, st, z}[r.Intn(5)]
		return append([]string{"EXPIRE", k, w.longSeconds()}, opts[r.Intn(len(opts))]...)
	case 19:
		return []string{"PEXPIRE", []string{s, h, l, st, z}[r.Intn(5)], w.shortTTL()}
	case 20:
		return []string{"EXPIREAT", []string{s, h, l, st, z}[r.Intn(5)], future}
	case 21:
		return []string{[]string{"EXPIRE", "PEXPIREAT"}[r.Intn(2)], []string{s, h, l, st, z}[r.Intn(5)], "-1"}
	case 22:
		return []string{"PERSIST", []string{s, h, l, st, z}[r.Intn(5)]}
	case 23:
		return []string{[]string{"DEL", "UNLINK"}[r.Intn(2)], []string{s, h, l, st, z}[r.Intn(5)]}
	case 24:
		return []string{"RENAME", s, w.pick("s")}
	case 25:
		return []string{"COPY", z, w.pick("z"), "REPLACE"}
	// hashes
	case 26, 27:
		return []string{"HSET", h, "f" + strconv.Itoa(r.Intn(10)), w.val(), "f" + strconv.Itoa(r.Intn(10)), w.val()}
	case 28:
		return []string{"HSETNX", h, "f" + strconv.Itoa(r.Intn(10)), w.val()}
	case 29:
		return []string{"HDEL", h, "f" + strconv.Itoa(r.Intn(10)), "f" + strconv.Itoa(r.Intn(10))}
	case 30:
		return []string{"HINCRBY", h, "n" + strconv.Itoa(r.Intn(3)), strconv.Itoa(r.Intn(100))}
	case 31:
		return []string{"HINCRBYFLOAT", h, "x" + strconv.Itoa(r.Intn(3)), []string{"0.1", "2.5e3", "-1.25", "1e-7"}[r.Intn(4)]}
	// lists
	case 32, 33:
		return []string{[]string{"LPUSH", "RPUSH"}[r.Intn(2)], l, w.val(), w.val(), w.val()}
	case 34:
		return []string{[]string{"LPUSHX", "RPUSHX"}[r.Intn(2)], l, w.val()}
	case 35:
		if r.Intn(2) == 0 {
			return []string{"LPOP", l}
		}
		return []string{"RPOP", l, strconv.Itoa(r.Intn(3))}
	case 36:
		return []string{"LSET", l, strconv.Itoa(r.Intn(4) - 2), w.val()}
	case 37:
		return []string{"LINSERT", l, "BEFORE", w.val(), w.val()}
	case 38:
		return []string{"LREM", l, strconv.Itoa(r.Intn(3) - 1), w.val()}
	case 39:
		return []string{"LTRIM", l, strconv.Itoa(r.Intn(3)), strconv.Itoa(r.Intn(8) - 2)}
	case 40:
		return []string{"LMOVE", l, w.pick("l"), "LEFT", "RIGHT"}
	case 41:
		return []string{"BLMOVE", l, w.pick("l"), "RIGHT", "RIGHT", "0.01"}
	case 42:
		return []string{"BRPOPLPUSH", l, w.pick("l"), "0.01"}
	case 43:
		return []string{[]string{"BLPOP", "BRPOP"}[r.Intn(2)], l, w.pick("l"), "0.01"}
	case 44:
		return []string{"LMPOP", "2", l, w.pick("l"), "RIGHT", "COUNT", strconv.Itoa(1 + r.Intn(4))}
	case 45:
		return []string{"BLMPOP", "0.01", "1", l, "LEFT", "COUNT", strconv.Itoa(1 + r.Intn(4))}
	// sets
	case 46, 47:
		return []string{"SADD", st, w.val(), strconv.Itoa(r.Intn(30)), w.val()}
	case 48:
		return []string{"SREM", st, w.val(), strconv.Itoa(r.Intn(30))}
	case 49:
		return []string{"SPOP", st}
	case 50:
		return []string{"SPOP", st, strconv.Itoa(r.Intn(6))}
	case 51:
		return []string{"SMOVE", st, w.pick("t"), strconv.Itoa(r.Intn(30))}
	case 52:
		return []string{[]string{"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"}[r.Intn(3)], st, w.pick("t"), w.pick("t")}
	case 53:
		return []string{"SRANDMEMBER", st, strconv.Itoa(r.Intn(10) - 5)}
	// sorted sets
	case 54, 55:
		opts := [][]string{{}, {"NX"}, {"XX"}, {"GT", "CH"}, {"LT"}, {"INCR"}}
		o := opts[r.Intn(len(opts))]
		cmd := append([]string{"ZADD", z}, o...)
		cmd = append(cmd, w.score(), "m"+strconv.Itoa(r.Intn(15)))
		if len(o) == 0 || o[0] != "INCR" {
			cmd = append(cmd, w.score(), "m"+strconv.Itoa(r.Intn(15)))
		}
		return cmd
	case 56:
		return []string{"ZINCRBY", z, w.score(), "m" + strconv.Itoa(r.Intn(15))}
	case 57:
		return []string{"ZREM", z, "m" + strconv.Itoa(r.Intn(15)), "m" + strconv.Itoa(r.Intn(15))}
	case 58:
		return []string{[]string{"ZPOPMIN", "ZPOPMAX"}[r.Intn(2)], z, strconv.Itoa(r.Intn(3))}
	case 59:
		return []string{"ZMPOP", "2", z, w.pick("z"), []string{"MIN", "MAX"}[r.Intn(2)], "COUNT", strconv.Itoa(1 + r.Intn(3))}
	case 60:
		if r.Intn(2) == 0 {
			return []string{[]string{"BZPOPMIN", "BZPOPMAX"}[r.Intn(2)], z, w.pick("z"), "0.01"}
		}
		return []string{"BZMPOP", "0.01", "1", z, "MIN", "COUNT", "2"}
	case 61:
		return []string{[]string{"ZREMRANGEBYSCORE", "ZREMRANGEBYRANK"}[r.Intn(2)], z, "0", strconv.Itoa(r.Intn(5))}
	case 62:
		return []string{[]string{"ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"}[r.Intn(3)], z, "2", w.pick("z"), w.pick("z")}
	default:
		if r.Intn(2) == 0 {
			return []string{"ZRANGESTORE", z, w.pick("z"), "0", strconv.Itoa(r.Intn(5))}
		}
		return []string{"ZRANDMEMBER", z, strconv.Itoa(r.Intn(6) - 3), "WITHSCORES"}
	}
}
