package server

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/testutil"
)

// psServer runs a Server on an ephemeral loopback port; cluster selects
// cluster mode with a nodes.conf in a temporary folder.
func psServer(t *testing.T, cluster bool) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Port = 0
	cfg.Bind = []string{"127.0.0.1"}
	if cluster {
		cfg.ClusterEnabled = true
		cfg.ClusterConfigFile = filepath.Join(t.TempDir(), "nodes.conf")
		// Port 0 would put the bus on the fixed port 0+10000: take a
		// free client port whose bus port is free too.
		cfg.Port = testutil.FreePort(t)
	}
	s := New(cfg, zerolog.Nop())
	require.NoError(t, s.Listen())
	go s.Serve()
	t.Cleanup(s.Close)
	return s
}

func psDial(t *testing.T, s *Server) *testutil.Conn {
	t.Helper()
	c, err := testutil.Dial(s.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func psDo(t *testing.T, c *testutil.Conn, args ...string) string {
	t.Helper()
	r, err := c.DoStrings(args...)
	require.NoError(t, err)
	return string(r)
}

func psRead(t *testing.T, c *testutil.Conn) string {
	t.Helper()
	r, err := c.ReadReply(5 * time.Second)
	require.NoError(t, err)
	return string(r)
}

func psNothing(t *testing.T, c *testutil.Conn) {
	t.Helper()
	r, err := c.ReadReply(30 * time.Millisecond)
	require.Error(t, err, "unexpected reply %q", r)
}

// bulk encodes a RESP bulk string.
func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

func TestPubSubAcrossConnections(t *testing.T) {
	s := psServer(t, false)
	sub, pub := psDial(t, s), psDial(t, s)

	require.Equal(t, "*3\r\n"+bulk("subscribe")+bulk("news")+":1\r\n", psDo(t, sub, "SUBSCRIBE", "news"))
	require.Equal(t, "*3\r\n"+bulk("psubscribe")+bulk("n*")+":2\r\n", psDo(t, sub, "PSUBSCRIBE", "n*"))
	require.Equal(t, ":2\r\n", psDo(t, pub, "PUBLISH", "news", "hello"))
	require.Equal(t, "*3\r\n"+bulk("message")+bulk("news")+bulk("hello"), psRead(t, sub))
	require.Equal(t, "*4\r\n"+bulk("pmessage")+bulk("n*")+bulk("news")+bulk("hello"), psRead(t, sub))
	require.Equal(t, ":1\r\n", psDo(t, pub, "PUBLISH", "nope", "x"))
	require.Equal(t, "*4\r\n"+bulk("pmessage")+bulk("n*")+bulk("nope")+bulk("x"), psRead(t, sub))
	require.Equal(t, ":0\r\n", psDo(t, pub, "PUBLISH", "other", "x"))
	psNothing(t, sub)

	require.Equal(t, "*4\r\n"+bulk("news")+":1\r\n"+bulk("x")+":0\r\n", psDo(t, pub, "PUBSUB", "NUMSUB", "news", "x"))
	require.Equal(t, ":1\r\n", psDo(t, pub, "PUBSUB", "NUMPAT"))
	require.Equal(t, "*1\r\n"+bulk("news"), psDo(t, pub, "PUBSUB", "CHANNELS"))

	// Closing the subscriber removes its subscriptions.
	sub.Close()
	deadline := time.Now().Add(5 * time.Second)
	for psDo(t, pub, "PUBSUB", "NUMPAT") != ":0\r\n" {
		require.True(t, time.Now().Before(deadline), "subscriptions survived the close")
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, "*2\r\n"+bulk("news")+":0\r\n", psDo(t, pub, "PUBSUB", "NUMSUB", "news"))
	require.Equal(t, ":0\r\n", psDo(t, pub, "PUBLISH", "news", "hello"))
}

func TestPubSubResp3Push(t *testing.T) {
	s := psServer(t, false)
	r3, r2, pub := psDial(t, s), psDial(t, s), psDial(t, s)
	psDo(t, r3, "HELLO", "3")
	require.Equal(t, ">3\r\n"+bulk("subscribe")+bulk("ch")+":1\r\n", psDo(t, r3, "SUBSCRIBE", "ch"))
	psDo(t, r2, "SUBSCRIBE", "ch")
	require.Equal(t, ":2\r\n", psDo(t, pub, "PUBLISH", "ch", "m"))
	require.Equal(t, ">3\r\n"+bulk("message")+bulk("ch")+bulk("m"), psRead(t, r3))
	require.Equal(t, "*3\r\n"+bulk("message")+bulk("ch")+bulk("m"), psRead(t, r2))

	// A RESP3 subscriber may run other commands, and publishing to itself
	// puts the push before the PUBLISH reply.
	require.Equal(t, "_\r\n", psDo(t, r3, "GET", "k"))
	require.Equal(t, ">3\r\n"+bulk("message")+bulk("ch")+bulk("self"), psDo(t, r3, "PUBLISH", "ch", "self"))
	require.Equal(t, ":2\r\n", psRead(t, r3))
	require.Equal(t, "*3\r\n"+bulk("message")+bulk("ch")+bulk("self"), psRead(t, r2))

	// Unsubscribing with nothing left answers with a null channel.
	require.Equal(t, ">3\r\n"+bulk("unsubscribe")+bulk("ch")+":0\r\n", psDo(t, r3, "UNSUBSCRIBE"))
	require.Equal(t, ">3\r\n"+bulk("unsubscribe")+"_\r\n:0\r\n", psDo(t, r3, "UNSUBSCRIBE"))
	require.Equal(t, "*3\r\n"+bulk("punsubscribe")+"$-1\r\n:1\r\n", psDo(t, r2, "PUNSUBSCRIBE"))
}

func TestPubSubPatternMatching(t *testing.T) {
	s := psServer(t, false)
	sub, pub := psDial(t, s), psDial(t, s)
	for _, tc := range []struct {
		pattern, channel string
		match            bool
	}{
		{"*", "anything", true},
		{"*", "", false}, // Redis 7.0: '*' needs at least one byte to look at
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h*llo", "hllo", true},
		{"h*llo", "heeello", true},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hello", false},
		{"h[^e]llo", "hallo", true},
		{"h[a-c]llo", "hbllo", true},
		{"h[a-c]llo", "hdllo", false},
		{`h\*`, "h*", true},
		{`h\*`, "hx", false},
		{"Hello", "hello", false},
		{"news.*", "news.", true},
		{"news.*", "news", false},
	} {
		psDo(t, sub, "PSUBSCRIBE", tc.pattern)
		want := ":0\r\n"
		if tc.match {
			want = ":1\r\n"
		}
		require.Equal(t, want, psDo(t, pub, "PUBLISH", tc.channel, "m"), "%q vs %q", tc.pattern, tc.channel)
		if tc.match {
			require.Equal(t, "*4\r\n"+bulk("pmessage")+bulk(tc.pattern)+bulk(tc.channel)+bulk("m"), psRead(t, sub))
		}
		psDo(t, sub, "PUNSUBSCRIBE", tc.pattern)
	}
}

func TestPubSubShardChannels(t *testing.T) {
	s := psServer(t, false)
	sub, psub, pub := psDial(t, s), psDial(t, s), psDial(t, s)
	require.Equal(t, "*3\r\n"+bulk("ssubscribe")+bulk("s")+":1\r\n", psDo(t, sub, "SSUBSCRIBE", "s"))
	psDo(t, psub, "PSUBSCRIBE", "*")
	require.Equal(t, ":1\r\n", psDo(t, pub, "SPUBLISH", "s", "m"))
	require.Equal(t, "*3\r\n"+bulk("smessage")+bulk("s")+bulk("m"), psRead(t, sub))
	psNothing(t, psub)
	require.Equal(t, ":1\r\n", psDo(t, pub, "PUBLISH", "s", "m"))
	require.Equal(t, "*4\r\n"+bulk("pmessage")+bulk("*")+bulk("s")+bulk("m"), psRead(t, psub))
	psNothing(t, sub)
	require.Equal(t, "*2\r\n"+bulk("s")+":1\r\n", psDo(t, pub, "PUBSUB", "SHARDNUMSUB", "s"))
}

func TestPubSubManyPublishers(t *testing.T) {
	s := psServer(t, false)
	const subs, pubs, msgs = 4, 4, 50
	var subConns []*testutil.Conn
	for i := 0; i < subs; i++ {
		c := psDial(t, s)
		psDo(t, c, "SUBSCRIBE", "load")
		subConns = append(subConns, c)
	}
	var wg sync.WaitGroup
	for p := 0; p < pubs; p++ {
		c := psDial(t, s)
		wg.Add(1)
		go func(p int, c *testutil.Conn) {
			defer wg.Done()
			for i := 0; i < msgs; i++ {
				r, err := c.DoStrings("PUBLISH", "load", fmt.Sprintf("%d-%d", p, i))
				if err != nil || string(r) != fmt.Sprintf(":%d\r\n", subs) {
					t.Errorf("publish: %q %v", r, err)
					return
				}
			}
		}(p, c)
	}
	wg.Wait()
	for _, c := range subConns {
		seen := map[string]bool{}
		for i := 0; i < pubs*msgs; i++ {
			r := psRead(t, c)
			require.True(t, strings.HasPrefix(r, "*3\r\n"+bulk("message")+bulk("load")), r)
			seen[r] = true
		}
		require.Len(t, seen, pubs*msgs)
	}
}

func TestClusterModeShardChannelsAndRouting(t *testing.T) {
	s := psServer(t, true)
	sub, adm := psDial(t, s), psDial(t, s)
	require.Equal(t, "-CLUSTERDOWN Hash slot not served\r\n", psDo(t, sub, "SSUBSCRIBE", "foo"))
	require.Equal(t, "+OK\r\n", psDo(t, adm, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"))
	require.Equal(t, "-CROSSSLOT Keys in request don't hash to the same slot\r\n", psDo(t, sub, "SSUBSCRIBE", "foo", "bar"))
	// Shard Pub/Sub works while the cluster is still down.
	require.Equal(t, "*3\r\n"+bulk("ssubscribe")+bulk("foo")+":1\r\n", psDo(t, sub, "SSUBSCRIBE", "foo"))
	// The first key decides between "not served" and CROSSSLOT.
	require.Equal(t, "+OK\r\n", psDo(t, adm, "CLUSTER", "DELSLOTS", "5061"))
	require.Equal(t, "-CROSSSLOT Keys in request don't hash to the same slot\r\n", psDo(t, adm, "MSET", "foo", "1", "bar", "2"))
	require.Equal(t, "-CLUSTERDOWN Hash slot not served\r\n", psDo(t, adm, "MSET", "bar", "2", "foo", "1"))
	require.Equal(t, "-ERR SELECT is not allowed in cluster mode\r\n", psDo(t, adm, "SELECT", "1"))

	// Losing the slot unsubscribes the other client, with a notification.
	require.Equal(t, "+OK\r\n", psDo(t, adm, "CLUSTER", "DELSLOTS", "12182"))
	require.Equal(t, "*3\r\n"+bulk("sunsubscribe")+bulk("foo")+":0\r\n", psRead(t, sub))
	require.Equal(t, "*0\r\n", psDo(t, adm, "PUBSUB", "SHARDCHANNELS"))
	// ... and the client left the subscribed context.
	require.Equal(t, "+PONG\r\n", psDo(t, sub, "PING"))

	nodes := psDo(t, adm, "CLUSTER", "NODES")
	require.Contains(t, nodes, " myself,master - 0 0 0 connected 0-5060 5062-12181 12183-16383\n")
}

func TestClusterDisabled(t *testing.T) {
	s := psServer(t, false)
	c := psDial(t, s)
	for _, cmd := range [][]string{{"CLUSTER", "INFO"}, {"CLUSTER", "KEYSLOT", "x"}, {"READONLY"}, {"READWRITE"}, {"ASKING"}} {
		require.Equal(t, "-ERR This instance has cluster support disabled\r\n", psDo(t, c, cmd...), "%v", cmd)
	}
	require.Equal(t, "-ERR wrong number of arguments for 'cluster|info' command\r\n", psDo(t, c, "CLUSTER", "INFO", "x"))
}

func TestClusterRouterDoesNotAllocate(t *testing.T) {
	s := psServer(t, true)
	require.Equal(t, "+OK\r\n", psDo(t, psDial(t, s), "CLUSTER", "ADDSLOTSRANGE", "0", "16383"))
	r := s.Router.(*clusterRouter)
	cmd := s.Cmds.Lookup([]byte("get"))
	c := &Client{}
	slotList := []int{12182}
	n := testing.AllocsPerRun(1000, func() {
		r.Route(c, cmd, slotList, false)
	})
	require.Zero(t, n)
}

func TestPubSubProtocolSwitchWhileSubscribed(t *testing.T) {
	s := psServer(t, false)
	sub, pub := psDial(t, s), psDial(t, s)
	psDo(t, sub, "HELLO", "3")
	psDo(t, sub, "SUBSCRIBE", "ch")
	psDo(t, pub, "PUBLISH", "ch", "a")
	require.Equal(t, ">3\r\n"+bulk("message")+bulk("ch")+bulk("a"), psRead(t, sub))
	require.True(t, strings.HasPrefix(psDo(t, sub, "HELLO", "2"), "*14\r\n"))
	psDo(t, pub, "PUBLISH", "ch", "b")
	require.Equal(t, "*3\r\n"+bulk("message")+bulk("ch")+bulk("b"), psRead(t, sub))
	require.Equal(t, "+RESET\r\n", psDo(t, sub, "RESET"))
	require.Equal(t, ":0\r\n", psDo(t, pub, "PUBLISH", "ch", "c"))
}
