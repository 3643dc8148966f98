package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/testutil"
)

// loopModes are the ways of serving connections the tests below run in:
// every connection on one event loop (so that a loop held by one client
// would stall the others), spread over two loops, and a goroutine each.
var loopModes = []struct {
	name  string
	loops int
}{
	{"one-loop", 1},
	{"two-loops", 2},
	{"goroutines", -1},
}

// loopServer runs a Server whose connections are served as loops says
// (loopSet.NetLoops).
func loopServer(t *testing.T, loops int) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Port = 0
	cfg.Bind = []string{"127.0.0.1"}
	s := New(cfg, zerolog.Nop())
	s.netLoops.NetLoops = loops
	require.NoError(t, s.Listen())
	go s.Serve()
	t.Cleanup(s.Close)
	return s
}

// requireLoopServed checks that the server serves its clients the way the
// mode says (Client.nc never changes once the client is registered).
func requireLoopServed(t *testing.T, s *Server, loops int) {
	t.Helper()
	for _, c := range s.Clients() {
		_, isLoop := c.nc.(*loopConn)
		require.Equal(t, loops > 0, isLoop, "client %d", c.ID)
	}
}

// requireConnEnds reads from nc until the server closes it; data read on the
// way must be want.
func requireConnEnds(t *testing.T, nc net.Conn, want string) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(nc)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server did not close the connection (read %q)", got)
	require.Equal(t, want, string(got))
}

func rawDial(t *testing.T, s *Server) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return nc
}

func encodeStrings(args ...string) []byte {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return testutil.Encode(b)
}

// TestLoopPipelineAcrossReads sends pipelined requests cut into pieces in
// every way that matters to the loop's buffers: one byte at a time, small
// pieces, and all at once with more than the shared read buffer holds, and
// a big value arriving over many reads.
func TestLoopPipelineAcrossReads(t *testing.T) {
	big := strings.Repeat("v", 3*readChunk+17)
	var input, want bytes.Buffer
	for i := 0; i < 400; i++ {
		input.Write(encodeStrings("SET", fmt.Sprintf("key:%d", i), fmt.Sprintf("value-%d", i)))
		want.WriteString("+OK\r\n")
		input.Write(encodeStrings("GET", fmt.Sprintf("key:%d", i)))
		fmt.Fprintf(&want, "$%d\r\nvalue-%d\r\n", len(fmt.Sprint("value-", i)), i)
	}
	input.Write(encodeStrings("SET", "big", big))
	want.WriteString("+OK\r\n")
	input.Write(encodeStrings("STRLEN", "big"))
	fmt.Fprintf(&want, ":%d\r\n", len(big))
	input.WriteString("PING inline\r\n")
	want.WriteString("$6\r\ninline\r\n")
	require.Greater(t, input.Len(), 2*readChunk)

	cuts := []struct {
		name  string
		piece int
	}{
		{"byte-by-byte", 1},
		{"pieces-of-7", 7},
		{"pieces-of-1000", 1000},
		{"all-at-once", input.Len()},
	}
	for _, m := range loopModes {
		t.Run(m.name, func(t *testing.T) {
			s := loopServer(t, m.loops)
			for _, cut := range cuts {
				t.Run(cut.name, func(t *testing.T) {
					nc := rawDial(t, s)
					in := input.Bytes()
					if cut.piece == 1 {
						// A byte at a time through the whole input takes
						// long: a few requests and the big value will do.
						in = append(encodeStrings("SET", "key:0", "value-0"), encodeStrings("GET", "key:0")...)
						in = append(in, input.Bytes()[bytes.Index(input.Bytes(), []byte("*3\r\n$3\r\nSET\r\n$3\r\nbig")):]...)
					}
					got := make(chan []byte, 1)
					go func() {
						var all []byte
						buf := make([]byte, 64<<10)
						nc.SetReadDeadline(time.Now().Add(20 * time.Second))
						for {
							n, err := nc.Read(buf)
							all = append(all, buf[:n]...)
							if err != nil || bytes.HasSuffix(all, []byte("$6\r\ninline\r\n")) {
								break
							}
						}
						got <- all
					}()
					for off := 0; off < len(in); off += cut.piece {
						_, err := nc.Write(in[off:min(off+cut.piece, len(in))])
						require.NoError(t, err)
					}
					r := <-got
					if cut.piece == 1 {
						require.True(t, bytes.HasPrefix(r, []byte("+OK\r\n$7\r\nvalue-0\r\n")), "%q", r[:min(len(r), 40)])
						require.True(t, bytes.HasSuffix(r, []byte(fmt.Sprintf("+OK\r\n:%d\r\n$6\r\ninline\r\n", len(big)))))
						return
					}
					require.Equal(t, want.String(), string(r))
				})
			}
			requireLoopServed(t, s, m.loops)
		})
	}
}

