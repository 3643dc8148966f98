//go:build linux

package cluster

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/gossip"
)

// linkOn registers a link of b on conn, as accept does; nothing reads it
// until the bus's loop runs.
func linkOn(t *testing.T, b *Bus, id LinkID, conn net.Conn) *busLink {
	bl := newBusLink(id)
	b.stepMu.Lock()
	require.True(t, b.attach(bl, conn))
	b.stepMu.Unlock()
	b.mu.Lock()
	b.conns[id] = bl
	b.mu.Unlock()
	return bl
}

// TestBusSendBacklog: what the socket does not take at once waits in the
// link's queue, later sends queue behind it, and the loop writes it all, in
// order, as the socket drains.
func TestBusSendBacklog(t *testing.T) {
	b, wg, _ := testBus(t)
	client, server := tcpPair(t)
	bl := linkOn(t, b, 1, client)
	big := &gossip.Message{Header: gossip.Header{Type: gossip.TypePublish}, Channel: []byte("c"),
		Payload: bytes.Repeat([]byte("x"), 16<<20)}
	small := &gossip.Message{Header: gossip.Header{Type: gossip.TypePing, Port: 3}}
	b.stepMu.Lock()
	b.exec([]Output{{Kind: OutSend, Link: 1, Msg: big}, {Kind: OutSend, Link: 1, Msg: small}})
	bl.mu.Lock()
	require.True(t, bl.wantOut, "16 MiB cannot fit in a socket buffer")
	require.Positive(t, bl.queued)
	bl.mu.Unlock()
	b.startIO()
	b.stepMu.Unlock()
	ev, alloc, _ := b.LinkStats(1)
	require.Equal(t, "rw", ev)
	require.Positive(t, alloc)
	m := readPacket(t, server)
	require.Equal(t, big.Payload, m.Payload)
	require.Equal(t, uint16(3), readPacket(t, server).Port)
	require.Eventually(t, func() bool {
		b.stepMu.Lock()
		defer b.stepMu.Unlock()
		bl.mu.Lock()
		defer bl.mu.Unlock()
		return !bl.wantOut && bl.queued == 0 && bl.stalled == 0
	}, 5*time.Second, time.Millisecond)
	b.stepMu.Lock()
	b.stopped = true
	b.stopIO()
	b.stepMu.Unlock()
	wg.Wait()
}

// TestBusStalledQueueShutDown: a queue that filled while the link was
// connecting and is only partly written at attach is watched, and once it
// makes no progress for 2·NT the link is shut down.
func TestBusStalledQueueShutDown(t *testing.T) {
	b, _, _ := testBus(t)
	client, server := tcpPair(t)
	bl := newBusLink(1)
	b.mu.Lock()
	b.conns[1] = bl
	b.mu.Unlock()
	big := &gossip.Message{Header: gossip.Header{Type: gossip.TypePublish}, Channel: []byte("c"),
		Payload: bytes.Repeat([]byte("x"), 16<<20)}
	b.stepMu.Lock()
	defer b.stepMu.Unlock()
	b.exec([]Output{{Kind: OutSend, Link: 1, Msg: big}}) // queued: not connected yet
	require.True(t, b.attach(bl, client))
	require.True(t, bl.wantOut, "16 MiB cannot fit in a socket buffer")
	require.Contains(t, b.io.waiting, bl)
	bl.stalled -= 2*int64(b.st.settings().NodeTimeout) + 1
	b.checkStalls()
	require.Empty(t, b.io.waiting)
	// The peer sees the shutdown once it drains what was written.
	require.NoError(t, server.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err := io.Copy(io.Discard, server)
	require.NoError(t, err, "EOF after the shutdown")
}
