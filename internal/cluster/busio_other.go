//go:build !linux

package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/redcluster/redcluster/internal/gossip"
)

// Elsewhere than on Linux (busio_linux.go), each link has a reader
// goroutine that steps the machine with each packet, and what a socket does
// not take at once goes to a flusher goroutine.

// busIO has nothing here: the links' goroutines are the loop.
type busIO struct{ err error }

func (b *Bus) initIO()      {}
func (b *Bus) startIO()     {}
func (b *Bus) stopIO()      {}
func (b *Bus) checkStalls() {} // the flusher's write deadline does it

func newBusLink(id LinkID) *busLink { return &busLink{id: id} }

// closeLink closes bl. Caller holds stepMu.
func (b *Bus) closeLink(bl *busLink) { bl.close() }

// linkEvents is CLUSTER LINKS' events field of bl.
func (bl *busLink) linkEvents() string {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	events := ""
	if bl.conn != nil && !bl.closed {
		events = "r"
	}
	if bl.queued > 0 {
		events += "w"
	}
	return events
}

// busLink is one connection with what is waiting to be written on it.
type busLink struct {
	id       LinkID
	mu       sync.Mutex
	conn     net.Conn // nil while an outbound link connects
	queue    [][]byte // bytes not written yet
	queued   int
	flushing bool // a flusher goroutine owns the writes of conn
	closed   bool
}

// attach gives bl its connection: a reader starts, and what was sent
// while the link connected is flushed. Caller holds stepMu.
func (b *Bus) attach(bl *busLink, conn net.Conn) bool {
	bl.mu.Lock()
	bl.conn = conn
	if len(bl.queue) > 0 && !bl.flushing {
		b.startFlush(bl)
	}
	bl.mu.Unlock()
	b.wg.Add(1)
	go b.reader(bl, conn)
	return true
}

// closed reports the loss of a link's connection to the state machine
// (unless the machine already dropped the link).
func (b *Bus) closed(bl *busLink, conn net.Conn) {
	b.stepMu.Lock()
	defer b.stepMu.Unlock()
	if b.stopped {
		return
	}
	b.mu.Lock()
	cur := b.conns[bl.id]
	if cur == bl {
		delete(b.conns, bl.id)
	}
	b.mu.Unlock()
	if cur != bl {
		return
	}
	bl.close()
	b.stepLocked(Event{Kind: EvClosed, Link: bl.id})
}

// reader frames packets (cluster-bus.md §7 steps 1-2) and steps the state
// machine with each: a bad signature or length closes the link; other
// malformed packets are dropped and logged.
func (b *Bus) reader(bl *busLink, conn net.Conn) {
	defer b.wg.Done()
	r := bufio.NewReaderSize(conn, 16<<10)
	var head [8]byte
	// One packet buffer and one Message per link: the machine is done
	// with a message when Step returns (what it keeps, it copies), so
	// both are reused for the next packet (the buffer grown for a bigger
	// one).
	var pkt []byte
	var msg gossip.Message
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			b.closed(bl, conn)
			return
		}
		n, err := gossip.FrameLen(head[:])
		if err != nil {
			b.opts.Log.Warn().Str("peer", conn.RemoteAddr().String()).Msg("Bad message length or signature received from Cluster bus.")
			conn.Close()
			b.closed(bl, conn)
			return
		}
		if cap(pkt) < n {
			pkt = make([]byte, n)
		}
		pkt = pkt[:n]
		copy(pkt, head[:])
		if _, err := io.ReadFull(r, pkt[8:]); err != nil {
			b.closed(bl, conn)
			return
		}
		err = gossip.DecodeInto(&msg, pkt)
		if cap(pkt) > 64<<10 {
			pkt = nil // a big PUBLISH: do not keep its buffer for the link's life
		}
		if err != nil {
			var de *gossip.DropError
			if errors.As(err, &de) {
				b.opts.Log.Warn().Str("peer", conn.RemoteAddr().String()).Msg("Received " + de.Reason)
				continue
			}
			conn.Close()
			b.closed(bl, conn)
			return
		}
		b.stepMu.Lock()
		if b.stopped {
			b.stepMu.Unlock()
			return
		}
		// The machine ignores links it already closed (ids are not reused).
		b.stepLocked(Event{Kind: EvMessage, Link: bl.id, Msg: &msg})
		b.stepMu.Unlock()
	}
}

// send queues a copy of pkt (the caller reuses it) for bl's flusher
// goroutine, started when none runs. Caller holds stepMu.
func (b *Bus) send(bl *busLink, pkt []byte) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if bl.closed {
		return
	}
	bl.queue = append(bl.queue, bytes.Clone(pkt))
	bl.queued += len(pkt)
	if bl.conn != nil && !bl.flushing {
		b.startFlush(bl)
	}
}

// startFlush starts the flusher of bl. Caller holds bl.mu.
func (b *Bus) startFlush(bl *busLink) {
	bl.flushing = true
	b.wg.Add(1)
	go b.flush(bl)
}

// flush writes bl's queue until it is empty, waiting for the socket (at
// most twice the node timeout per batch, then the link is closed).
func (b *Bus) flush(bl *busLink) {
	defer b.wg.Done()
	for {
		bl.mu.Lock()
		if bl.closed || len(bl.queue) == 0 {
			bl.flushing = false
			bl.mu.Unlock()
			return
		}
		q := bl.queue
		bl.queue = nil
		conn := bl.conn
		bl.mu.Unlock()
		n := 0
		for _, p := range q {
			n += len(p)
		}
		_ = conn.SetWriteDeadline(time.Now().Add(time.Duration(max(b.st.settings().NodeTimeout, 1000)) * time.Millisecond * 2))
		bufs := net.Buffers(q)
		_, err := bufs.WriteTo(conn)
		_ = conn.SetWriteDeadline(time.Time{})
		bl.mu.Lock()
		if !bl.closed {
			bl.queued -= n
		}
		if err != nil {
			bl.flushing = false
			bl.mu.Unlock()
			conn.Close() // the reader reports the close
			return
		}
		bl.mu.Unlock()
	}
}

func (bl *busLink) close() {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if bl.closed {
		return
	}
	bl.closed = true
	bl.queue = nil
	bl.queued = 0
	if bl.conn != nil {
		bl.conn.Close()
	}
}
