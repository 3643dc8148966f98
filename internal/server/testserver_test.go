package server

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/testutil"
)

// testServer runs a Server on 127.0.0.1 for one test; tweak adjusts the
// configuration first. The port is ephemeral; in cluster mode it is a free
// port whose bus port (port+10000) is free too, since port 0 would put the
// bus on 10000, and nodes.conf lives in a temporary folder.
func testServer(t *testing.T, tweak func(*config.Config)) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Port = 0
	cfg.Bind = []string{"127.0.0.1"}
	if tweak != nil {
		tweak(cfg)
	}
	if cfg.ClusterEnabled {
		cfg.Port = testutil.FreePort(t)
		cfg.ClusterConfigFile = filepath.Join(t.TempDir(), "nodes.conf")
	}
	s := New(cfg, zerolog.Nop())
	s.persist.dir = t.TempDir() // dump.rdb: never the package folder
	require.NoError(t, s.Listen())
	go s.Serve()
	t.Cleanup(func() {
		s.Close()
		s.waitBgsave() // before the folder goes
	})
	return s
}

// clusterMode is a testServer tweak for cluster-enabled servers.
func clusterMode(cfg *config.Config) { cfg.ClusterEnabled = true }

// testDial opens a raw RESP connection to s, closed when the test ends.
func testDial(t *testing.T, s *Server) *testutil.Conn {
	t.Helper()
	c, err := testutil.Dial(s.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// testDo sends a command and returns its raw reply.
func testDo(t *testing.T, c *testutil.Conn, args ...string) string {
	t.Helper()
	r, err := c.DoStrings(args...)
	require.NoError(t, err, "%v", args)
	return string(r)
}

// testSend sends a command without reading its reply.
func testSend(t *testing.T, c *testutil.Conn, args ...string) {
	t.Helper()
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	require.NoError(t, c.WriteRaw(testutil.Encode(b)))
}

// testRead reads one reply.
func testRead(t *testing.T, c *testutil.Conn) string {
	t.Helper()
	r, err := c.ReadReply(5 * time.Second)
	require.NoError(t, err)
	return string(r)
}

// testNoReply checks that nothing arrives on c for a short while.
func testNoReply(t *testing.T, c *testutil.Conn) {
	t.Helper()
	r, err := c.ReadReply(30 * time.Millisecond)
	require.Error(t, err, "unexpected reply %q", r)
	require.Empty(t, r)
}

// waitBlocked polls until n clients are blocked.
func waitBlocked(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.BlockedClients() != n {
		if time.Now().After(deadline) {
			t.Fatalf("blocked clients: %d, want %d", s.BlockedClients(), n)
		}
		time.Sleep(time.Millisecond)
	}
}
