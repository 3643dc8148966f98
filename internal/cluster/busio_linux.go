//go:build linux

package cluster

import (
	"bytes"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/redcluster/redcluster/internal/gossip"
	"github.com/redcluster/redcluster/internal/sockfd"
)

// The bus's sockets on Linux: one epoll loop for every link, in the manner
// of Redis's ae. The loop waits for readable links, reads each one's
// pending bytes, frames and decodes every whole packet, and steps the
// state machine once with all of them (State.Steps), so what Redis does
// once per event-loop iteration in clusterBeforeSleep (the state update,
// the save, here also the routing snapshot) runs once per wait and not
// once per packet. A goroutine per link, as elsewhere (busio_other.go),
// costs a wake-up, a lock hand-off and a stack per packet and link: in a
// forming 120-node cluster on two cores that overhead alone saturated the
// machine, pongs came late, nodes flagged each other PFAIL and then FAIL,
// and the FAIL broadcasts kept it saturated.
//
// Dials and accepts stay on goroutines of their own (once per link); the
// descriptor of the connection they get is duplicated and the runtime's
// connection closed, so the runtime's poller no longer sees it. Writes are
// made at once (one non-blocking write, under stepMu); what the socket does
// not take waits in the link's queue, and the loop asks for EPOLLOUT until
// it is written. A queue that makes no progress for twice the node timeout
// closes the link.

// busLink is one connection with what is waiting to be written on it.
type busLink struct {
	id    LinkID
	token uint32 // the link's name in the epoll set (busIO.tokens)

	// mu guards what LinkStats reads; everything else is changed under
	// the bus's stepMu only.
	mu      sync.Mutex
	fd      int      // -1 until attached and after close
	queue   [][]byte // bytes the socket did not take yet
	queued  int
	closed  bool
	wantOut bool // EPOLLOUT is asked for
	// inWaiting: in busIO.waiting (checkStalls), under stepMu.
	inWaiting bool
	stalled   int64 // unix ms since when the queue made no progress (0: empty)

	// in holds the start of a packet not all received yet.
	in []byte
}

func newBusLink(id LinkID) *busLink { return &busLink{id: id, fd: -1} }

// busIO is the epoll loop's state; after NewBus, all of it is used under
// stepMu.
type busIO struct {
	err       error    // creating the epoll set failed (Listen reports it)
	epfd      int      // the epoll set (tokens start at 1)
	file      *os.File // epfd, waited for in the runtime's poller
	raw       syscall.RawConn
	running   bool
	tokens    map[uint32]*busLink
	nextToken uint32
	events    []syscall.EpollEvent
	batch     []Event
	msgs      []*gossip.Message // decoded packets, reused batch to batch
	nmsgs     int
	rbuf      []byte     // where links are read
	waiting   []*busLink // links that waited for EPOLLOUT (checkStalls)
}

// readBufSize is the loop's read buffer; a read that fills it is followed
// by another one.
const readBufSize = 64 << 10

// maxReadsPerWake bounds the reads of one link per wait, so a link that
// never runs dry cannot starve the others (epoll is level-triggered).
const maxReadsPerWake = 8

// keepInputCap: a link's input buffer grown beyond this (a big PUBLISH) is
// dropped once empty.
const keepInputCap = 64 << 10

func (b *Bus) initIO() {
	io := &b.io
	io.epfd = -1
	io.tokens = make(map[uint32]*busLink)
	io.events = make([]syscall.EpollEvent, 256)
	io.rbuf = make([]byte, readBufSize)
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err == nil {
		if err = syscall.SetNonblock(epfd, true); err != nil {
			syscall.Close(epfd)
		}
	}
	if err != nil {
		io.err = errors.New("creating the cluster bus epoll set: " + err.Error())
		return
	}
	io.epfd = epfd
	io.file = os.NewFile(uintptr(epfd), "cluster-bus-epoll")
	if io.raw, err = io.file.SyscallConn(); err != nil {
		io.file.Close()
		io.epfd = -1
		io.err = errors.New("polling the cluster bus epoll set: " + err.Error())
	}
}