// TestLoopSlowReader: a client that does not read its (big) replies makes
// its loop wait for the socket to drain, while the loop goes on serving the
// other clients; the replies then arrive whole and in order.
func TestLoopSlowReader(t *testing.T) {
	const n = 40
	val := strings.Repeat("x", 256<<10)
	for _, m := range loopModes {
		t.Run(m.name, func(t *testing.T) {
			s := loopServer(t, m.loops)
			ctl := testDial(t, s)
			require.Equal(t, "+OK\r\n", testDo(t, ctl, "SET", "big", val))
			slow := rawDial(t, s)
			var req []byte
			for i := 0; i < n; i++ {
				req = append(req, encodeStrings("GET", "big")...)
			}
			req = append(req, encodeStrings("PING", "end")...)
			_, err := slow.Write(req)
			require.NoError(t, err)
			// 10 MB of replies cannot all be in the socket buffers: the
			// loop waits for the slow client to read, serving ctl meanwhile.
			for i := 0; i < 20; i++ {
				require.Equal(t, "+PONG\r\n", testDo(t, ctl, "PING"))
			}
			all := make([]byte, 0, n*(len(val)+16)+16)
			buf := make([]byte, 64<<10)
			slow.SetReadDeadline(time.Now().Add(20 * time.Second))
			for !bytes.HasSuffix(all, []byte("$3\r\nend\r\n")) {
				k, err := slow.Read(buf)
				require.NoError(t, err)
				all = append(all, buf[:k]...)
			}
			one := fmt.Sprintf("$%d\r\n%s\r\n", len(val), val)
			require.Equal(t, strings.Repeat(one, n)+"$3\r\nend\r\n", string(all))
			// The connection goes on working.
			_, err = slow.Write(encodeStrings("PING"))
			require.NoError(t, err)
			k, err := slow.Read(buf)
			require.NoError(t, err)
			require.Equal(t, "+PONG\r\n", string(buf[:k]))
			requireLoopServed(t, s, m.loops)
		})
	}
}

// TestLoopClosing covers the ways a connection ends: the client's own
// requests (QUIT, a protocol error, a query buffer over the limit), other
// clients (CLIENT KILL), the idle timeout and maxclients.
func TestLoopClosing(t *testing.T) {
	idRx := regexp.MustCompile(`^:(\d+)\r\n$`)
	cases := []struct {
		name  string
		setup []string // CONFIG SET name value
		// run acts on victim (through ctl when needed) and returns what
		// victim reads before the server closes it.
		run func(t *testing.T, s *Server, ctl *testutil.Conn, victim net.Conn) string
	}{
		{"quit", nil, func(t *testing.T, s *Server, ctl *testutil.Conn, victim net.Conn) string {
			victim.Write(append(encodeStrings("QUIT"), encodeStrings("PING")...))
			return "+OK\r\n"
		}},
		{"protocol-error", nil, func(t *testing.T, s *Server, ctl *testutil.Conn, victim net.Conn) string {
			victim.Write([]byte("PING\r\n*1\r\n$x\r\nPING\r\n"))
			return "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
		}},
		{"query-buffer-limit", []string{"client-query-buffer-limit", "1mb"}, func(t *testing.T, s *Server, ctl *testutil.Conn, victim net.Conn) string {
			victim.Write([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000000\r\n"))
			chunk := bytes.Repeat([]byte("z"), 64<<10)
			for i := 0; i < 40; i++ {
				if _, err := victim.Write(chunk); err != nil {
					break // closed by the server already
				}
			}
			return ""
		}},
		{"client-kill", nil, func(t *testing.T, s *Server, ctl *testutil.Conn, victim net.Conn) string {
			victim.Write(encodeStrings("CLIENT", "ID"))
			buf := make([]byte, 64)
			victim.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := victim.Read(buf)
			require.NoError(t, err)
			m := idRx.FindStringSubmatch(string(buf[:n]))
			require.NotNil(t, m, "%q", buf[:n])
			require.Equal(t, ":1\r\n", testDo(t, ctl, "CLIENT", "KILL", "ID", m[1]))
			return ""
		}},
		{"idle-timeout", []string{"timeout", "1"}, func(t *testing.T, s *Server, ctl *testutil.Conn, victim net.Conn) string {
			victim.Write(encodeStrings("PING"))
			return "+PONG\r\n"
		}},
	}
	for _, m := range loopModes {
		t.Run(m.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					s := loopServer(t, m.loops)
					ctl := testDial(t, s)
					require.Equal(t, "+PONG\r\n", testDo(t, ctl, "PING"))
					if tc.setup != nil {
						require.Equal(t, "+OK\r\n", testDo(t, ctl, append([]string{"CONFIG", "SET"}, tc.setup...)...))
					}
					if tc.name == "idle-timeout" {
						// ctl would idle out too: a new one checks the end.
						ctl.Close()
						requireEventually(t, func() bool { return len(s.Clients()) == 0 })
						defer func() {
							ctl = testDial(t, s)
							require.Equal(t, "+PONG\r\n", testDo(t, ctl, "PING"))
						}()
					}
					before := len(s.Clients())
					victim := rawDial(t, s)
					requireEventually(t, func() bool { return len(s.Clients()) == before+1 })
					requireLoopServed(t, s, m.loops)
					want := tc.run(t, s, ctl, victim)
					requireConnEnds(t, victim, want)
					requireEventually(t, func() bool { return len(s.Clients()) == before })
					if tc.name != "idle-timeout" {
						require.Equal(t, "+PONG\r\n", testDo(t, ctl, "PING"))
					}
				})
			}
		})
	}
}

