package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/testutil"
)

// The request path against bad or unusual input.

// rawConn dials the server and returns the bare socket.
func rawConn(t *testing.T, s *Server) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return nc
}

// readAll reads until the server closes the connection.
func readAll(t *testing.T, nc net.Conn) string {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(nc)
	require.NoError(t, err, "read %q", b)
	return string(b)
}

// waitInput polls until the server has read n bytes more than from.
func waitInput(t *testing.T, s *Server, from, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats.NetInput.Load() < from+n {
		require.True(t, time.Now().Before(deadline), "the server did not read the input")
		time.Sleep(2 * time.Millisecond)
	}
}

// readUntilClosed reads until the server closes the connection (a reset
// counts: a server closing with unread input resets it) and returns what
// arrived.
func readUntilClosed(t *testing.T, nc net.Conn) string {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := nc.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "connection not closed; read %q", out)
			return string(out)
		}
	}
}

func TestHugeCountsAllocateNothingUpFront(t *testing.T) {
	s := testServer(t, nil)
	ctl := testDial(t, s)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	heads := []string{"*1000000\r\n", "*2147483647\r\n", "*1\r\n$536870912\r\n", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000000\r\n"}
	conns := make([]net.Conn, len(heads))
	in, sent := s.Stats.NetInput.Load(), 0
	for i, h := range heads {
		conns[i] = rawConn(t, s)
		_, err := conns[i].Write([]byte(h))
		require.NoError(t, err)
		sent += len(h)
	}
	waitInput(t, s, in, int64(sent))
	runtime.ReadMemStats(&after)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "allocated for announced sizes")
	// The clients wait for the rest; the server goes on serving others.
	require.Equal(t, "+PONG\r\n", testDo(t, ctl, "PING"))
	// Sending the rest of the SET completes it.
	_, err := conns[3].Write(append(bytes.Repeat([]byte("v"), 20000000), "\r\n"...))
	require.NoError(t, err)
	buf := make([]byte, 5)
	_ = conns[3].SetReadDeadline(time.Now().Add(60 * time.Second))
	_, err = io.ReadFull(conns[3], buf)
	require.NoError(t, err)
	require.Equal(t, "+OK\r\n", string(buf))
	require.Equal(t, ":20000000\r\n", testDo(t, ctl, "STRLEN", "k"))
	require.Equal(t, ":1\r\n", testDo(t, ctl, "DEL", "k"))
}

// A request bigger than the read buffer, many arguments or one big one,
// arriving in small pieces.
func TestBigRequestsArrivingInPieces(t *testing.T) {
	s := testServer(t, nil)
	nc := rawConn(t, s)
	const members = 100000
	var req bytes.Buffer
	fmt.Fprintf(&req, "*%d\r\n$4\r\nSADD\r\n$3\r\nbig\r\n", members+2)
	for i := 0; i < members; i++ {
		m := strconv.Itoa(i)
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(m), m)
	}
	val := strings.Repeat("0123456789", 300000)
	fmt.Fprintf(&req, "*3\r\n$3\r\nSET\r\n$1\r\ns\r\n$%d\r\n%s\r\n", len(val), val)
	b := req.Bytes()
	for i := 0; i < len(b); i += 1500 {
		_, err := nc.Write(b[i:min(i+1500, len(b))])
		require.NoError(t, err)
	}
	want := ":" + strconv.Itoa(members) + "\r\n+OK\r\n"
	got := make([]byte, len(want))
	_ = nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.ReadFull(nc, got)
	require.NoError(t, err)
	require.Equal(t, want, string(got))
	c := testDial(t, s)
	require.Equal(t, ":"+strconv.Itoa(members)+"\r\n", testDo(t, c, "SCARD", "big"))
	require.Equal(t, ":"+strconv.Itoa(len(val))+"\r\n", testDo(t, c, "STRLEN", "s"))
}

// The arguments of a big request must not keep its read buffer alive
// once the connection moved on to a smaller one.
func TestBigRequestBufferIsReleased(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	big := strings.Repeat("x", 48<<20)
	require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "big", big))
	big = ""
	require.Equal(t, ":1\r\n", testDo(t, c, "DEL", "big"))
	require.Equal(t, "+PONG\r\n", testDo(t, c, "PING"))
	require.Less(t, heap(), base+24<<20, "the 48 MB request is still referenced")
}

func TestQueryBufferLimit(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, c, "CONFIG", "SET", "client-query-buffer-limit", "1mb"))
	nc := rawConn(t, s)
	_, err := nc.Write([]byte("*2\r\n$4\r\nECHO\r\n$3000000\r\n"))
	require.NoError(t, err)
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for i := 0; i < 40; i++ {
		if _, err := nc.Write(chunk); err != nil {
			break // closed by the server
		}
	}
	require.Equal(t, "", readUntilClosed(t, nc), "closed without a reply")
	require.Equal(t, "+PONG\r\n", testDo(t, c, "PING"))
}

