package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

// bulk encodes a RESP bulk string.
func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

func TestPubSubAcrossConnections(t *testing.T) {
	s := testServer(t, nil)
	sub, pub := testDial(t, s), testDial(t, s)

	require.Equal(t, "*3\r\n"+bulk("subscribe")+bulk("news")+":1\r\n", testDo(t, sub, "SUBSCRIBE", "news"))
	require.Equal(t, "*3\r\n"+bulk("psubscribe")+bulk("n*")+":2\r\n", testDo(t, sub, "PSUBSCRIBE", "n*"))
	require.Equal(t, ":2\r\n", testDo(t, pub, "PUBLISH", "news", "hello"))
	require.Equal(t, "*3\r\n"+bulk("message")+bulk("news")+bulk("hello"), testRead(t, sub))
	require.Equal(t, "*4\r\n"+bulk("pmessage")+bulk("n*")+bulk("news")+bulk("hello"), testRead(t, sub))
	require.Equal(t, ":1\r\n", testDo(t, pub, "PUBLISH", "nope", "x"))
	require.Equal(t, "*4\r\n"+bulk("pmessage")+bulk("n*")+bulk("nope")+bulk("x"), testRead(t, sub))
	require.Equal(t, ":0\r\n", testDo(t, pub, "PUBLISH", "other", "x"))
	testNoReply(t, sub)

	require.Equal(t, "*4\r\n"+bulk("news")+":1\r\n"+bulk("x")+":0\r\n", testDo(t, pub, "PUBSUB", "NUMSUB", "news", "x"))
	require.Equal(t, ":1\r\n", testDo(t, pub, "PUBSUB", "NUMPAT"))
	require.Equal(t, "*1\r\n"+bulk("news"), testDo(t, pub, "PUBSUB", "CHANNELS"))

	// Closing the subscriber removes its subscriptions.
	sub.Close()
	deadline := time.Now().Add(5 * time.Second)
	for testDo(t, pub, "PUBSUB", "NUMPAT") != ":0\r\n" {
		require.True(t, time.Now().Before(deadline), "subscriptions survived the close")
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, "*2\r\n"+bulk("news")+":0\r\n", testDo(t, pub, "PUBSUB", "NUMSUB", "news"))
	require.Equal(t, ":0\r\n", testDo(t, pub, "PUBLISH", "news", "hello"))
}

func TestPubSubResp3Push(t *testing.T) {
	s := testServer(t, nil)
	r3, r2, pub := testDial(t, s), testDial(t, s), testDial(t, s)
	testDo(t, r3, "HELLO", "3")
	require.Equal(t, ">3\r\n"+bulk("subscribe")+bulk("ch")+":1\r\n", testDo(t, r3, "SUBSCRIBE", "ch"))
	testDo(t, r2, "SUBSCRIBE", "ch")
	require.Equal(t, ":2\r\n", testDo(t, pub, "PUBLISH", "ch", "m"))
	require.Equal(t, ">3\r\n"+bulk("message")+bulk("ch")+bulk("m"), testRead(t, r3))
	require.Equal(t, "*3\r\n"+bulk("message")+bulk("ch")+bulk("m"), testRead(t, r2))

	// A RESP3 subscriber may run other commands, and publishing to itself
	// puts the push before the PUBLISH reply.
	require.Equal(t, "_\r\n", testDo(t, r3, "GET", "k"))
	require.Equal(t, ">3\r\n"+bulk("message")+bulk("ch")+bulk("self"), testDo(t, r3, "PUBLISH", "ch", "self"))
	require.Equal(t, ":2\r\n", testRead(t, r3))
	require.Equal(t, "*3\r\n"+bulk("message")+bulk("ch")+bulk("self"), testRead(t, r2))

	// Unsubscribing with nothing left answers with a null channel.
	require.Equal(t, ">3\r\n"+bulk("unsubscribe")+bulk("ch")+":0\r\n", testDo(t, r3, "UNSUBSCRIBE"))
	require.Equal(t, ">3\r\n"+bulk("unsubscribe")+"_\r\n:0\r\n", testDo(t, r3, "UNSUBSCRIBE"))
	require.Equal(t, "*3\r\n"+bulk("punsubscribe")+"$-1\r\n:1\r\n", testDo(t, r2, "PUNSUBSCRIBE"))
}

func TestPubSubPatternMatching(t *testing.T) {
	s := testServer(t, nil)
	sub, pub := testDial(t, s), testDial(t, s)
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
		testDo(t, sub, "PSUBSCRIBE", tc.pattern)
		want := ":0\r\n"
		if tc.match {
			want = ":1\r\n"
		}
		require.Equal(t, want, testDo(t, pub, "PUBLISH", tc.channel, "m"), "%q vs %q", tc.pattern, tc.channel)
		if tc.match {
			require.Equal(t, "*4\r\n"+bulk("pmessage")+bulk(tc.pattern)+bulk(tc.channel)+bulk("m"), testRead(t, sub))
		}
		testDo(t, sub, "PUNSUBSCRIBE", tc.pattern)
	}
}

