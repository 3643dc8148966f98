package server

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/testutil"
)

// Concurrency stress tests: many real connections to an in-process server.
// Each runs under a watchdog that fails the test with every goroutine's
// stack when it does not finish (a deadlock), and checks an invariant that
// a lost update or a non-atomic transaction would break.

// stressConn is a connection used from one goroutine; its errors are
// returned, not raised, so that workers can run on their own goroutines.
type stressConn struct{ c *testutil.Conn }

func stressDial(t *testing.T, s *Server) *stressConn {
	t.Helper()
	c, err := testutil.Dial(s.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &stressConn{c}
}

func (sc *stressConn) do(args ...string) (string, error) {
	r, err := sc.c.DoStrings(args...)
	return string(r), err
}

// send pipelines several commands and returns their replies.
func (sc *stressConn) pipeline(cmds [][]string) ([]string, error) {
	var req []byte
	for _, cmd := range cmds {
		b := make([][]byte, len(cmd))
		for i, a := range cmd {
			b[i] = []byte(a)
		}
		req = append(req, testutil.Encode(b)...)
	}
	if err := sc.c.WriteRaw(req); err != nil {
		return nil, err
	}
	out := make([]string, len(cmds))
	for i := range cmds {
		r, err := sc.c.ReadReply(20 * time.Second)
		if err != nil {
			return out, err
		}
		out[i] = string(r)
	}
	return out, nil
}

// runWorkers runs n workers and waits for them under a watchdog; the
// first error of each worker is reported.
func runWorkers(t *testing.T, limit time.Duration, n int, work func(i int) error) {
	t.Helper()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := work(i); err != nil {
				errs <- fmt.Errorf("worker %d: %w", i, err)
			}
		}(i)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		buf := make([]byte, 8<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("workers did not finish within %v (deadlock?)\n%s", limit, buf)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func parseIntReply(r string) (int64, error) {
	if len(r) < 3 || r[0] != ':' {
		return 0, fmt.Errorf("not an integer reply: %q", r)
	}
	return strconv.ParseInt(r[1:len(r)-2], 10, 64)
}

// parseBulk returns the payload of a bulk reply ("" and false for a null).
func parseBulk(r string) (string, bool, error) {
	if r == "$-1\r\n" || r == "_\r\n" {
		return "", false, nil
	}
	i := strings.Index(r, "\r\n")
	if len(r) < 4 || r[0] != '$' || i < 0 {
		return "", false, fmt.Errorf("not a bulk reply: %q", r)
	}
	return r[i+2 : len(r)-2], true, nil
}

func TestStressConcurrentIncr(t *testing.T) {
	s := testServer(t, nil)
	const clients, rounds, batch = 12, 40, 25
	conns := make([]*stressConn, clients)
	for i := range conns {
		conns[i] = stressDial(t, s)
	}
	runWorkers(t, 90*time.Second, clients, func(i int) error {
		c := conns[i]
		for r := 0; r < rounds; r++ {
			var cmds [][]string
			switch r % 3 {
			case 0: // plain pipeline
				for j := 0; j < batch; j++ {
					cmds = append(cmds, []string{"INCR", "counter"})
				}
			case 1: // inside a transaction, with keys of other slots
				cmds = append(cmds, []string{"MULTI"})
				for j := 0; j < batch; j++ {
					cmds = append(cmds, []string{"INCRBY", "counter", "1"}, []string{"INCR", "side:" + strconv.Itoa(j%5)})
				}
				cmds = append(cmds, []string{"EXEC"})
			default: // multi-key commands mixed in
				for j := 0; j < batch; j++ {
					cmds = append(cmds, []string{"INCR", "counter"}, []string{"MGET", "counter", "side:1", "side:2"})
				}
			}
			replies, err := c.pipeline(cmds)
			if err != nil {
				return err
			}
			for k, rep := range replies {
				if strings.HasPrefix(rep, "-") {
					return fmt.Errorf("%v: %s", cmds[k], rep)
				}
			}
		}
		return nil
	})
	c := testDial(t, s)
	require.Equal(t, fmt.Sprintf("$%d\r\n%d\r\n", len(strconv.Itoa(clients*rounds*batch)), clients*rounds*batch),
		testDo(t, c, "GET", "counter"))
}

// Transfers between two keys of different slots in MULTI/EXEC (and with
// WATCH) never let a reader see a sum other than the initial one, while
// keyspace-wide commands run inside other transactions.
func TestStressExecTransfersKeepSum(t *testing.T) {
	s := testServer(t, func(cfg *config.Config) { cfg.Databases = 4 })
	require.NotEqual(t, slots.KeySlot([]byte("acct:a")), slots.KeySlot([]byte("acct:b")))
	c := testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, c, "MSET", "acct:a", "1000", "acct:b", "1000"))
	const total = 2000
	var stop atomic.Bool
	var transfers, watchRetries atomic.Int64

	const writers, watchers, readers, walkers = 4, 3, 3, 2
	conns := make([]*stressConn, writers+watchers+readers+walkers)
	for i := range conns {
		conns[i] = stressDial(t, s)
	}
	runWorkers(t, 120*time.Second, len(conns), func(i int) error {
		sc := conns[i]
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		switch {
		case i < writers: // blind transfers
			defer func() {
				if i == 0 {
					stop.Store(true)
				}
			}()
			for n := 0; n < 400; n++ {
				from, to := "acct:a", "acct:b"
				if rng.IntN(2) == 0 {
					from, to = to, from
				}
				amt := strconv.Itoa(rng.IntN(50))
				r, err := sc.pipeline([][]string{{"MULTI"}, {"DECRBY", from, amt}, {"INCRBY", to, amt}, {"EXEC"}})
				if err != nil {
					return err
				}
				if !strings.HasPrefix(r[3], "*2\r\n") {
					return fmt.Errorf("EXEC replied %q", r[3])
				}
				transfers.Add(1)
			}
		case i < writers+watchers: // optimistic transfers with WATCH
			for n := 0; n < 150 && !stop.Load(); n++ {
				for {
					r, err := sc.pipeline([][]string{{"WATCH", "acct:a", "acct:b"}, {"MGET", "acct:a", "acct:b"}})
					if err != nil {
						return err
					}
					a, b, err := twoInts(r[1])
					if err != nil {
						return err
					}
					amt := int64(rng.IntN(30))
					r, err = sc.pipeline([][]string{{"MULTI"},
						{"SET", "acct:a", strconv.FormatInt(a-amt, 10)},
						{"SET", "acct:b", strconv.FormatInt(b+amt, 10)}, {"EXEC"}})
					if err != nil {
						return err
					}
					if r[3] == "*-1\r\n" {
						watchRetries.Add(1)
						continue
					}
					if r[3] != "*2\r\n+OK\r\n+OK\r\n" {
						return fmt.Errorf("EXEC replied %q", r[3])
					}
					break
				}
			}
		case i < writers+watchers+readers: // readers
			for !stop.Load() {
				var r string
				if i%2 == 0 {
					rs, err := sc.pipeline([][]string{{"MULTI"}, {"GET", "acct:a"}, {"GET", "acct:b"}, {"EXEC"}})
					if err != nil {
						return err
					}
					r = rs[3]
				} else {
					var err error
					if r, err = sc.do("MGET", "acct:a", "acct:b"); err != nil {
						return err
					}
				}
				a, b, err := twoInts(r)
				if err != nil {
					return err
				}
				if a+b != total {
					return fmt.Errorf("sum %d, want %d (%q)", a+b, total, r)
				}
			}
		default: // keyspace-wide commands inside transactions, on other dbs too
			for n := 0; !stop.Load(); n++ {
				k := "w" + strconv.Itoa(n%7)
				r, err := sc.pipeline([][]string{{"MULTI"}, {"KEYS", "acct:*"}, {"DBSIZE"}, {"SCAN", "0", "COUNT", "1000"},
					{"RANDOMKEY"}, {"SELECT", "1"}, {"SET", k, "x"}, {"FLUSHDB"}, {"SELECT", "2"}, {"RPUSH", k, "y"},
					{"SWAPDB", "2", "3"}, {"SELECT", "0"}, {"EXEC"}})
				if err != nil {
					return err
				}
				if !strings.HasPrefix(r[12], "*11\r\n") || strings.Contains(r[12], "\r\n-") {
					return fmt.Errorf("EXEC replied %q", r[12])
				}
				if _, err := sc.do("DBSIZE"); err != nil {
					return err
				}
			}
		}
		return nil
	})
	a, b, err := twoInts(testDo(t, c, "MGET", "acct:a", "acct:b"))
	require.NoError(t, err)
	require.Equal(t, int64(total), a+b)
	t.Logf("%d blind transfers, %d WATCH retries", transfers.Load(), watchRetries.Load())
}