func TestInlineRequests(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	nc := rawConn(t, s)
	spaces := strings.Repeat(" ", 30000)
	_, err := nc.Write([]byte("SET" + spaces + "k" + spaces + "'a b'\t\r\nGET k\r\n\r\n   \r\nPING\n"))
	require.NoError(t, err)
	want := "+OK\r\n$3\r\na b\r\n+PONG\r\n"
	got := make([]byte, len(want))
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadFull(nc, got)
	require.NoError(t, err)
	require.Equal(t, want, string(got))
	// A line longer than 64 KB without its newline is refused.
	nc2 := rawConn(t, s)
	_, err = nc2.Write([]byte(strings.Repeat("a", 70000)))
	require.NoError(t, err)
	require.Equal(t, "-ERR Protocol error: too big inline request\r\n", readAll(t, nc2))
	require.Equal(t, "+PONG\r\n", testDo(t, c, "PING"))
}

func TestNothingRunsAfterQuitOrProtocolError(t *testing.T) {
	s := testServer(t, nil)
	for _, tc := range []struct{ in, out string }{
		{"PING\r\nQUIT\r\nSET a 1\r\n", "+PONG\r\n+OK\r\n"},
		{"*1\r\n$4\r\nPING\r\n*1\r\n$x\r\nSET a 1\r\n", "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"},
		{"PING\r\n*1\r\nSET a 1\r\n", "+PONG\r\n-ERR Protocol error: expected '$', got 'S'\r\n"},
		{"ECHO \"a\r\nSET a 1\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"*1\r\n$4\r\nPING\r\n*3000000000\r\n", "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"},
	} {
		nc := rawConn(t, s)
		_, err := nc.Write([]byte(tc.in))
		require.NoError(t, err)
		require.Equal(t, tc.out, readAll(t, nc), "%q", tc.in)
	}
	c := testDial(t, s)
	require.Equal(t, ":0\r\n", testDo(t, c, "EXISTS", "a"))
}

// A connection that has not run a command yet shows in CLIENT LIST as
// Redis shows it: flags=N, multi=-1, resp=2.
func TestClientListFreshConnection(t *testing.T) {
	s := testServer(t, nil)
	rawConn(t, s)
	c := testDial(t, s)
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Clients()) < 2 {
		require.True(t, time.Now().Before(deadline))
		time.Sleep(time.Millisecond)
	}
	list := testDo(t, c, "CLIENT", "LIST")
	require.Regexp(t, `flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 .* cmd=NULL user=default redir=-1 resp=2`, list)
	require.NotContains(t, list, "flags=x")
}

// Subscribed clients are exempt from the idle timeout (Redis's
// clientsCronHandleTimeout), including those that subscribed after the
// connection loop had armed the idle deadline; and no client is timed out
// once the timeout is set back to 0.
func TestIdleTimeoutSparesSubscribers(t *testing.T) {
	s := testServer(t, nil)
	ctl, sub, spared := testDial(t, s), testDial(t, s), testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, ctl, "CONFIG", "SET", "timeout", "1"))
	require.Equal(t, "+PONG\r\n", testDo(t, sub, "PING"))
	require.Equal(t, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", testDo(t, sub, "SUBSCRIBE", "ch"))
	require.Equal(t, "+PONG\r\n", testDo(t, spared, "PING"))
	require.Equal(t, "+OK\r\n", testDo(t, ctl, "CONFIG", "SET", "timeout", "0"))
	require.Equal(t, "+PONG\r\n", testDo(t, spared, "PING"))
	time.Sleep(2500 * time.Millisecond) // the idle timeout is in seconds
	require.Equal(t, ":1\r\n", testDo(t, ctl, "PUBLISH", "ch", "hi"))
	require.Equal(t, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", testRead(t, sub))
	require.Equal(t, "+PONG\r\n", testDo(t, spared, "PING"))
}

// Close returns even while clients keep connecting: a connection accepted
// as Close runs must not be left open (Close would wait for it forever).
func TestCloseWhileClientsConnect(t *testing.T) {
	for round := 0; round < 30; round++ {
		// Not connServer: its cleanup would call Close again and wait for
		// the stuck one if this test fails.
		cfg := config.Default()
		cfg.Port = 0
		cfg.Bind = []string{"127.0.0.1"}
		s := New(cfg, zerolog.Nop())
		require.NoError(t, s.Listen())
		go s.Serve()
		addr := s.Addr().String()
		// Serve has started once a client is answered.
		c0, err := testutil.Dial(addr)
		require.NoError(t, err)
		defer c0.Close()
		r, err := c0.DoStrings("PING")
		require.NoError(t, err)
		require.Equal(t, "+PONG\r\n", string(r))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					nc, err := net.DialTimeout("tcp", addr, time.Second)
					if err != nil {
						continue
					}
					defer nc.Close() // stays open and idle until the test ends
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Close did not return", round)
		}
		close(stop)
		wg.Wait()
	}
}
