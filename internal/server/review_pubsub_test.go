package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/testutil"
)

// Delivery of Pub/Sub messages to other clients (Client.Deliver) against
// the clients' own replies.

// deadlineConn records the write deadlines set on a connection.
type deadlineConn struct {
	net.Conn
	writeDeadlines atomic.Int64
}

func (d *deadlineConn) SetWriteDeadline(t time.Time) error {
	d.writeDeadlines.Add(1)
	return d.Conn.SetWriteDeadline(t)
}

func (d *deadlineConn) SetDeadline(t time.Time) error {
	d.writeDeadlines.Add(1)
	return d.Conn.SetDeadline(t)
}

// A delivery used to leave a 10 s write deadline on the subscriber's
// socket, so that its own reply to a command sent more than 10 s after a
// message failed and the connection was dropped.
func TestDeliverLeavesNoWriteDeadline(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	dc := &deadlineConn{Conn: a}
	s := &Server{}
	c := &Client{nc: dc, W: resp.NewWriter()}

	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 64)
		var all []byte
		for len(all) < len("+msg\r\n+PONG\r\n") {
			n, err := b.Read(buf)
			if err != nil {
				break
			}
			all = append(all, buf[:n]...)
		}
		got <- string(all)
	}()
	c.Deliver([]byte("+msg\r\n"))
	c.W.Status("PONG")
	require.True(t, s.flush(c))
	select {
	case r := <-got:
		require.Equal(t, "+msg\r\n+PONG\r\n", r)
	case <-time.After(5 * time.Second):
		t.Fatal("nothing written")
	}
	require.Zero(t, dc.writeDeadlines.Load(), "a write deadline was left on the client's socket")
}

// rawSubscriber connects with a tiny receive buffer, subscribes to ch and
// then never reads.
func rawSubscriber(t *testing.T, s *Server, ch string) *net.TCPConn {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	tc := nc.(*net.TCPConn)
	require.NoError(t, tc.SetReadBuffer(4096))
	_, err = tc.Write(testutil.Encode([][]byte{[]byte("SUBSCRIBE"), []byte(ch)}))
	require.NoError(t, err)
	want := fmt.Sprintf("*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n", len(ch), ch)
	buf := make([]byte, len(want))
	_ = tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadFull(tc, buf)
	require.NoError(t, err)
	require.Equal(t, want, string(buf))
	return tc
}

// publishBurst publishes n messages of size bytes to ch and returns how
// long it took.
func publishBurst(t *testing.T, p *testutil.Conn, ch string, n, size int) time.Duration {
	t.Helper()
	msg := strings.Repeat("x", size)
	start := time.Now()
	for i := 0; i < n; i++ {
		r, err := p.DoStrings("PUBLISH", ch, msg)
		require.NoError(t, err)
		require.Contains(t, []string{":1\r\n", ":0\r\n"}, string(r))
	}
	return time.Since(start)
}

func TestPublishNeverWaitsForSlowSubscriber(t *testing.T) {
	s := testServer(t, func(cfg *config.Config) {
		cfg.ClientOutputBufferLimit[2] = config.OutputBufferLimit{} // no limit
	})
	rawSubscriber(t, s, "ch")
	p := testDial(t, s)
	// 24 MB to a client that reads nothing: far more than the socket
	// buffers hold. The publisher must not wait for the subscriber.
	took := publishBurst(t, p, "ch", 384, 64<<10)
	require.Less(t, took, 8*time.Second, "publisher waited for a subscriber that does not read")
	// The server is still responsive to the publisher.
	require.Equal(t, "+PONG\r\n", testDo(t, p, "PING"))
}

func TestSlowSubscriberOverOutputLimitIsDisconnected(t *testing.T) {
	s := testServer(t, func(cfg *config.Config) {
		cfg.ClientOutputBufferLimit[2] = config.OutputBufferLimit{Hard: 1 << 20}
	})
	rawSubscriber(t, s, "ch")
	p := testDial(t, s)
	took := publishBurst(t, p, "ch", 256, 64<<10) // 16 MB
	require.Less(t, took, 8*time.Second, "publisher waited for a subscriber that does not read")
	// Once over the hard limit the subscriber is disconnected, so it no
	// longer counts as a receiver.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := testDo(t, p, "PUBLISH", "ch", "x")
		if r == ":0\r\n" {
			break
		}
		require.True(t, time.Now().Before(deadline), "subscriber still subscribed")
		time.Sleep(5 * time.Millisecond)
	}
}

// readFrames reads RESP values from r until want pushes and want integer
// replies arrived, counting them; it returns an error on anything else.
func readFrames(r *bufio.Reader, nc net.Conn, want int) (pushes, ints int, err error) {
	for pushes < want || ints < want {
		_ = nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		var out bytes.Buffer
		if err := testutil.ReadValue(r, &out); err != nil {
			return pushes, ints, err
		}
		switch b := out.Bytes(); b[0] {
		case '>':
			pushes++
		case ':':
			ints++
		default:
			return pushes, ints, fmt.Errorf("unexpected frame %q", b)
		}
	}
	return pushes, ints, nil
}

