package cluster

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// freeBusPort returns a loopback port that is free now.
func freeBusPort(t *testing.T) int {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type busNode struct {
	st   *State
	bus  *Bus
	port int
	got  chan string
}

func startBusNode(t *testing.T, done chan struct{}, wg *sync.WaitGroup) *busNode {
	cport := freeBusPort(t)
	set := DefaultSettings()
	set.NodeTimeout = 1000
	st, err := New(Options{ConfigFile: filepath.Join(t.TempDir(), "nodes.conf"), Port: cport - 1, CPort: cport,
		Settings: func() Settings { return set }, Log: zerolog.Nop()})
	require.NoError(t, err)
	n := &busNode{st: st, port: cport - 1, got: make(chan string, 16)}
	n.bus = NewBus(st, BusOptions{Listen: []ListenAddr{{Network: "tcp4", Addr: "127.0.0.1:" + strconv.Itoa(cport)}},
		OnPublish: func(ch, msg []byte, shard bool) { n.got <- string(ch) + "=" + string(msg) }, Log: zerolog.Nop()})
	require.NoError(t, n.bus.Listen())
	n.bus.Start(done, wg)
	return n
}

// TestBusLoopback runs three nodes over real TCP in one process (run it
// with -race): MEET, slot propagation, PUBLISH, and a clean shutdown.
func TestBusLoopback(t *testing.T) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var nodes []*busNode
	for i := 0; i < 3; i++ {
		nodes = append(nodes, startBusNode(t, done, &wg))
	}
	defer func() {
		close(done)
		ch := make(chan struct{})
		go func() { wg.Wait(); close(ch) }()
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("bus goroutines did not stop")
		}
	}()
	for i, n := range nodes {
		_, err := n.st.AssignSlots(args(strconv.Itoa(i*5000), strconv.Itoa(min(i*5000+4999, 16383))), false, true)
		require.NoError(t, err)
	}
	_, err := nodes[2].st.AssignSlots(args("15000", "16383"), false, true)
	require.NoError(t, err)
	for _, n := range nodes[1:] {
		require.NoError(t, n.st.Meet(args("127.0.0.1", strconv.Itoa(nodes[0].port), strconv.Itoa(nodes[0].port+1))))
	}
	require.Eventually(t, func() bool {
		var first string
		for _, n := range nodes {
			v := view(n.st)
			if strings.Count(v, "\n") != 3 || strings.Contains(v, "handshake") {
				return false
			}
			if first == "" {
				first = v
			} else if v != first {
				return false
			}
		}
		return true
	}, 15*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool { return nodes[1].st.OK() }, 10*time.Second, 50*time.Millisecond)
	require.Contains(t, nodes[1].st.NodesText(), "127.0.0.1:"+strconv.Itoa(nodes[0].port)+"@")
	links := nodes[0].st.Links()
	require.Len(t, links, 4)
	for _, l := range links {
		ev, _, _ := nodes[0].bus.LinkStats(l.ID)
		require.Contains(t, ev, "r")
	}
	nodes[2].bus.Publish([]byte("news"), []byte("hi"), false)
	for _, n := range nodes[:2] {
		select {
		case m := <-n.got:
			require.Equal(t, "news=hi", m)
		case <-time.After(5 * time.Second):
			t.Fatal("PUBLISH not delivered")
		}
	}
}