// startIO starts the epoll loop. Caller holds stepMu.
func (b *Bus) startIO() {
	if b.io.err != nil || b.io.running {
		return
	}
	b.io.running = true
	b.wg.Add(1)
	go b.pollLoop()
}

// stopIO closes the epoll set, which ends the loop. Caller holds stepMu.
func (b *Bus) stopIO() {
	if b.io.file != nil {
		b.io.file.Close()
		b.io.file = nil
		b.io.epfd = -1
	}
}

// wait waits until the epoll set has events and returns them. The set's
// own descriptor waits in the runtime's poller (it is readable while an
// event is ready), and epoll_wait itself never blocks: a goroutine
// blocked in a system call for long is taken its P by sysmon, which then
// polls at its fastest for a while, many wake-ups per packet on an idle
// node (rawio_linux.go).
func (b *Bus) wait() (int, error) {
	io := &b.io
	var n int
	var werr error
	err := io.raw.Read(func(fd uintptr) bool {
		r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, fd,
			uintptr(unsafe.Pointer(&io.events[0])), uintptr(len(io.events)), 0, 0, 0)
		for e == syscall.EINTR {
			r, _, e = syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, fd,
				uintptr(unsafe.Pointer(&io.events[0])), uintptr(len(io.events)), 0, 0, 0)
		}
		if e != 0 {
			n, werr = 0, e
			return true
		}
		n = int(r)
		return n > 0
	})
	if err == nil {
		err = werr
	}
	return n, err
}

// pollLoop is the epoll loop; it ends when the set is closed.
func (b *Bus) pollLoop() {
	defer b.wg.Done()
	io := &b.io
	for {
		n, err := b.wait()
		b.stepMu.Lock()
		if b.stopped {
			b.stepMu.Unlock()
			return
		}
		if err != nil {
			// Nothing is read any more: say so loudly.
			b.opts.Log.Error().Err(err).Msg("The cluster bus stopped reading its links")
			b.stepMu.Unlock()
			return
		}
		now := nowMs()
		for i := 0; i < n; i++ {
			e := &io.events[i]
			bl := io.tokens[uint32(e.Fd)]
			if bl == nil {
				continue // closed since the wait returned
			}
			if e.Events&syscall.EPOLLOUT != 0 {
				b.onWritable(bl, now)
			}
			if e.Events&(syscall.EPOLLIN|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				b.onReadable(bl, now)
			}
		}
		if len(io.batch) > 0 {
			b.exec(b.st.Steps(io.batch))
		}
		b.endBatch()
		b.stepMu.Unlock()
	}
}

// endBatch forgets the batch's events (their messages are reused).
func (b *Bus) endBatch() {
	io := &b.io
	clear(io.batch)
	io.batch = io.batch[:0]
	for _, m := range io.msgs[:io.nmsgs] {
		// A big PUBLISH's payload is not kept until the slot's next use.
		m.Channel, m.Payload, m.Extensions = nil, nil, nil
	}
	io.nmsgs = 0
}

// nextMsg is a decoded-message holder for the batch.
func (b *Bus) nextMsg() *gossip.Message {
	io := &b.io
	if io.nmsgs == len(io.msgs) {
		io.msgs = append(io.msgs, new(gossip.Message))
	}
	m := io.msgs[io.nmsgs]
	io.nmsgs++
	return m
}

// onReadable reads what bl has, frames packets (cluster-bus.md §7 steps
// 1-2) and adds them to the batch: a bad signature or length closes the
// link; another packet that does not decode is dropped with a log line.
// Reads go to the loop's buffer; only the start of a packet that has not
// all arrived is kept in the link's own (decoded messages copy what they
// keep, so the buffer is reused at once).
func (b *Bus) onReadable(bl *busLink, now int64) {
	io := &b.io
	for reads := 0; reads < maxReadsPerWake && bl.fd >= 0; reads++ {
		n, ok, err := rawRead(uintptr(bl.fd), io.rbuf)
		if !ok {
			return
		}
		if err != nil {
			b.lostLink(bl, now)
			return
		}
		data := io.rbuf[:n]
		if len(bl.in) > 0 {
			bl.in = append(bl.in, data...)
			data = bl.in
		}
		rest, ok := b.frame(bl, data, now)
		if !ok {
			return
		}
		// Keep the unframed rest, unless it is bl.in untouched (a big
		// packet arriving read by read: copying it onto itself each time
		// would be quadratic).
		if len(bl.in) == 0 || len(rest) != len(bl.in) {
			bl.in = append(bl.in[:0], rest...)
		}
		if len(bl.in) == 0 && cap(bl.in) > keepInputCap {
			bl.in = nil
		}
		if n < len(io.rbuf) {
			return
		}
	}
}