// Two RESP3 clients subscribed to each other's channel publish to each
// other in pipelined bursts without reading in between: nothing may
// deadlock, and every message and every reply arrives exactly once.
func TestPubSubPeersPublishingToEachOther(t *testing.T) {
	s := testServer(t, nil)
	const n = 3000
	names := []string{"a", "b"}
	conns := make([]net.Conn, 2)
	readers := make([]*bufio.Reader, 2)
	for i, name := range names {
		nc, err := net.Dial("tcp", s.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { nc.Close() })
		conns[i], readers[i] = nc, bufio.NewReader(nc)
		_, err = nc.Write([]byte("HELLO 3\r\nSUBSCRIBE to" + name + "\r\n"))
		require.NoError(t, err)
		var out bytes.Buffer
		require.NoError(t, testutil.ReadValue(readers[i], &out)) // HELLO
		out.Reset()
		require.NoError(t, testutil.ReadValue(readers[i], &out)) // subscribe push
		require.Equal(t, ">3\r\n$9\r\nsubscribe\r\n$3\r\nto"+name+"\r\n:1\r\n", out.String())
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range names {
		other := names[1-i]
		wg.Add(2)
		go func(nc net.Conn) {
			defer wg.Done()
			var req bytes.Buffer
			for j := 0; j < n; j++ {
				req.Write(testutil.Encode([][]byte{[]byte("PUBLISH"), []byte("to" + other), []byte(strconv.Itoa(j))}))
				if req.Len() > 32<<10 || j == n-1 {
					_ = nc.SetWriteDeadline(time.Now().Add(20 * time.Second))
					if _, err := nc.Write(req.Bytes()); err != nil {
						errs <- err
						return
					}
					req.Reset()
				}
			}
		}(conns[i])
		go func(i int) {
			defer wg.Done()
			pushes, ints, err := readFrames(readers[i], conns[i], n)
			if err != nil {
				errs <- fmt.Errorf("client %s: %d pushes, %d replies: %w", names[i], pushes, ints, err)
			}
		}(i)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("peers publishing to each other did not finish (deadlock?)")
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A RESP3 client subscribed to the channel it publishes to gets the
// message before the reply of its PUBLISH, as in Redis.
func TestPublishToSelfResp3Order(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	testDo(t, c, "HELLO", "3")
	require.Equal(t, ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", testDo(t, c, "SUBSCRIBE", "ch"))
	for i := 0; i < 50; i++ {
		v := strconv.Itoa(i)
		require.Equal(t, ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$"+strconv.Itoa(len(v))+"\r\n"+v+"\r\n",
			testDo(t, c, "PUBLISH", "ch", v))
		require.Equal(t, ":1\r\n", testRead(t, c))
	}
}

// A node losing a slot unsubscribes other clients from its shard
// channels while those clients run commands of their own: their
// subscription state is read by their own goroutine at every command, so
// the two must not race.
func TestShardUnsubscribeOnSlotLossRacesNothing(t *testing.T) {
	s := testServer(t, clusterMode)
	adm, sub := testDial(t, s), testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, adm, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"))
	testDo(t, sub, "HELLO", "3")
	const rounds = 100
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < rounds; i++ {
			if r, err := adm.DoStrings("CLUSTER", "DELSLOTS", "5061"); err != nil || string(r) != "+OK\r\n" {
				t.Errorf("DELSLOTS: %q %v", r, err)
				return
			}
			if r, err := adm.DoStrings("CLUSTER", "ADDSLOTS", "5061"); err != nil || string(r) != "+OK\r\n" {
				t.Errorf("ADDSLOTS: %q %v", r, err)
				return
			}
		}
	}()
	// "foo" hashes to slot 12182, which stays; "bar" to 5061, which comes
	// and goes. The subscriber keeps running commands meanwhile.
	require.Contains(t, testDo(t, sub, "SSUBSCRIBE", "foo"), "ssubscribe")
	for i := 0; i < rounds; i++ {
		require.NoError(t, sub.WriteRaw([]byte("SSUBSCRIBE bar\r\nPING\r\n")))
		// The SSUBSCRIBE reply (a push or CLUSTERDOWN) and sunsubscribe
		// pushes come in some order before the PONG.
		for {
			r, err := sub.ReadReply(5 * time.Second)
			require.NoError(t, err)
			if string(r) == "+PONG\r\n" {
				break
			}
		}
	}
	wg.Wait()
}

// CLIENT REPLY OFF and SKIP silence replies but not Pub/Sub pushes: Redis
// 7.0 sends (un)subscribe confirmations and messages regardless
// (CLIENT_PUSHING).
func TestClientReplyOffKeepsPubSubPushes(t *testing.T) {
	s := testServer(t, nil)
	nc := rawConn(t, s)
	_, err := nc.Write([]byte("CLIENT REPLY OFF\r\nSUBSCRIBE ch\r\nPING\r\nUNSUBSCRIBE ch\r\nSET a 1\r\nCLIENT REPLY ON\r\n"))
	require.NoError(t, err)
	want := "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n+OK\r\n"
	got := make([]byte, len(want))
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadFull(nc, got)
	require.NoError(t, err)
	require.Equal(t, want, string(got))

	c := testDial(t, s)
	testDo(t, c, "HELLO", "3")
	require.NoError(t, c.WriteRaw([]byte("CLIENT REPLY OFF\r\nSUBSCRIBE ch\r\nPUBLISH ch hi\r\nGET a\r\n"+
		"CLIENT REPLY ON\r\nCLIENT REPLY SKIP\r\nPUBLISH ch x\r\nPING\r\n")))
	for _, w := range []string{
		">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
		">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
		"+OK\r\n",
		">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n",
		"+PONG\r\n",
	} {
		require.Equal(t, w, testRead(t, c))
	}
}
