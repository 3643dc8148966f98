package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/testutil"
)

// blkServer runs a Server on 127.0.0.1 with an ephemeral port.
func blkServer(t *testing.T) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Port = 0
	cfg.Bind = []string{"127.0.0.1"}
	s := New(cfg, zerolog.Nop())
	require.NoError(t, s.Listen())
	go s.Serve()
	t.Cleanup(s.Close)
	return s
}

func blkDial(t *testing.T, s *Server) *testutil.Conn {
	t.Helper()
	c, err := testutil.Dial(s.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// blkDo sends a command and returns its reply.
func blkDo(t *testing.T, c *testutil.Conn, args ...string) string {
	t.Helper()
	r, err := c.DoStrings(args...)
	require.NoError(t, err)
	return string(r)
}

// blkSend sends a command without reading its reply.
func blkSend(t *testing.T, c *testutil.Conn, args ...string) {
	t.Helper()
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	require.NoError(t, c.WriteRaw(testutil.Encode(b)))
}

func blkRead(t *testing.T, c *testutil.Conn) string {
	t.Helper()
	r, err := c.ReadReply(5 * time.Second)
	require.NoError(t, err)
	return string(r)
}

// blkWaitBlocked polls until n clients are blocked.
func blkWaitBlocked(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.BlockedClients() != n {
		if time.Now().After(deadline) {
			t.Fatalf("blocked clients: %d, want %d", s.BlockedClients(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// blkNoReply checks that nothing arrives on c for a short while.
func blkNoReply(t *testing.T, c *testutil.Conn) {
	t.Helper()
	r, err := c.ReadReply(30 * time.Millisecond)
	require.Error(t, err, "unexpected reply %q", r)
	require.Empty(t, r)
}

func blkBulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

func blkPair(k, v string) string { return "*2\r\n" + blkBulk(k) + blkBulk(v) }

func TestBlockFIFOOrder(t *testing.T) {
	s := blkServer(t)
	var waiters []*testutil.Conn
	for i := 0; i < 3; i++ {
		c := blkDial(t, s)
		blkSend(t, c, "BLPOP", "q", "0")
		blkWaitBlocked(t, s, i+1) // makes the blocking order certain
		waiters = append(waiters, c)
	}
	p := blkDial(t, s)
	require.Equal(t, ":3\r\n", blkDo(t, p, "RPUSH", "q", "a", "b", "c"))
	for i, v := range []string{"a", "b", "c"} {
		require.Equal(t, blkPair("q", v), blkRead(t, waiters[i]), "waiter %d", i)
	}
	require.Equal(t, ":0\r\n", blkDo(t, p, "EXISTS", "q"))
	require.Equal(t, 0, s.BlockedClients())
}

func TestBlockOneElementManyWaiters(t *testing.T) {
	s := blkServer(t)
	a, b := blkDial(t, s), blkDial(t, s)
	blkSend(t, a, "BRPOP", "q", "0")
	blkWaitBlocked(t, s, 1)
	blkSend(t, b, "BRPOP", "q", "0")
	blkWaitBlocked(t, s, 2)
	p := blkDial(t, s)
	require.Equal(t, ":1\r\n", blkDo(t, p, "LPUSH", "q", "x"))
	require.Equal(t, blkPair("q", "x"), blkRead(t, a))
	blkNoReply(t, b)
	require.Equal(t, 1, s.BlockedClients())
	require.Equal(t, ":1\r\n", blkDo(t, p, "LPUSH", "q", "y"))
	require.Equal(t, blkPair("q", "y"), blkRead(t, b))
}

func TestBlockTimeout(t *testing.T) {
	s := blkServer(t)
	c := blkDial(t, s)
	start := time.Now()
	require.Equal(t, "*-1\r\n", blkDo(t, c, "BLPOP", "nokey", "0.1"))
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	require.Equal(t, 0, s.BlockedClients())
	require.Equal(t, "*-1\r\n", blkDo(t, c, "BLMOVE", "nokey", "dst", "LEFT", "LEFT", "0.02"))
	require.Equal(t, "*-1\r\n", blkDo(t, c, "BLMPOP", "0.02", "2", "k1", "k2", "LEFT"))
	blkDo(t, c, "HELLO", "3")
	require.Equal(t, "_\r\n", blkDo(t, c, "BRPOP", "nokey", "0.02"))
	// The connection is usable afterwards.
	require.Equal(t, "+PONG\r\n", blkDo(t, c, "PING"))
}

func TestBlockDisconnectKeepsElement(t *testing.T) {
	s := blkServer(t)
	gone := blkDial(t, s)
	blkSend(t, gone, "BLPOP", "q", "0")
	blkWaitBlocked(t, s, 1)
	require.NoError(t, gone.Close())
	blkWaitBlocked(t, s, 0)
	p := blkDial(t, s)
	require.Equal(t, ":1\r\n", blkDo(t, p, "LPUSH", "q", "x"))
	require.Equal(t, ":1\r\n", blkDo(t, p, "LLEN", "q"))
	require.Equal(t, blkBulk("x"), blkDo(t, p, "LPOP", "q"))
}

func TestBlockMoveWakesAndChains(t *testing.T) {
	s := blkServer(t)
	// Keys in different slots: serving locks both, in slot order.
	require.NotEqual(t, slots.KeySlot([]byte("src")), slots.KeySlot([]byte("dst")))
	mover, popper := blkDial(t, s), blkDial(t, s)
	blkSend(t, mover, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0")
	blkWaitBlocked(t, s, 1)
	blkSend(t, popper, "BLPOP", "dst", "0")
	blkWaitBlocked(t, s, 2)
	p := blkDial(t, s)
	require.Equal(t, ":2\r\n", blkDo(t, p, "RPUSH", "src", "a", "b"))
	require.Equal(t, blkBulk("b"), blkRead(t, mover))
	// The element BLMOVE pushed to dst woke the BLPOP on dst.
	require.Equal(t, blkPair("dst", "b"), blkRead(t, popper))
	require.Equal(t, "*1\r\n"+blkBulk("a"), blkDo(t, p, "LRANGE", "src", "0", "-1"))
	require.Equal(t, ":0\r\n", blkDo(t, p, "EXISTS", "dst"))

	// BRPOPLPUSH the other way round (dst slot below src slot).
	blkSend(t, mover, "BRPOPLPUSH", "dst", "src", "0")
	blkWaitBlocked(t, s, 1)
	require.Equal(t, ":1\r\n", blkDo(t, p, "RPUSH", "dst", "z"))
	require.Equal(t, blkBulk("z"), blkRead(t, mover))
	require.Equal(t, "*2\r\n"+blkBulk("z")+blkBulk("a"), blkDo(t, p, "LRANGE", "src", "0", "-1"))
}

func TestBlockMoveWrongTypeDestination(t *testing.T) {
	s := blkServer(t)
	mover, popper := blkDial(t, s), blkDial(t, s)
	p := blkDial(t, s)
	require.Equal(t, "+OK\r\n", blkDo(t, p, "SET", "dst", "string"))
	blkSend(t, mover, "BLMOVE", "src", "dst", "LEFT", "LEFT", "0")
	blkWaitBlocked(t, s, 1)
	blkSend(t, popper, "BLPOP", "src", "0")
	blkWaitBlocked(t, s, 2)
	require.Equal(t, ":1\r\n", blkDo(t, p, "RPUSH", "src", "v"))
	require.Equal(t, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", blkRead(t, mover))
	require.Equal(t, blkPair("src", "v"), blkRead(t, popper))
}

func TestBlockInsideMulti(t *testing.T) {
	s := blkServer(t)
	c := blkDial(t, s)
	require.Equal(t, "+OK\r\n", blkDo(t, c, "MULTI"))
	require.Equal(t, "+QUEUED\r\n", blkDo(t, c, "BLPOP", "q", "0"))
	require.Equal(t, "+QUEUED\r\n", blkDo(t, c, "BLMOVE", "q", "d", "LEFT", "LEFT", "0"))
	require.Equal(t, "+QUEUED\r\n", blkDo(t, c, "BLMPOP", "0", "1", "q", "LEFT"))
	require.Equal(t, "*3\r\n*-1\r\n$-1\r\n*-1\r\n", blkDo(t, c, "EXEC"))
	require.Equal(t, 0, s.BlockedClients())

	// A push inside a transaction wakes a waiter only once EXEC is done,
	// and sees the transaction's final state.
	w := blkDial(t, s)
	blkSend(t, w, "BLPOP", "q", "0")
	blkWaitBlocked(t, s, 1)
	blkDo(t, c, "MULTI")
	blkDo(t, c, "RPUSH", "q", "a", "b")
	blkDo(t, c, "LPOP", "q")
	require.Equal(t, "*2\r\n:2\r\n"+blkBulk("a"), blkDo(t, c, "EXEC"))
	require.Equal(t, blkPair("q", "b"), blkRead(t, w))

	// Created then deleted inside EXEC: nothing to serve.
	blkSend(t, w, "BLPOP", "q", "0")
	blkWaitBlocked(t, s, 1)
	blkDo(t, c, "MULTI")
	blkDo(t, c, "RPUSH", "q", "a")
	blkDo(t, c, "DEL", "q")
	blkDo(t, c, "EXEC")
	blkNoReply(t, w)
	require.Equal(t, 1, s.BlockedClients())
	blkDo(t, c, "RPUSH", "q", "later")
	require.Equal(t, blkPair("q", "later"), blkRead(t, w))
}

func TestBlockPipelinedInput(t *testing.T) {
	s := blkServer(t)
	c := blkDial(t, s)
	// Replies before the blocking command are sent; commands after it
	// wait until it is served.
	require.NoError(t, c.WriteRaw([]byte("PING\r\nBLPOP q 0\r\nECHO after\r\n")))
	require.Equal(t, "+PONG\r\n", blkRead(t, c))
	blkWaitBlocked(t, s, 1)
	blkNoReply(t, c)
	require.NoError(t, c.WriteRaw([]byte("ECHO more\r\n")))
	blkNoReply(t, c)
	p := blkDial(t, s)
	blkDo(t, p, "RPUSH", "q", "v")
	require.Equal(t, blkPair("q", "v"), blkRead(t, c))
	require.Equal(t, blkBulk("after"), blkRead(t, c))
	require.Equal(t, blkBulk("more"), blkRead(t, c))
}

func TestBlockMultipleKeys(t *testing.T) {
	s := blkServer(t)
	c := blkDial(t, s)
	blkSend(t, c, "BLMPOP", "0", "3", "k1", "k2", "k1", "RIGHT", "COUNT", "2")
	blkWaitBlocked(t, s, 1)
	p := blkDial(t, s)
	blkDo(t, p, "RPUSH", "k2", "a", "b", "c")
	require.Equal(t, "*2\r\n"+blkBulk("k2")+"*2\r\n"+blkBulk("c")+blkBulk("b"), blkRead(t, c))
	require.Equal(t, 0, s.BlockedClients())
	// A push to the other key later does not reach the served client.
	blkDo(t, p, "RPUSH", "k1", "x")
	require.Equal(t, ":1\r\n", blkDo(t, p, "LLEN", "k1"))
}

func TestBlockWrongTypeKeyKeepsWaiting(t *testing.T) {
	s := blkServer(t)
	c := blkDial(t, s)
	blkSend(t, c, "BLPOP", "k", "0")
	blkWaitBlocked(t, s, 1)
	p := blkDial(t, s)
	blkDo(t, p, "SET", "k", "str")
	blkNoReply(t, c)
	blkDo(t, p, "DEL", "k")
	blkDo(t, p, "RPUSH", "k", "v")
	require.Equal(t, blkPair("k", "v"), blkRead(t, c))
}

func TestBlockClientUnblock(t *testing.T) {
	s := blkServer(t)
	c := blkDial(t, s)
	id := strings.TrimSpace(strings.TrimPrefix(blkDo(t, c, "CLIENT", "ID"), ":"))
	blkSend(t, c, "BLPOP", "q", "0")
	blkWaitBlocked(t, s, 1)
	var cid int64
	fmt.Sscan(id, &cid)
	require.True(t, s.UnblockClient(cid, true))
	require.Equal(t, "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n", blkRead(t, c))
	require.False(t, s.UnblockClient(cid, false))

	blkSend(t, c, "BLMOVE", "q", "d", "LEFT", "LEFT", "0")
	blkWaitBlocked(t, s, 1)
	require.True(t, s.UnblockClient(cid, false))
	require.Equal(t, "*-1\r\n", blkRead(t, c))
	require.Equal(t, 0, s.BlockedClients())
}

func TestBlockServerCloseWhileBlocked(t *testing.T) {
	s := blkServer(t)
	c := blkDial(t, s)
	blkSend(t, c, "BLPOP", "q", "0")
	blkWaitBlocked(t, s, 1)
	s.Close() // must not hang on the blocked connection
	_, err := c.ReadReply(5 * time.Second)
	require.Error(t, err)
}

// TestBlockConcurrentNoLossNoDup has consumers pop with BLPOP while
// producers push: every element is delivered exactly once.
func TestBlockConcurrentNoLossNoDup(t *testing.T) {
	s := blkServer(t)
	const producers, consumers, perProducer = 4, 6, 250
	total := producers * perProducer
	got := make(chan string, total)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < consumers; i++ {
		c := blkDial(t, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r, err := c.DoStrings("BLPOP", "q1", "q2", "0.05")
				if err != nil {
					return
				}
				if string(r) != "*-1\r\n" {
					// *2 $2 qN $len value
					parts := strings.Split(string(r), "\r\n")
					got <- parts[4]
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	var pw sync.WaitGroup
	for i := 0; i < producers; i++ {
		p := blkDial(t, s)
		pw.Add(1)
		go func(i int) {
			defer pw.Done()
			for j := 0; j < perProducer; j++ {
				key := []string{"q1", "q2"}[j%2]
				if _, err := p.DoStrings("RPUSH", key, fmt.Sprintf("%d-%d", i, j)); err != nil {
					return
				}
			}
		}(i)
	}
	pw.Wait()
	seen := map[string]bool{}
	timeout := time.After(20 * time.Second)
	for len(seen) < total {
		select {
		case v := <-got:
			require.False(t, seen[v], "duplicate %s", v)
			seen[v] = true
		case <-timeout:
			t.Fatalf("received %d of %d", len(seen), total)
		}
	}
	close(stop)
	wg.Wait()
	require.Len(t, got, 0)
}

func TestBlockWokenByOtherCreators(t *testing.T) {
	s := blkServer(t)
	w, p := blkDial(t, s), blkDial(t, s)
	// RENAME creates the key a client waits on.
	blkDo(t, p, "RPUSH", "tmp", "r1")
	blkSend(t, w, "BLPOP", "k", "0")
	blkWaitBlocked(t, s, 1)
	require.Equal(t, "+OK\r\n", blkDo(t, p, "RENAME", "tmp", "k"))
	require.Equal(t, blkPair("k", "r1"), blkRead(t, w))
	// So does LMOVE / RPOPLPUSH into it.
	blkDo(t, p, "RPUSH", "tmp", "m1")
	blkSend(t, w, "BRPOP", "k", "0")
	blkWaitBlocked(t, s, 1)
	require.Equal(t, blkBulk("m1"), blkDo(t, p, "RPOPLPUSH", "tmp", "k"))
	require.Equal(t, blkPair("k", "m1"), blkRead(t, w))
}

func TestBlockPerDatabase(t *testing.T) {
	s := blkServer(t)
	w, p := blkDial(t, s), blkDial(t, s)
	require.Equal(t, "+OK\r\n", blkDo(t, w, "SELECT", "1"))
	blkSend(t, w, "BLPOP", "k", "0")
	blkWaitBlocked(t, s, 1)
	blkDo(t, p, "RPUSH", "k", "db0") // another database: no wake-up
	blkNoReply(t, w)
	blkDo(t, p, "SELECT", "1")
	blkDo(t, p, "RPUSH", "k", "db1")
	require.Equal(t, blkPair("k", "db1"), blkRead(t, w))
	blkDo(t, p, "SELECT", "0")
	require.Equal(t, ":1\r\n", blkDo(t, p, "LLEN", "k"))
}

func TestBlockRESP3Replies(t *testing.T) {
	s := blkServer(t)
	w, p := blkDial(t, s), blkDial(t, s)
	blkDo(t, w, "HELLO", "3")
	blkSend(t, w, "BLMPOP", "0", "1", "k", "LEFT", "COUNT", "5")
	blkWaitBlocked(t, s, 1)
	blkDo(t, p, "RPUSH", "k", "a", "b")
	require.Equal(t, "*2\r\n"+blkBulk("k")+"*2\r\n"+blkBulk("a")+blkBulk("b"), blkRead(t, w))
	require.Equal(t, "_\r\n", blkDo(t, w, "BLMOVE", "k", "d", "LEFT", "LEFT", "0.01"))
}

// TestBlockServedBeforePusherReply checks that when the pusher gets its
// reply, the woken client already has the element, even while other
// connections run commands (and may do the serving) at the same time.
func TestBlockServedBeforePusherReply(t *testing.T) {
	s := blkServer(t)
	w, p := blkDial(t, s), blkDial(t, s)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		n := blkDial(t, s)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := n.DoStrings("RPUSH", fmt.Sprintf("noise%d", i), "x"); err != nil {
					return
				}
			}
		}(i)
	}
	defer func() { close(stop); wg.Wait() }()
	for i := 0; i < 100; i++ {
		blkSend(t, w, "BLPOP", "k", "0")
		blkWaitBlocked(t, s, 1)
		require.Equal(t, ":1\r\n", blkDo(t, p, "RPUSH", "k", "v"))
		require.Equal(t, ":0\r\n", blkDo(t, p, "LLEN", "k"))
		require.Equal(t, 0, s.BlockedClients())
		require.Equal(t, blkPair("k", "v"), blkRead(t, w))
	}
}