func TestPubSubShardChannels(t *testing.T) {
	s := testServer(t, nil)
	sub, psub, pub := testDial(t, s), testDial(t, s), testDial(t, s)
	require.Equal(t, "*3\r\n"+bulk("ssubscribe")+bulk("s")+":1\r\n", testDo(t, sub, "SSUBSCRIBE", "s"))
	testDo(t, psub, "PSUBSCRIBE", "*")
	require.Equal(t, ":1\r\n", testDo(t, pub, "SPUBLISH", "s", "m"))
	require.Equal(t, "*3\r\n"+bulk("smessage")+bulk("s")+bulk("m"), testRead(t, sub))
	testNoReply(t, psub)
	require.Equal(t, ":1\r\n", testDo(t, pub, "PUBLISH", "s", "m"))
	require.Equal(t, "*4\r\n"+bulk("pmessage")+bulk("*")+bulk("s")+bulk("m"), testRead(t, psub))
	testNoReply(t, sub)
	require.Equal(t, "*2\r\n"+bulk("s")+":1\r\n", testDo(t, pub, "PUBSUB", "SHARDNUMSUB", "s"))
}

func TestPubSubManyPublishers(t *testing.T) {
	s := testServer(t, nil)
	const subs, pubs, msgs = 4, 4, 50
	var subConns []*testutil.Conn
	for i := 0; i < subs; i++ {
		c := testDial(t, s)
		testDo(t, c, "SUBSCRIBE", "load")
		subConns = append(subConns, c)
	}
	var wg sync.WaitGroup
	for p := 0; p < pubs; p++ {
		c := testDial(t, s)
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
			r := testRead(t, c)
			require.True(t, strings.HasPrefix(r, "*3\r\n"+bulk("message")+bulk("load")), r)
			seen[r] = true
		}
		require.Len(t, seen, pubs*msgs)
	}
}

func TestClusterModeShardChannelsAndRouting(t *testing.T) {
	s := testServer(t, clusterMode)
	sub, adm := testDial(t, s), testDial(t, s)
	require.Equal(t, "-CLUSTERDOWN Hash slot not served\r\n", testDo(t, sub, "SSUBSCRIBE", "foo"))
	require.Equal(t, "+OK\r\n", testDo(t, adm, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"))
	require.Equal(t, "-CROSSSLOT Keys in request don't hash to the same slot\r\n", testDo(t, sub, "SSUBSCRIBE", "foo", "bar"))
	// Shard Pub/Sub works while the cluster is still down.
	require.Equal(t, "*3\r\n"+bulk("ssubscribe")+bulk("foo")+":1\r\n", testDo(t, sub, "SSUBSCRIBE", "foo"))
	// The first key decides between "not served" and CROSSSLOT.
	require.Equal(t, "+OK\r\n", testDo(t, adm, "CLUSTER", "DELSLOTS", "5061"))
	require.Equal(t, "-CROSSSLOT Keys in request don't hash to the same slot\r\n", testDo(t, adm, "MSET", "foo", "1", "bar", "2"))
	require.Equal(t, "-CLUSTERDOWN Hash slot not served\r\n", testDo(t, adm, "MSET", "bar", "2", "foo", "1"))
	require.Equal(t, "-ERR SELECT is not allowed in cluster mode\r\n", testDo(t, adm, "SELECT", "1"))

	// Losing the slot unsubscribes the other client, with a notification.
	require.Equal(t, "+OK\r\n", testDo(t, adm, "CLUSTER", "DELSLOTS", "12182"))
	require.Equal(t, "*3\r\n"+bulk("sunsubscribe")+bulk("foo")+":0\r\n", testRead(t, sub))
	require.Equal(t, "*0\r\n", testDo(t, adm, "PUBSUB", "SHARDCHANNELS"))
	// ... and the client left the subscribed context.
	require.Equal(t, "+PONG\r\n", testDo(t, sub, "PING"))

	nodes := testDo(t, adm, "CLUSTER", "NODES")
	require.Contains(t, nodes, " myself,master - 0 0 0 connected 0-5060 5062-12181 12183-16383\n")
}

func TestClusterDisabled(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	for _, cmd := range [][]string{{"CLUSTER", "INFO"}, {"CLUSTER", "KEYSLOT", "x"}, {"READONLY"}, {"READWRITE"}, {"ASKING"}} {
		require.Equal(t, "-ERR This instance has cluster support disabled\r\n", testDo(t, c, cmd...), "%v", cmd)
	}
	require.Equal(t, "-ERR wrong number of arguments for 'cluster|info' command\r\n", testDo(t, c, "CLUSTER", "INFO", "x"))
}

func TestClusterRouterDoesNotAllocate(t *testing.T) {
	s := testServer(t, clusterMode)
	require.Equal(t, "+OK\r\n", testDo(t, testDial(t, s), "CLUSTER", "ADDSLOTSRANGE", "0", "16383"))
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
	s := testServer(t, nil)
	sub, pub := testDial(t, s), testDial(t, s)
	testDo(t, sub, "HELLO", "3")
	testDo(t, sub, "SUBSCRIBE", "ch")
	testDo(t, pub, "PUBLISH", "ch", "a")
	require.Equal(t, ">3\r\n"+bulk("message")+bulk("ch")+bulk("a"), testRead(t, sub))
	require.True(t, strings.HasPrefix(testDo(t, sub, "HELLO", "2"), "*14\r\n"))
	testDo(t, pub, "PUBLISH", "ch", "b")
	require.Equal(t, "*3\r\n"+bulk("message")+bulk("ch")+bulk("b"), testRead(t, sub))
	require.Equal(t, "+RESET\r\n", testDo(t, sub, "RESET"))
	require.Equal(t, ":0\r\n", testDo(t, pub, "PUBLISH", "ch", "c"))
}