// frame adds the whole packets at the start of data to the batch and
// returns what follows them; false when the link was closed.
func (b *Bus) frame(bl *busLink, data []byte, now int64) ([]byte, bool) {
	io := &b.io
	for len(data) >= 8 {
		size, err := gossip.FrameLen(data[:8])
		if err != nil {
			b.opts.Log.Warn().Str("peer", b.peerOf(bl)).Msg("Bad message length or signature received from Cluster bus.")
			b.lostLink(bl, now)
			return nil, false
		}
		if len(data) < size {
			break
		}
		pkt := data[:size]
		data = data[size:]
		m := b.nextMsg()
		if err := gossip.DecodeInto(m, pkt); err != nil {
			io.nmsgs-- // not handed out
			var de *gossip.DropError
			if errors.As(err, &de) {
				b.opts.Log.Warn().Str("peer", b.peerOf(bl)).Msg("Received " + de.Reason)
				continue
			}
			b.lostLink(bl, now)
			return nil, false
		}
		io.batch = append(io.batch, Event{Kind: EvMessage, Link: bl.id, Msg: m, Now: now})
	}
	return data, true
}

// peerOf names bl's peer for a log line.
func (b *Bus) peerOf(bl *busLink) string {
	if bl.fd < 0 {
		return ""
	}
	sa, err := syscall.Getpeername(bl.fd)
	if err != nil {
		return ""
	}
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return (&net.TCPAddr{IP: a.Addr[:], Port: a.Port}).String()
	case *syscall.SockaddrInet6:
		return (&net.TCPAddr{IP: a.Addr[:], Port: a.Port}).String()
	}
	return ""
}

// lostLink closes bl after its peer closed it (or it failed) and adds the
// loss to the batch, unless the machine dropped the link already.
func (b *Bus) lostLink(bl *busLink, now int64) {
	b.mu.Lock()
	cur := b.conns[bl.id]
	if cur == bl {
		delete(b.conns, bl.id)
	}
	b.mu.Unlock()
	b.closeLink(bl)
	if cur == bl {
		b.io.batch = append(b.io.batch, Event{Kind: EvClosed, Link: bl.id, Now: now})
	}
}

// attach gives bl the socket of conn (conn itself is closed) and registers
// it with the loop; what was sent while the link connected is written.
// False when the socket cannot be had (the link is then closed). Caller
// holds stepMu.
func (b *Bus) attach(bl *busLink, conn net.Conn) bool {
	fd, err := -1, b.io.err
	if err == nil {
		fd, err = sockfd.Dup(conn)
	}
	conn.Close()
	if err == nil {
		for b.io.nextToken++; b.io.nextToken == 0 || b.io.tokens[b.io.nextToken] != nil; b.io.nextToken++ {
		}
		bl.token = b.io.nextToken
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(bl.token)}
		if err = syscall.EpollCtl(b.io.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			syscall.Close(fd)
		}
	}
	if err != nil {
		b.opts.Log.Warn().Err(err).Msg("Could not take a cluster bus connection")
		bl.mu.Lock()
		bl.closed = true
		bl.queue, bl.queued = nil, 0
		bl.mu.Unlock()
		return false
	}
	b.io.tokens[bl.token] = bl
	bl.mu.Lock()
	bl.fd = fd
	bl.mu.Unlock()
	if len(bl.queue) > 0 {
		b.onWritable(bl, nowMs())
	}
	return true
}

