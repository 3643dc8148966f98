//go:build !linux

package cluster

import (
	"bytes"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/gossip"
)

// linkOn registers a link of b on conn, as attach does, without a reader.
func linkOn(t *testing.T, b *Bus, id LinkID, conn net.Conn) *busLink {
	bl := &busLink{id: id, conn: conn}
	b.mu.Lock()
	b.conns[id] = bl
	b.mu.Unlock()
	return bl
}

// TestBusSendBacklog: what the socket does not take at once is flushed in
// order by the flusher, and later sends queue behind it.
func TestBusSendBacklog(t *testing.T) {
	b, wg, _ := testBus(t)
	client, server := tcpPair(t)
	bl := linkOn(t, b, 1, client)
	big := &gossip.Message{Header: gossip.Header{Type: gossip.TypePublish}, Channel: []byte("c"),
		Payload: bytes.Repeat([]byte("x"), 16<<20)}
	small := &gossip.Message{Header: gossip.Header{Type: gossip.TypePing, Port: 3}}
	b.stepMu.Lock()
	b.exec([]Output{{Kind: OutSend, Link: 1, Msg: big}, {Kind: OutSend, Link: 1, Msg: small}})
	b.stepMu.Unlock()
	bl.mu.Lock()
	require.True(t, bl.flushing, "16 MiB cannot fit in a socket buffer")
	require.Positive(t, bl.queued)
	bl.mu.Unlock()
	ev, alloc, _ := b.LinkStats(1)
	require.Equal(t, "rw", ev)
	require.Positive(t, alloc)
	m := readPacket(t, server)
	require.Equal(t, big.Payload, m.Payload)
	require.Equal(t, uint16(3), readPacket(t, server).Port)
	wg.Wait()
	bl.mu.Lock()
	require.False(t, bl.flushing)
	require.Zero(t, bl.queued)
	bl.mu.Unlock()
}
