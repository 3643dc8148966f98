package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/testutil"
)

func blkBulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

func blkPair(k, v string) string { return "*2\r\n" + blkBulk(k) + blkBulk(v) }

func TestBlockFIFOOrder(t *testing.T) {
	s := testServer(t, nil)
	var waiters []*testutil.Conn
	for i := 0; i < 3; i++ {
		c := testDial(t, s)
		testSend(t, c, "BLPOP", "q", "0")
		waitBlocked(t, s, i+1) // makes the blocking order certain
		waiters = append(waiters, c)
	}
	p := testDial(t, s)
	require.Equal(t, ":3\r\n", testDo(t, p, "RPUSH", "q", "a", "b", "c"))
	for i, v := range []string{"a", "b", "c"} {
		require.Equal(t, blkPair("q", v), testRead(t, waiters[i]), "waiter %d", i)
	}
	require.Equal(t, ":0\r\n", testDo(t, p, "EXISTS", "q"))
	require.Equal(t, 0, s.BlockedClients())
}

func TestBlockOneElementManyWaiters(t *testing.T) {
	s := testServer(t, nil)
	a, b := testDial(t, s), testDial(t, s)
	testSend(t, a, "BRPOP", "q", "0")
	waitBlocked(t, s, 1)
	testSend(t, b, "BRPOP", "q", "0")
	waitBlocked(t, s, 2)
	p := testDial(t, s)
	require.Equal(t, ":1\r\n", testDo(t, p, "LPUSH", "q", "x"))
	require.Equal(t, blkPair("q", "x"), testRead(t, a))
	testNoReply(t, b)
	require.Equal(t, 1, s.BlockedClients())
	require.Equal(t, ":1\r\n", testDo(t, p, "LPUSH", "q", "y"))
	require.Equal(t, blkPair("q", "y"), testRead(t, b))
}

func TestBlockTimeout(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	start := time.Now()
	require.Equal(t, "*-1\r\n", testDo(t, c, "BLPOP", "nokey", "0.1"))
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	require.Equal(t, 0, s.BlockedClients())
	require.Equal(t, "*-1\r\n", testDo(t, c, "BLMOVE", "nokey", "dst", "LEFT", "LEFT", "0.02"))
	require.Equal(t, "*-1\r\n", testDo(t, c, "BLMPOP", "0.02", "2", "k1", "k2", "LEFT"))
	testDo(t, c, "HELLO", "3")
	require.Equal(t, "_\r\n", testDo(t, c, "BRPOP", "nokey", "0.02"))
	// The connection is usable afterwards.
	require.Equal(t, "+PONG\r\n", testDo(t, c, "PING"))
}

func TestBlockDisconnectKeepsElement(t *testing.T) {
	s := testServer(t, nil)
	gone := testDial(t, s)
	testSend(t, gone, "BLPOP", "q", "0")
	waitBlocked(t, s, 1)
	require.NoError(t, gone.Close())
	waitBlocked(t, s, 0)
	p := testDial(t, s)
	require.Equal(t, ":1\r\n", testDo(t, p, "LPUSH", "q", "x"))
	require.Equal(t, ":1\r\n", testDo(t, p, "LLEN", "q"))
	require.Equal(t, blkBulk("x"), testDo(t, p, "LPOP", "q"))
}

func TestBlockMoveWakesAndChains(t *testing.T) {
	s := testServer(t, nil)
	// Keys in different slots: serving locks both, in slot order.
	require.NotEqual(t, slots.KeySlot([]byte("src")), slots.KeySlot([]byte("dst")))
	mover, popper := testDial(t, s), testDial(t, s)
	testSend(t, mover, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0")
	waitBlocked(t, s, 1)
	testSend(t, popper, "BLPOP", "dst", "0")
	waitBlocked(t, s, 2)
	p := testDial(t, s)
	require.Equal(t, ":2\r\n", testDo(t, p, "RPUSH", "src", "a", "b"))
	require.Equal(t, blkBulk("b"), testRead(t, mover))
	// The element BLMOVE pushed to dst woke the BLPOP on dst.
	require.Equal(t, blkPair("dst", "b"), testRead(t, popper))
	require.Equal(t, "*1\r\n"+blkBulk("a"), testDo(t, p, "LRANGE", "src", "0", "-1"))
	require.Equal(t, ":0\r\n", testDo(t, p, "EXISTS", "dst"))

	// BRPOPLPUSH the other way round (dst slot below src slot).
	testSend(t, mover, "BRPOPLPUSH", "dst", "src", "0")
	waitBlocked(t, s, 1)
	require.Equal(t, ":1\r\n", testDo(t, p, "RPUSH", "dst", "z"))
	require.Equal(t, blkBulk("z"), testRead(t, mover))
	require.Equal(t, "*2\r\n"+blkBulk("z")+blkBulk("a"), testDo(t, p, "LRANGE", "src", "0", "-1"))
}

func TestBlockMoveWrongTypeDestination(t *testing.T) {
	s := testServer(t, nil)
	mover, popper := testDial(t, s), testDial(t, s)
	p := testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, p, "SET", "dst", "string"))
	testSend(t, mover, "BLMOVE", "src", "dst", "LEFT", "LEFT", "0")
	waitBlocked(t, s, 1)
	testSend(t, popper, "BLPOP", "src", "0")
	waitBlocked(t, s, 2)
	require.Equal(t, ":1\r\n", testDo(t, p, "RPUSH", "src", "v"))
	require.Equal(t, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", testRead(t, mover))
	require.Equal(t, blkPair("src", "v"), testRead(t, popper))
}

