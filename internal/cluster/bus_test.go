package cluster

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/gossip"
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

// testBus is a Bus that is not started: the tests drive exec and send.
func testBus(t *testing.T) (*Bus, *sync.WaitGroup, string) {
	path := filepath.Join(t.TempDir(), "nodes.conf")
	st, err := New(Options{ConfigFile: path, Port: 7000, Log: zerolog.Nop()})
	require.NoError(t, err)
	b := NewBus(st, BusOptions{Log: zerolog.Nop()})
	var wg sync.WaitGroup
	b.wg = &wg
	return b, &wg, path
}

// tcpPair is a connected loopback TCP pair.
func tcpPair(t *testing.T) (client, server net.Conn) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	client, err = net.Dial("tcp4", ln.Addr().String())
	require.NoError(t, err)
	server, err = ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// readPacket reads one framed packet.
func readPacket(t *testing.T, r io.Reader) *gossip.Message {
	var head [8]byte
	_, err := io.ReadFull(r, head[:])
	require.NoError(t, err)
	n, err := gossip.FrameLen(head[:])
	require.NoError(t, err)
	pkt := make([]byte, n)
	copy(pkt, head[:])
	_, err = io.ReadFull(r, pkt[8:])
	require.NoError(t, err)
	m, err := gossip.Decode(pkt)
	require.NoError(t, err)
	return m
}

// linkedTestBus is testBus with link 1 connected to server, the peer end
// returned, and a PING and a PONG to send on it.
func linkedTestBus(t *testing.T) (b *Bus, wg *sync.WaitGroup, path string, server net.Conn, ping, pong *gossip.Message) {
	b, wg, path = testBus(t)
	client, server := tcpPair(t)
	linkOn(t, b, 1, client)
	ping = &gossip.Message{Header: gossip.Header{Type: gossip.TypePing, Port: 1}}
	pong = &gossip.Message{Header: gossip.Header{Type: gossip.TypePong, Port: 2}}
	return b, wg, path, server, ping, pong
}

// TestBusGroupCommit: a save with fsync holds every later output (of its
// step and of the steps after it) until the newest held nodes.conf text is
// on disk; of the saves without fsync that follow, the newest lands.
func TestBusGroupCommit(t *testing.T) {
	b, wg, path, server, ping, pong := linkedTestBus(t)
	b.stepMu.Lock()
	b.exec([]Output{{Kind: OutSave, Fsync: true, Gen: 10, Text: "first\n"}, {Kind: OutSend, Link: 1, Msg: ping}})
	b.exec([]Output{{Kind: OutSend, Link: 1, Msg: pong}, {Kind: OutSave, Gen: 11, Text: "second\n"}})
	b.stepMu.Unlock()
	// Nothing is sent before the newest held text is saved.
	require.Equal(t, gossip.TypePing, readPacket(t, server).Type)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "second\n", string(got))
	require.Equal(t, gossip.TypePong, readPacket(t, server).Type)
	wg.Wait()
	b.stepMu.Lock()
	require.Nil(t, b.held)
	b.exec([]Output{{Kind: OutSave, Gen: 12, Text: "third\n"}, {Kind: OutSave, Gen: 13, Text: "fourth\n"}})
	b.stepMu.Unlock()
	wg.Wait()
	got, err = os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "fourth\n", string(got))
}

// TestBusSaveWithoutFsyncDoesNotHoldSends: a save without fsync is written
// by a goroutine of its own, so the sends after it go out while the write
// still waits (here for the state's save lock, as it would for a slow
// rename), and the newest of the saves requested meanwhile is the one
// that lands.
func TestBusSaveWithoutFsyncDoesNotHoldSends(t *testing.T) {
	b, wg, path, server, ping, pong := linkedTestBus(t)
	b.st.saveMu.Lock() // the writer blocks on it
	b.stepMu.Lock()
	b.exec([]Output{{Kind: OutSave, Gen: 20, Text: "one\n"}, {Kind: OutSend, Link: 1, Msg: ping}})
	b.exec([]Output{{Kind: OutSave, Gen: 21, Text: "two\n"}, {Kind: OutSend, Link: 1, Msg: pong}})
	b.stepMu.Unlock()
	require.Equal(t, gossip.TypePing, readPacket(t, server).Type)
	require.Equal(t, gossip.TypePong, readPacket(t, server).Type)
	b.st.saveMu.Unlock()
	wg.Wait()
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "two\n", string(got))
	b.saveMu.Lock()
	require.False(t, b.saving)
	require.Nil(t, b.pendingSave)
	b.saveMu.Unlock()
}

// TestBusExternalCron: with ExternalCron the bus runs no clock of its own;
// each Cron call is one cron step, and none happens before Start.
func TestBusExternalCron(t *testing.T) {
	st, err := New(Options{ConfigFile: filepath.Join(t.TempDir(), "nodes.conf"), Port: 7000, Log: zerolog.Nop()})
	require.NoError(t, err)
	b := NewBus(st, BusOptions{ExternalCron: true, Log: zerolog.Nop()})
	iterations := func() uint64 {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.iteration
	}
	b.Cron()
	require.Zero(t, iterations(), "Cron before Start")
	done := make(chan struct{})
	var wg sync.WaitGroup
	b.Start(done, &wg)
	for range 3 {
		b.Cron()
	}
	time.Sleep(300 * time.Millisecond) // an own 100 ms clock would tick meanwhile
	require.Equal(t, uint64(3), iterations())
	close(done)
	wg.Wait()
	b.Cron()
	require.Equal(t, uint64(3), iterations(), "Cron after shutdown")
}

// TestBusFraming drives a bus's inbound link over TCP as a peer would: a
// PING split across writes is framed and answered with a PONG, a packet
// that fails validation (version 2) is dropped and the link kept, and a
// bad signature closes the link (cluster-bus.md §7).
func TestBusFraming(t *testing.T) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	n := startBusNode(t, done, &wg)
	defer func() { close(done); wg.Wait() }()
	conn, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(n.port+1))
	require.NoError(t, err)
	defer conn.Close()
	ping := &gossip.Message{Header: gossip.Header{Type: gossip.TypePing, Port: 1, CPort: 10001, IP: "127.0.0.1",
		Sender: gossip.NameFrom(strings.Repeat("ab", 20))}}
	pkt := gossip.Encode(ping)
	for _, cut := range [][2]int{{0, 5}, {5, 2000}, {2000, len(pkt)}} {
		_, err := conn.Write(pkt[cut[0]:cut[1]])
		require.NoError(t, err)
	}
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	require.Equal(t, gossip.TypePong, readPacket(t, conn).Type)
	bad := bytes.Clone(pkt)
	bad[9] = 2 // version 2
	_, err = conn.Write(append(bad, pkt...))
	require.NoError(t, err)
	require.Equal(t, gossip.TypePong, readPacket(t, conn).Type, "the link outlives a dropped packet")
	bad = bytes.Clone(pkt)
	bad[0] = 'X'
	_, err = conn.Write(bad)
	require.NoError(t, err)
	_, err = io.ReadFull(conn, make([]byte, 1))
	require.ErrorIs(t, err, io.EOF, "a bad signature closes the link")
}