// TestLoopMaxClients: a connection over maxclients gets the error and is
// closed, and does not count.
func TestLoopMaxClients(t *testing.T) {
	for _, m := range loopModes {
		t.Run(m.name, func(t *testing.T) {
			s := loopServer(t, m.loops)
			ctl := testDial(t, s)
			require.Equal(t, "+OK\r\n", testDo(t, ctl, "CONFIG", "SET", "maxclients", "2"))
			second := testDial(t, s)
			require.Equal(t, "+PONG\r\n", testDo(t, second, "PING"))
			third := rawDial(t, s)
			requireConnEnds(t, third, "-ERR max number of clients reached\r\n")
			require.Equal(t, "+PONG\r\n", testDo(t, second, "PING"))
			require.Len(t, s.Clients(), 2)
		})
	}
}

// TestLoopDetach: what a loop must not wait for itself moves the client to
// a goroutine of its own, with its pending input; with one loop, ctl shares
// the victim's loop and must be served all the while.
func TestLoopDetach(t *testing.T) {
	cases := []struct {
		name string
		// stuck: the client is still waiting at the end (no way back to
		// the loop to check).
		stuck bool
		run   func(t *testing.T, s *Server, ctl, cl *testutil.Conn)
	}{
		{"blocking-pop", false, func(t *testing.T, s *Server, ctl, cl *testutil.Conn) {
			require.NoError(t, cl.WriteRaw(append(encodeStrings("BLPOP", "list", "0"), encodeStrings("PING", "after")...)))
			waitBlocked(t, s, 1)
			require.Equal(t, "+PONG\r\n", testDo(t, ctl, "PING"))
			require.Equal(t, ":1\r\n", testDo(t, ctl, "LPUSH", "list", "x"))
			require.Equal(t, "*2\r\n$4\r\nlist\r\n$1\r\nx\r\n", testRead(t, cl))
			require.Equal(t, "$5\r\nafter\r\n", testRead(t, cl))
		}},
		{"subscribe", false, func(t *testing.T, s *Server, ctl, cl *testutil.Conn) {
			require.NoError(t, cl.WriteRaw(append(encodeStrings("SUBSCRIBE", "ch"), encodeStrings("PING")...)))
			require.Equal(t, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", testRead(t, cl))
			require.Equal(t, "*2\r\n$4\r\npong\r\n$0\r\n\r\n", testRead(t, cl))
			require.Equal(t, ":1\r\n", testDo(t, ctl, "PUBLISH", "ch", "hello"))
			require.Equal(t, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n", testRead(t, cl))
			require.Equal(t, "*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n", testDo(t, cl, "UNSUBSCRIBE", "ch"))
		}},
		{"client-pause", false, func(t *testing.T, s *Server, ctl, cl *testutil.Conn) {
			require.Equal(t, "+OK\r\n", testDo(t, ctl, "CLIENT", "PAUSE", "20000", "WRITE"))
			require.NoError(t, cl.WriteRaw(append(encodeStrings("SET", "k", "v"), encodeStrings("GET", "k")...)))
			// The held write must not hold ctl's requests.
			requireEventually(t, func() bool { return s.ext.pause.waiting.Load() == 1 })
			require.Equal(t, "$-1\r\n", testDo(t, ctl, "GET", "k"))
			require.Equal(t, "+OK\r\n", testDo(t, ctl, "CLIENT", "UNPAUSE"))
			require.Equal(t, "+OK\r\n", testRead(t, cl))
			require.Equal(t, "$1\r\nv\r\n", testRead(t, cl))
		}},
		{"wait", true, func(t *testing.T, s *Server, ctl, cl *testutil.Conn) {
			// No replica: WAIT 1 0 waits until the server closes.
			require.NoError(t, cl.WriteRaw(encodeStrings("WAIT", "1", "0")))
			requireEventually(t, func() bool {
				return strings.Contains(testDo(t, ctl, "CLIENT", "LIST"), "cmd=wait ")
			})
			require.Equal(t, "+PONG\r\n", testDo(t, ctl, "PING"))
		}},
	}
	for _, m := range loopModes {
		t.Run(m.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					s := loopServer(t, m.loops)
					ctl := testDial(t, s)
					cl := testDial(t, s)
					require.Equal(t, "+PONG\r\n", testDo(t, cl, "PING"))
					requireLoopServed(t, s, m.loops)
					id := clientID(t, cl)
					tc.run(t, s, ctl, cl)
					if m.loops < 0 || tc.stuck {
						return
					}
					// Detached: served by a goroutine until it has run
					// enough requests without blocking, then back on a loop.
					require.False(t, loopAttached(s, id))
					for i := 0; i < reattachAfter+1; i++ {
						require.Equal(t, "+PONG\r\n", testDo(t, cl, "PING"))
					}
					requireEventually(t, func() bool { return loopAttached(s, id) })
					require.Equal(t, "+PONG\r\n", testDo(t, cl, "PING"))
					// And it can leave again.
					require.NoError(t, cl.WriteRaw(encodeStrings("BLPOP", "again", "0")))
					waitBlocked(t, s, 1)
					// The wait is registered inside the command, the move to a
					// goroutine comes right after it: poll.
					requireEventually(t, func() bool { return !loopAttached(s, id) })
					require.Equal(t, ":1\r\n", testDo(t, ctl, "RPUSH", "again", "y"))
					require.Equal(t, "*2\r\n$5\r\nagain\r\n$1\r\ny\r\n", testRead(t, cl))
					require.Equal(t, "+PONG\r\n", testDo(t, cl, "PING"))
				})
			}
		})
	}
}