func TestBlockInsideMulti(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, c, "BLPOP", "q", "0"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, c, "BLMOVE", "q", "d", "LEFT", "LEFT", "0"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, c, "BLMPOP", "0", "1", "q", "LEFT"))
	require.Equal(t, "*3\r\n*-1\r\n$-1\r\n*-1\r\n", testDo(t, c, "EXEC"))
	require.Equal(t, 0, s.BlockedClients())

	// A push inside a transaction wakes a waiter only once EXEC is done,
	// and sees the transaction's final state.
	w := testDial(t, s)
	testSend(t, w, "BLPOP", "q", "0")
	waitBlocked(t, s, 1)
	testDo(t, c, "MULTI")
	testDo(t, c, "RPUSH", "q", "a", "b")
	testDo(t, c, "LPOP", "q")
	require.Equal(t, "*2\r\n:2\r\n"+blkBulk("a"), testDo(t, c, "EXEC"))
	require.Equal(t, blkPair("q", "b"), testRead(t, w))

	// Created then deleted inside EXEC: nothing to serve.
	testSend(t, w, "BLPOP", "q", "0")
	waitBlocked(t, s, 1)
	testDo(t, c, "MULTI")
	testDo(t, c, "RPUSH", "q", "a")
	testDo(t, c, "DEL", "q")
	testDo(t, c, "EXEC")
	testNoReply(t, w)
	require.Equal(t, 1, s.BlockedClients())
	testDo(t, c, "RPUSH", "q", "later")
	require.Equal(t, blkPair("q", "later"), testRead(t, w))
}

func TestBlockPipelinedInput(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	// Replies before the blocking command are sent; commands after it
	// wait until it is served.
	require.NoError(t, c.WriteRaw([]byte("PING\r\nBLPOP q 0\r\nECHO after\r\n")))
	require.Equal(t, "+PONG\r\n", testRead(t, c))
	waitBlocked(t, s, 1)
	testNoReply(t, c)
	require.NoError(t, c.WriteRaw([]byte("ECHO more\r\n")))
	testNoReply(t, c)
	p := testDial(t, s)
	testDo(t, p, "RPUSH", "q", "v")
	require.Equal(t, blkPair("q", "v"), testRead(t, c))
	require.Equal(t, blkBulk("after"), testRead(t, c))
	require.Equal(t, blkBulk("more"), testRead(t, c))
}

func TestBlockMultipleKeys(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	testSend(t, c, "BLMPOP", "0", "3", "k1", "k2", "k1", "RIGHT", "COUNT", "2")
	waitBlocked(t, s, 1)
	p := testDial(t, s)
	testDo(t, p, "RPUSH", "k2", "a", "b", "c")
	require.Equal(t, "*2\r\n"+blkBulk("k2")+"*2\r\n"+blkBulk("c")+blkBulk("b"), testRead(t, c))
	require.Equal(t, 0, s.BlockedClients())
	// A push to the other key later does not reach the served client.
	testDo(t, p, "RPUSH", "k1", "x")
	require.Equal(t, ":1\r\n", testDo(t, p, "LLEN", "k1"))
}

func TestBlockWrongTypeKeyKeepsWaiting(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	testSend(t, c, "BLPOP", "k", "0")
	waitBlocked(t, s, 1)
	p := testDial(t, s)
	testDo(t, p, "SET", "k", "str")
	testNoReply(t, c)
	testDo(t, p, "DEL", "k")
	testDo(t, p, "RPUSH", "k", "v")
	require.Equal(t, blkPair("k", "v"), testRead(t, c))
}