// send writes pkt on bl: at once when nothing is pending (one non-blocking
// write), else after what is pending. What the socket does not take is
// copied (pkt is the caller's to reuse) and waits for EPOLLOUT. A failed
// write shuts the socket down; the loop then reports the loss. Caller
// holds stepMu.
func (b *Bus) send(bl *busLink, pkt []byte) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if bl.closed {
		return
	}
	if bl.fd < 0 || len(bl.queue) > 0 {
		bl.queue = append(bl.queue, bytes.Clone(pkt))
		bl.queued += len(pkt)
		return
	}
	n, err := rawWrite(uintptr(bl.fd), pkt)
	if err != nil {
		syscall.Shutdown(bl.fd, syscall.SHUT_RDWR)
		return
	}
	if n < len(pkt) {
		bl.queue = append(bl.queue, bytes.Clone(pkt[n:]))
		bl.queued += len(pkt) - n
		b.wantWritable(bl, true, nowMs())
	}
}

// wantWritable asks for EPOLLOUT on bl, or stops asking. Caller holds
// stepMu and bl.mu.
func (b *Bus) wantWritable(bl *busLink, on bool, now int64) {
	if on && bl.stalled == 0 {
		bl.stalled = now
		if !bl.inWaiting {
			bl.inWaiting = true
			b.io.waiting = append(b.io.waiting, bl)
		}
	}
	if !on {
		bl.stalled = 0
	}
	if bl.wantOut == on || bl.fd < 0 {
		return
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(bl.token)}
	if on {
		ev.Events |= syscall.EPOLLOUT
	}
	if err := syscall.EpollCtl(b.io.epfd, syscall.EPOLL_CTL_MOD, bl.fd, &ev); err != nil {
		syscall.Shutdown(bl.fd, syscall.SHUT_RDWR)
		return
	}
	bl.wantOut = on
}

// onWritable writes bl's queue as far as the socket takes it.
func (b *Bus) onWritable(bl *busLink, now int64) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if bl.closed || bl.fd < 0 {
		return
	}
	progress := false
	for len(bl.queue) > 0 {
		p := bl.queue[0]
		n, err := rawWrite(uintptr(bl.fd), p)
		if err != nil {
			syscall.Shutdown(bl.fd, syscall.SHUT_RDWR)
			return
		}
		if n > 0 {
			progress = true
			bl.queued -= n
		}
		if n < len(p) {
			bl.queue[0] = p[n:]
			break
		}
		bl.queue[0] = nil
		bl.queue = bl.queue[1:]
	}
	if len(bl.queue) == 0 {
		bl.queue = nil
		b.wantWritable(bl, false, now)
		return
	}
	b.wantWritable(bl, true, now)
	if progress {
		bl.stalled = now
	}
}

// checkStalls shuts down the links whose queue made no progress for twice
// the node timeout (at least 2 s); the loop then reports their loss. Only
// links that had to wait for EPOLLOUT are looked at. Caller holds stepMu.
func (b *Bus) checkStalls() {
	io := &b.io
	if len(io.waiting) == 0 {
		return
	}
	limit := int64(max(b.st.settings().NodeTimeout, 1000)) * 2
	now := nowMs()
	keep := io.waiting[:0]
	for _, bl := range io.waiting {
		if bl.stalled == 0 || bl.fd < 0 {
			bl.inWaiting = false
			continue
		}
		if now-bl.stalled > limit {
			syscall.Shutdown(bl.fd, syscall.SHUT_RDWR)
			bl.inWaiting = false
			continue
		}
		keep = append(keep, bl)
	}
	clear(io.waiting[len(keep):])
	io.waiting = keep
}

// closeLink closes bl's socket and forgets its queue. Caller holds stepMu.
func (b *Bus) closeLink(bl *busLink) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if bl.closed {
		return
	}
	bl.closed = true
	bl.queue, bl.queued = nil, 0
	if bl.fd >= 0 {
		syscall.Close(bl.fd) // leaves the epoll set with it
		bl.fd = -1
	}
	if bl.token != 0 {
		delete(b.io.tokens, bl.token)
	}
}

// linkEvents is CLUSTER LINKS' events field of bl.
func (bl *busLink) linkEvents() string {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	events := ""
	if bl.fd >= 0 && !bl.closed {
		events = "r"
	}
	if bl.queued > 0 {
		events += "w"
	}
	return events
}