// TestLoopServerClose: Close returns with clients on loops, detached ones
// and idle ones, and they all see the end of the connection.
func TestLoopServerClose(t *testing.T) {
	for _, m := range loopModes {
		t.Run(m.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Port = 0
			cfg.Bind = []string{"127.0.0.1"}
			s := New(cfg, zerolog.Nop())
			s.netLoops.NetLoops = m.loops
			require.NoError(t, s.Listen())
			go s.Serve()
			var conns []net.Conn
			for i := 0; i < 6; i++ {
				nc := rawDial(t, s)
				cmd := encodeStrings("PING")
				if i%2 == 0 {
					cmd = encodeStrings("BLPOP", "nothing", "0")
				}
				_, err := nc.Write(cmd)
				require.NoError(t, err)
				if i%2 == 1 {
					buf := make([]byte, 16)
					n, err := nc.Read(buf)
					require.NoError(t, err)
					require.Equal(t, "+PONG\r\n", string(buf[:n]))
				}
				conns = append(conns, nc)
			}
			waitBlocked(t, s, 3)
			done := make(chan struct{})
			go func() { s.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not return")
			}
			for _, nc := range conns {
				requireConnEnds(t, nc, "")
			}
			require.Empty(t, s.Clients())
		})
	}
}

// TestLoopNetStats: the bytes read and written are counted for INFO.
func TestLoopNetStats(t *testing.T) {
	for _, m := range loopModes {
		t.Run(m.name, func(t *testing.T) {
			s := loopServer(t, m.loops)
			c := testDial(t, s)
			in, out := s.Stats.NetInput.Load(), s.Stats.NetOutput.Load()
			require.Equal(t, "+PONG\r\n", testDo(t, c, "PING"))
			req := encodeStrings("ECHO", "hello")
			require.NoError(t, c.WriteRaw(req))
			require.Equal(t, "$5\r\nhello\r\n", testRead(t, c))
			wantIn := int64(len(encodeStrings("PING")) + len(req))
			wantOut := int64(len("+PONG\r\n$5\r\nhello\r\n"))
			requireEventually(t, func() bool {
				return s.Stats.NetInput.Load() == in+wantIn && s.Stats.NetOutput.Load() == out+wantOut
			})
		})
	}
}

// requireEventually polls cond for up to 10 s.
func requireEventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// clientID asks a connection for its client id.
func clientID(t *testing.T, c *testutil.Conn) int64 {
	t.Helper()
	r := testDo(t, c, "CLIENT", "ID")
	var id int64
	_, err := fmt.Sscanf(r, ":%d\r\n", &id)
	require.NoError(t, err, "%q", r)
	return id
}

// loopAttached reports whether an event loop serves the client itself (not
// a goroutine it detached the connection to).
func loopAttached(s *Server, id int64) bool {
	for _, c := range s.Clients() {
		if c.ID == id {
			lc, ok := c.nc.(*loopConn)
			return ok && lc.inner.Load() == nil
		}
	}
	return false
}