func TestBlockClientUnblock(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	id := strings.TrimSpace(strings.TrimPrefix(testDo(t, c, "CLIENT", "ID"), ":"))
	testSend(t, c, "BLPOP", "q", "0")
	waitBlocked(t, s, 1)
	var cid int64
	fmt.Sscan(id, &cid)
	require.True(t, s.UnblockClient(cid, true))
	require.Equal(t, "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n", testRead(t, c))
	require.False(t, s.UnblockClient(cid, false))

	testSend(t, c, "BLMOVE", "q", "d", "LEFT", "LEFT", "0")
	waitBlocked(t, s, 1)
	require.True(t, s.UnblockClient(cid, false))
	require.Equal(t, "*-1\r\n", testRead(t, c))
	require.Equal(t, 0, s.BlockedClients())
}

func TestBlockServerCloseWhileBlocked(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	testSend(t, c, "BLPOP", "q", "0")
	waitBlocked(t, s, 1)
	s.Close() // must not hang on the blocked connection
	_, err := c.ReadReply(5 * time.Second)
	require.Error(t, err)
}

// TestBlockConcurrentNoLossNoDup has consumers pop with BLPOP while
// producers push: every element is delivered exactly once.
func TestBlockConcurrentNoLossNoDup(t *testing.T) {
	s := testServer(t, nil)
	const producers, consumers, perProducer = 4, 6, 250
	total := producers * perProducer
	got := make(chan string, total)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < consumers; i++ {
		c := testDial(t, s)
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
		p := testDial(t, s)
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
	s := testServer(t, nil)
	w, p := testDial(t, s), testDial(t, s)
	// RENAME creates the key a client waits on.
	testDo(t, p, "RPUSH", "tmp", "r1")
	testSend(t, w, "BLPOP", "k", "0")
	waitBlocked(t, s, 1)
	require.Equal(t, "+OK\r\n", testDo(t, p, "RENAME", "tmp", "k"))
	require.Equal(t, blkPair("k", "r1"), testRead(t, w))
	// So does LMOVE / RPOPLPUSH into it.
	testDo(t, p, "RPUSH", "tmp", "m1")
	testSend(t, w, "BRPOP", "k", "0")
	waitBlocked(t, s, 1)
	require.Equal(t, blkBulk("m1"), testDo(t, p, "RPOPLPUSH", "tmp", "k"))
	require.Equal(t, blkPair("k", "m1"), testRead(t, w))
}

func TestBlockPerDatabase(t *testing.T) {
	s := testServer(t, nil)
	w, p := testDial(t, s), testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, w, "SELECT", "1"))
	testSend(t, w, "BLPOP", "k", "0")
	waitBlocked(t, s, 1)
	testDo(t, p, "RPUSH", "k", "db0") // another database: no wake-up
	testNoReply(t, w)
	testDo(t, p, "SELECT", "1")
	testDo(t, p, "RPUSH", "k", "db1")
	require.Equal(t, blkPair("k", "db1"), testRead(t, w))
	testDo(t, p, "SELECT", "0")
	require.Equal(t, ":1\r\n", testDo(t, p, "LLEN", "k"))
}

func TestBlockRESP3Replies(t *testing.T) {
	s := testServer(t, nil)
	w, p := testDial(t, s), testDial(t, s)
	testDo(t, w, "HELLO", "3")
	testSend(t, w, "BLMPOP", "0", "1", "k", "LEFT", "COUNT", "5")
	waitBlocked(t, s, 1)
	testDo(t, p, "RPUSH", "k", "a", "b")
	require.Equal(t, "*2\r\n"+blkBulk("k")+"*2\r\n"+blkBulk("a")+blkBulk("b"), testRead(t, w))
	require.Equal(t, "_\r\n", testDo(t, w, "BLMOVE", "k", "d", "LEFT", "LEFT", "0.01"))
}

// TestBlockServedBeforePusherReply checks that when the pusher gets its
// reply, the woken client already has the element, even while other
// connections run commands (and may do the serving) at the same time.
func TestBlockServedBeforePusherReply(t *testing.T) {
	s := testServer(t, nil)
	w, p := testDial(t, s), testDial(t, s)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		n := testDial(t, s)
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
		testSend(t, w, "BLPOP", "k", "0")
		waitBlocked(t, s, 1)
		require.Equal(t, ":1\r\n", testDo(t, p, "RPUSH", "k", "v"))
		require.Equal(t, ":0\r\n", testDo(t, p, "LLEN", "k"))
		require.Equal(t, 0, s.BlockedClients())
		require.Equal(t, blkPair("k", "v"), testRead(t, w))
	}
}