// twoInts parses a two-element array of integer bulk strings (MGET, or
// EXEC of two GETs).
func twoInts(r string) (int64, int64, error) {
	var a, b int64
	if _, err := fmt.Sscanf(r, "*2\r\n$%d\r\n%d\r\n$%d\r\n%d\r\n", new(int), &a, new(int), &b); err != nil {
		return 0, 0, fmt.Errorf("reply %q: %w", r, err)
	}
	return a, b, nil
}

// Elements pushed by producers are received exactly once by consumers
// blocked in BLPOP, BRPOP, BLMPOP and BLMOVE (whose destination is in a
// lower slot than the source), while other clients are unblocked by
// CLIENT UNBLOCK and some pushes happen inside MULTI/EXEC.
func TestStressBlockingHandoffExactlyOnce(t *testing.T) {
	s := testServer(t, nil)
	require.Less(t, slots.KeySlot([]byte("q2")), slots.KeySlot([]byte("q")))
	const producers, perProducer = 4, 300
	const want = producers * perProducer
	var received sync.Map // element -> *atomic.Int32
	var got atomic.Int64
	record := func(e string) error {
		v, _ := received.LoadOrStore(e, new(atomic.Int32))
		if v.(*atomic.Int32).Add(1) != 1 {
			return fmt.Errorf("element %q received twice", e)
		}
		got.Add(1)
		return nil
	}
	const consumers, movers, unblockers = 4, 2, 1
	n := producers + consumers + movers + unblockers
	conns := make([]*stressConn, n)
	for i := range conns {
		conns[i] = stressDial(t, s)
	}
	ids := make([]int64, n)
	for i, sc := range conns {
		r, err := sc.do("CLIENT", "ID")
		require.NoError(t, err)
		ids[i], err = parseIntReply(r)
		require.NoError(t, err)
	}
	finished := func() bool { return got.Load() >= want }
	runWorkers(t, 120*time.Second, n, func(i int) error {
		sc := conns[i]
		switch {
		case i < producers:
			for j := 0; j < perProducer; j++ {
				e := fmt.Sprintf("p%d-%d", i, j)
				switch j % 4 {
				case 0:
					if _, err := sc.do("LPUSH", "q", e); err != nil {
						return err
					}
				case 1:
					if _, err := sc.do("RPUSH", "q", e); err != nil {
						return err
					}
				case 2:
					j++
					e2 := fmt.Sprintf("p%d-%d", i, j)
					r, err := sc.pipeline([][]string{{"MULTI"}, {"LPUSH", "q", e}, {"RPUSH", "q", e2}, {"EXEC"}})
					if err != nil {
						return err
					}
					if !strings.HasPrefix(r[3], "*2\r\n") {
						return fmt.Errorf("EXEC replied %q", r[3])
					}
				default:
					if _, err := sc.do("LPUSH", "q2", e); err != nil {
						return err
					}
				}
			}
		case i < producers+consumers:
			for k := 0; !finished(); k++ {
				var r string
				var err error
				switch k % 3 {
				case 0:
					r, err = sc.do("BLPOP", "q", "q2", "0.2")
				case 1:
					r, err = sc.do("BRPOP", "q2", "q", "0.2")
				default:
					r, err = sc.do("BLMPOP", "0.2", "2", "q", "q2", "LEFT", "COUNT", "2")
				}
				if err != nil {
					return err
				}
				if r == "*-1\r\n" {
					continue
				}
				for _, e := range elementsOf(r) {
					if err := record(e); err != nil {
						return err
					}
				}
			}
		case i < producers+consumers+movers:
			// Move from q to q2: the elements are received later from q2.
			for !finished() {
				if _, err := sc.do("BLMOVE", "q", "q2", "RIGHT", "LEFT", "0.2"); err != nil {
					return err
				}
			}
		default:
			// Unblock the consumers now and then; they retry.
			for !finished() {
				target := ids[producers+rand.IntN(consumers+movers)]
				if _, err := sc.do("CLIENT", "UNBLOCK", strconv.FormatInt(target, 10)); err != nil {
					return err
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		return nil
	})
	require.Equal(t, int64(want), got.Load())
	for i := 0; i < producers; i++ {
		for j := 0; j < perProducer; j++ {
			_, ok := received.Load(fmt.Sprintf("p%d-%d", i, j))
			require.True(t, ok, "p%d-%d lost", i, j)
		}
	}
	c := testDial(t, s)
	require.Equal(t, ":0\r\n", testDo(t, c, "EXISTS", "q", "q2"))
	require.Equal(t, 0, s.BlockedClients())
}

// elementsOf extracts the list elements of a BLPOP/BRPOP ([key, elem]) or
// BLMPOP ([key, [elems]]) reply.
func elementsOf(r string) []string {
	var out []string
	parts := strings.Split(r, "\r\n")
	// Skip the key (the first bulk); every later bulk payload is an element.
	seenKey := false
	for i := 0; i < len(parts)-1; i++ {
		if strings.HasPrefix(parts[i], "$") {
			if seenKey {
				out = append(out, parts[i+1])
			}
			seenKey = true
			i++
		}
	}
	return out
}

// Clients that disconnect while blocked, or are unblocked, never make an
// element disappear: whatever is not received stays in the list.
func TestStressDisconnectWhileBlockedLosesNothing(t *testing.T) {
	s := testServer(t, nil)
	const rounds = 200
	var pushed, popped atomic.Int64
	runWorkers(t, 60*time.Second, 3, func(i int) error {
		switch i {
		case 0: // pushes
			sc := stressDial(t, s)
			for j := 0; j < rounds; j++ {
				if _, err := sc.do("RPUSH", "dq", strconv.Itoa(j)); err != nil {
					return err
				}
				pushed.Add(1)
			}
		case 1: // blocks and hangs up without reading
			for j := 0; j < rounds; j++ {
				c, err := testutil.Dial(s.Addr().String())
				if err != nil {
					return err
				}
				if err := c.WriteRaw([]byte("BLPOP nokey 0\r\n")); err != nil {
					return err
				}
				c.Close()
			}
		default: // pops what it can, reading every reply
			sc := stressDial(t, s)
			for j := 0; j < rounds; j++ {
				r, err := sc.do("BLPOP", "dq", "0.01")
				if err != nil {
					return err
				}
				if r != "*-1\r\n" {
					popped.Add(1)
				}
			}
		}
		return nil
	})
	c := testDial(t, s)
	n, err := parseIntReply(testDo(t, c, "LLEN", "dq"))
	require.NoError(t, err)
	require.Equal(t, pushed.Load(), popped.Load()+n)
	// Every disconnected waiter is gone eventually.
	deadline := time.Now().Add(5 * time.Second)
	for s.BlockedClients() != 0 {
		require.True(t, time.Now().Before(deadline), "%d clients still blocked", s.BlockedClients())
		time.Sleep(time.Millisecond)
	}
}

// A blocking command never times out before its timeout has elapsed.
func TestBlockTimeoutNeverEarly(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	for i := 0; i < 40; i++ {
		start := time.Now()
		require.Equal(t, "*-1\r\n", testDo(t, c, "BLPOP", "nokey", "0.005"))
		require.GreaterOrEqual(t, time.Since(start), 5*time.Millisecond, "round %d", i)
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// Eviction (run by the dispatcher before a denyoom command takes its
// locks), active and lazy expiry, WATCH invalidation, blocking pops and
// keyspace-wide commands all at once: nothing may deadlock and the server
// keeps answering.
func TestStressEvictionExpiryAndTransactions(t *testing.T) {
	s := testServer(t, func(cfg *config.Config) {
		cfg.MaxMemoryPolicy = "allkeys-random"
	})
	ctl := testDial(t, s)
	// Leave a few MB of room above what the process uses now.
	r := testDo(t, ctl, "INFO", "memory")
	i := strings.Index(r, "used_memory:")
	require.GreaterOrEqual(t, i, 0, r)
	cur, err := strconv.ParseInt(strings.TrimSpace(r[i+len("used_memory:"):i+strings.Index(r[i:], "\r\n")]), 10, 64)
	require.NoError(t, err)
	require.Equal(t, "+OK\r\n", testDo(t, ctl, "CONFIG", "SET", "maxmemory", strconv.FormatInt(cur+(1<<20), 10)))
	const workers = 8
	conns := make([]*stressConn, workers)
	for i := range conns {
		conns[i] = stressDial(t, s)
	}
	val := strings.Repeat("v", 4000)
	runWorkers(t, 120*time.Second, workers, func(i int) error {
		sc := conns[i]
		rng := rand.New(rand.NewPCG(uint64(i), 99))
		for n := 0; n < 200; n++ {
			k := "k" + strconv.Itoa(rng.IntN(5000))
			var cmds [][]string
			switch i % 4 {
			case 0:
				cmds = [][]string{{"SET", k, val, "PX", strconv.Itoa(1 + rng.IntN(20))}, {"SET", k + "x", val}}
			case 1:
				cmds = [][]string{{"WATCH", k}, {"GET", k}, {"MULTI"}, {"SET", k, val}, {"INCR", "ctr"}, {"EXEC"}}
			case 2:
				cmds = [][]string{{"RPUSH", "bq" + strconv.Itoa(n%3), val}, {"BLPOP", "bq0", "bq1", "bq2", "0.01"},
					{"BLMOVE", "bq1", "bq2", "LEFT", "RIGHT", "0.01"}}
			default:
				cmds = [][]string{{"MULTI"}, {"DBSIZE"}, {"SCAN", "0", "COUNT", "50"}, {"RANDOMKEY"}, {"EXEC"}, {"KEYS", "k1*"}}
			}
			rs, err := sc.pipeline(cmds)
			if err != nil {
				return err
			}
			for j, r := range rs {
				if strings.HasPrefix(r, "-") && !strings.HasPrefix(r, "-OOM") && !strings.HasPrefix(r, "-EXECABORT") {
					return fmt.Errorf("%v: %q", cmds[j], r)
				}
			}
		}
		return nil
	})
	require.Equal(t, "+PONG\r\n", testDo(t, ctl, "PING"))
	require.Equal(t, "+OK\r\n", testDo(t, ctl, "CONFIG", "SET", "maxmemory", "0"))
	t.Logf("evicted %d keys, expired %d", s.Stats.EvictedKeys.Load(), s.Stats.ExpiredKeys.Load())
}
