//go:build linux

package server

// The event loop: the common path of client connections, in the manner of
// Redis's ae. A loop goroutine waits in epoll_wait (level-triggered) for its
// connections, reads each ready socket once, runs the whole requests read
// (processRequests, the same code the goroutine model runs) and, once every
// ready socket was served, writes the replies before it waits again (as
// Redis does before sleeping); EPOLLOUT is asked for only while a reply
// could not be written at once, and the connection's input waits meanwhile
// (as a goroutine blocked in Write would).
//
// What a loop must not do, because it would hold every other connection of
// the loop, is handed to a goroutine of the connection's own by detaching
// it: the socket is given to the Go runtime (net.FileConn) and
// serveGoroutine goes on with the unprocessed input, the pending replies
// and the client's state. This happens when a command blocked (BLPOP,
// WAIT ...), the client subscribed (pushes from other goroutines are then
// written by it), SYNC/PSYNC took the connection over (c.rc.takeover) or
// CLIENT PAUSE is holding requests back. A detached connection that then
// runs reattachAfter batches in a row without any of that goes back to
// its loop (loopConn.reattach); a replica link never does.
//
// A command handler running on a loop must not wait for other
// connections: it would stall every client of the loop. Such waits go
// through Ctx.Block (blocking.go) or a takeover.
//
// Other goroutines reach a loop's connection only through Client.nc, a
// *loopConn: its Close (CLIENT KILL, output limits, Server.Close) shuts the
// socket down, which the loop then sees as end of input.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redcluster/redcluster/internal/sockfd"
)

// loopTickMs is how often a loop with connections wakes up to close idle
// ones (the timeout setting), like Redis's clientsCron at hz 10.
const loopTickMs = 100

// loopYieldMs is how often a busy loop calls runtime.Gosched: well under
// the 10 ms after which the runtime preempts a goroutine by force (each
// yield wakes another thread, so not much more often either).
const loopYieldMs = 5

// eventLoop is one epoll loop and the connections it serves.
type eventLoop struct {
	s    *Server
	epfd int
	// wakeR/wakeW is the pipe that wakes the loop for new connections
	// and shutdown; wakePending avoids writing it more than needed.
	wakeR, wakeW int
	wakePending  atomic.Bool

	mu       sync.Mutex // guards incoming and exited
	incoming []*loopConn
	exited   bool

	// The rest is owned by the loop goroutine.
	conns  []*loopConn // by descriptor
	nconns int
	rbuf   []byte // shared read buffer: input left over is copied out
	events []syscall.EpollEvent
	now    int64 // ms, read once per iteration
	// wq are the connections with replies to write once every ready
	// connection was read and processed (as Redis does before sleeping).
	wq       []*loopConn
	lastTick int64
	// lastYield is when the loop last let the scheduler run (ms).
	lastYield int64
	// spin decides how long poll polls before it sleeps; loadavgFD is
	// /proc/loadavg, open for cpusToSpare (-1 without), ncpu the CPUs
	// the process may use.
	spin      spinPolicy
	loadavgFD int
	ncpu      int
}

// loopConn is a connection served by an event loop; it is the client's
// net.Conn, so that other goroutines can close it, and forwards to the
// connection a goroutine serves once the loop detached it.
type loopConn struct {
	c            *Client
	loop         *eventLoop
	laddr, raddr net.Addr

	mu     sync.Mutex // guards fd and closed against Close from anywhere
	fd     int        // -1 once the loop closed or detached it
	closed bool
	inner  atomic.Pointer[connBox] // the runtime's connection once detached

	// Owned by the loop goroutine.
	in       []byte // input not processed yet (not aliasing rbuf)
	outOff   int    // bytes of c.W.Buf written, while outWait
	outWait  bool   // waiting for EPOLLOUT to write the rest of c.W.Buf
	queued   bool   // in the loop's wq
	lastRead int64  // ms
}

type connBox struct{ nc net.Conn }

var errLoopOwned = errors.New("connection served by an event loop")

func newEventLoop(s *Server) (*eventLoop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	l := &eventLoop{s: s, epfd: epfd, wakeR: p[0], wakeW: p[1],
		rbuf: make([]byte, readChunk), events: make([]syscall.EpollEvent, 128),
		loadavgFD: -1, ncpu: runtime.NumCPU()}
	if fd, err := syscall.Open("/proc/loadavg", syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err == nil {
		l.loadavgFD = fd
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(l.wakeR)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wakeR, &ev); err != nil {
		l.closeFDs()
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	s.wg.Add(2)
	go l.run()
	go func() {
		defer s.wg.Done()
		<-s.closing
		l.wake()
	}()
	return l, nil
}

func (l *eventLoop) closeFDs() {
	syscall.Close(l.epfd)
	syscall.Close(l.wakeR)
	syscall.Close(l.wakeW)
	if l.loadavgFD >= 0 {
		syscall.Close(l.loadavgFD)
	}
}

// wake interrupts the loop's epoll_wait.
func (l *eventLoop) wake() {
	if l.wakePending.CompareAndSwap(false, true) {
		b := [1]byte{1}
		syscall.Write(l.wakeW, b[:])
	}
}

// newLoopConn takes the socket of nc for an event loop: a duplicate of its
// descriptor stays, nc is closed. It returns nil (nc untouched) when nc is
// not a TCP connection or its descriptor cannot be had.
func newLoopConn(l *eventLoop, c *Client, nc net.Conn) *loopConn {
	if _, ok := nc.(*net.TCPConn); !ok {
		return nil
	}
	fd, err := sockfd.Dup(nc)
	if err != nil {
		return nil
	}
	lc := &loopConn{c: c, loop: l, laddr: nc.LocalAddr(), raddr: nc.RemoteAddr(), fd: fd}
	nc.Close()
	return lc
}

// add gives a registered client's connection to the loop; false when the
// loop has stopped (the caller then closes it).
func (l *eventLoop) add(lc *loopConn) bool {
	l.mu.Lock()
	if l.exited {
		l.mu.Unlock()
		return false
	}
	l.incoming = append(l.incoming, lc)
	l.mu.Unlock()
	l.wake()
	return true
}

// abandon writes msg (if any) and closes a connection no loop serves yet.
func (lc *loopConn) abandon(msg []byte) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.fd < 0 {
		return
	}
	if len(msg) > 0 {
		syscall.Write(lc.fd, msg)
	}
	syscall.Close(lc.fd)
	lc.fd = -1
	lc.closed = true
}

// run is the loop goroutine.
func (l *eventLoop) run() {
	s := l.s
	defer s.wg.Done()
	defer l.shutdown()
	for {
		wait := -1
		if l.nconns > 0 {
			wait = loopTickMs
		}
		n, err := l.poll(wait)
		if err != nil && err != syscall.EINTR {
			s.Log.Warn().Err(err).Msg("epoll_wait")
			return
		}
		l.now = nowMs()
		for i := 0; i < n; i++ {
			ev := &l.events[i]
			fd := int(ev.Fd)
			if fd == l.wakeR {
				if !l.onWake() {
					return
				}
				continue
			}
			if fd >= len(l.conns) || l.conns[fd] == nil {
				continue
			}
			lc := l.conns[fd]
			if lc.outWait {
				l.onWritable(lc)
			} else {
				l.onReadable(lc)
			}
		}
		s.flushReplStream()
		if len(l.wq) > 0 {
			l.flushWrites()
			s.flushReplStream()
		}
		if l.now-l.lastYield >= loopYieldMs {
			// A goroutine that the scheduler never sees switch (it only
			// makes system calls) is preempted by force after 10 ms, its
			// P taken away in the middle of a system call, and sysmon
			// then polls at its fastest: yielding now and then avoids
			// all of that.
			l.lastYield = l.now
			runtime.Gosched()
		}
		if l.now-l.lastTick >= loopTickMs {
			l.tick()
		}
	}
}

// poll waits up to wait ms (-1: forever) for events. Before it sleeps it
// polls for as long as the loop's spinPolicy says (spinpoll.go). While
// polling is off and may not start yet, it is one epoll_wait, as before.
func (l *eventLoop) poll(wait int) (int, error) {
	start := time.Now()
	now := start.UnixMilli()
	if !l.spin.considered(now) {
		return syscall.EpollWait(l.epfd, l.events, wait)
	}
	// The first nonblocking check tells ready events from a wait (and is
	// not a poll that succeeded); the others are the polling itself.
	spin := l.spin.budget(now, l.cpusToSpare)
	for polled := false; ; polled = true {
		n, err := syscall.EpollWait(l.epfd, l.events, 0)
		if n != 0 || err != nil {
			if polled {
				l.spin.hit()
			}
			return n, err
		}
		if spin == 0 || time.Since(start) >= spin {
			break
		}
	}
	if spin > 0 {
		l.spin.miss(now)
	}
	n, err := syscall.EpollWait(l.epfd, l.events, wait)
	waited := time.Since(start)
	l.spin.slept(now+waited.Milliseconds(), waited, l.cpusToSpare)
	return n, err
}

// cpusToSpare reports whether the machine runs no more tasks than it has
// CPUs (the loop's own thread included), from the fourth field of
// /proc/loadavg ("running/total"). Without that file it reports false,
// so the loop never polls.
func (l *eventLoop) cpusToSpare() bool {
	if l.loadavgFD < 0 {
		return false
	}
	var b [128]byte
	n, err := syscall.Pread(l.loadavgFD, b[:], 0)
	if err != nil || n <= 0 {
		return false
	}
	running, ok := loadavgRunning(b[:n])
	return ok && running <= l.ncpu
}

// onWake takes the new connections; false when the server is closing.
func (l *eventLoop) onWake() bool {
	var b [64]byte
	for {
		if n, _ := syscall.Read(l.wakeR, b[:]); n <= 0 {
			break
		}
	}
	// Cleared after the pipe is drained: a wake from now on writes again.
	l.wakePending.Store(false)
	select {
	case <-l.s.closing:
		return false
	default:
	}
	l.mu.Lock()
	in := l.incoming
	l.incoming = nil
	l.mu.Unlock()
	for _, lc := range in {
		l.register(lc)
	}
	return true
}

func (l *eventLoop) register(lc *loopConn) {
	lc.mu.Lock()
	fd, closed := lc.fd, lc.closed
	lc.mu.Unlock()
	if fd < 0 {
		l.s.removeClient(lc.c)
		return
	}
	for fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*loopConn, len(l.conns)+64)...)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.s.Log.Warn().Err(err).Msg("epoll_ctl add")
		lc.abandon(nil)
		l.s.removeClient(lc.c)
		return
	}
	l.conns[fd] = lc
	l.nconns++
	lc.lastRead = l.now
	if closed {
		// Killed before the loop had it: drop it now.
		l.closeConn(lc)
	}
}

// shutdown closes every connection when the loop ends.
func (l *eventLoop) shutdown() {
	l.mu.Lock()
	l.exited = true
	in := l.incoming
	l.incoming = nil
	l.mu.Unlock()
	for _, lc := range in {
		lc.abandon(nil)
		l.s.removeClient(lc.c)
	}
	for _, lc := range l.conns {
		if lc != nil {
			l.closeConn(lc)
		}
	}
	l.closeFDs()
}

// tick closes the connections idle for longer than the timeout setting.
func (l *eventLoop) tick() {
	l.lastTick = l.now
	timeout := int64(l.s.connSettings().timeout) * 1000
	if timeout <= 0 {
		return
	}
	for _, lc := range l.conns {
		if lc != nil && !lc.outWait && l.now-lc.lastRead > timeout {
			l.s.Log.Debug().Str("addr", lc.c.Addr).Msg("closing idle client")
			l.closeConn(lc)
		}
	}
}

// unregister removes a connection from the loop's epoll set.
func (l *eventLoop) unregister(lc *loopConn) {
	fd := lc.fd // only the loop changes fd while it serves lc
	if fd < 0 || fd >= len(l.conns) || l.conns[fd] != lc {
		return
	}
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	l.conns[fd] = nil
	l.nconns--
}

// closeConn closes a connection and removes its client.
func (l *eventLoop) closeConn(lc *loopConn) {
	l.unregister(lc)
	lc.mu.Lock()
	if lc.fd >= 0 {
		syscall.Close(lc.fd)
		lc.fd = -1
	}
	lc.closed = true
	lc.mu.Unlock()
	l.s.removeClient(lc.c)
}

// detach hands a connection to a goroutine of its own (see the top of the
// file), with its unprocessed input.
func (l *eventLoop) detach(lc *loopConn, input []byte) {
	s, c := l.s, lc.c
	l.unregister(lc)
	lc.mu.Lock()
	if lc.closed || lc.fd < 0 {
		lc.mu.Unlock()
		l.closeConn(lc)
		return
	}
	f := os.NewFile(uintptr(lc.fd), "")
	nc, err := net.FileConn(f)
	f.Close()
	lc.fd = -1
	if err != nil {
		lc.closed = true
		lc.mu.Unlock()
		s.Log.Warn().Err(err).Msg("detaching a connection from its event loop")
		s.removeClient(c)
		return
	}
	lc.inner.Store(&connBox{nc})
	lc.mu.Unlock()
	c.lc = nil
	c.loopYield, c.outBreak = false, false
	if lc.outWait {
		// The goroutine writes the rest of the replies.
		c.W.Buf = c.W.Buf[:copy(c.W.Buf, c.W.Buf[lc.outOff:])]
		lc.outWait, lc.outOff = false, 0
	}
	buf := make([]byte, len(input), max(len(input), readChunk))
	copy(buf, input)
	lc.in = nil
	c.dropArgs()
	s.wg.Add(1)
	go s.serveDetached(c, buf)
}

// reattach gives a detached connection back to its loop (see
// Server.reattach): the loop takes a duplicate of the runtime's
// descriptor, which is closed. The caller is the connection's goroutine,
// outside any read; false when the connection is closing (or the loop
// has stopped), the goroutine then goes on and ends.
func (lc *loopConn) reattach() bool {
	lc.mu.Lock()
	x := lc.inner.Load()
	if lc.closed || x == nil {
		lc.mu.Unlock()
		return false
	}
	fd, err := sockfd.Dup(x.nc)
	if err != nil {
		lc.mu.Unlock()
		return false
	}
	x.nc.Close()
	lc.inner.Store(nil)
	lc.fd = fd
	lc.mu.Unlock()
	c := lc.c
	c.lc = lc
	c.dropArgs()
	lc.in, lc.outOff, lc.outWait, lc.queued = nil, 0, false, false
	if !lc.loop.add(lc) {
		c.lc = nil
		lc.abandon(nil)
		return false
	}
	return true
}

// onReadable reads once from a connection and processes what came.
func (l *eventLoop) onReadable(lc *loopConn) {
	var buf []byte
	var n int
	var err error
	if len(lc.in) == 0 {
		n, err = syscall.Read(lc.fd, l.rbuf)
		if n > 0 {
			buf = l.rbuf[:n]
		}
	} else {
		if cap(lc.in)-len(lc.in) < readChunk/2 {
			nb := make([]byte, len(lc.in), 2*cap(lc.in)+readChunk)
			copy(nb, lc.in)
			lc.in = nb
			lc.c.dropArgs()
		}
		n, err = syscall.Read(lc.fd, lc.in[len(lc.in):cap(lc.in)])
		if n > 0 {
			lc.in = lc.in[:len(lc.in)+n]
			buf = lc.in
		}
	}
	if n <= 0 {
		if err == syscall.EAGAIN || err == syscall.EINTR {
			return
		}
		l.closeConn(lc) // end of input, or a socket error
		return
	}
	l.s.Stats.NetInput.Add(int64(n))
	lc.lastRead = l.now
	l.process(lc, buf)
}

// process runs the whole requests in buf (lc.in, or the start of the
// shared read buffer) and queues the connection for writing its replies.
func (l *eventLoop) process(lc *loopConn, buf []byte) {
	s, c := l.s, lc.c
	c.outBreak = false
	pos := s.processRequests(c, buf, l.now)
	rest := buf[pos:]
	switch {
	case len(rest) == 0:
		if cap(lc.in) > 4*readChunk {
			lc.in = nil
			c.dropArgs()
		} else {
			lc.in = lc.in[:0]
		}
	case len(lc.in) == 0: // buf is the shared read buffer
		if cap(lc.in) < len(rest) {
			lc.in = make([]byte, 0, max(len(rest), readChunk))
		}
		lc.in = append(lc.in[:0], rest...)
	default:
		lc.in = lc.in[:copy(lc.in, rest)]
	}
	if int64(len(lc.in)) > s.queryBufLimit.Load() {
		s.Log.Warn().Str("addr", c.Addr).Int("qbuf", len(lc.in)).
			Msg("closing client that reached max query buffer length")
		c.closing = true
	}
	if !c.closing && (c.blk != nil || c.loopYield || c.rc.takeover != nil || c.hasSubscriptions()) {
		l.detach(lc, lc.in)
		return
	}
	if !lc.queued && (c.W.Len() > 0 || c.closing) {
		lc.queued = true
		l.wq = append(l.wq, lc)
	}
}

// flushWrites writes the replies of the connections processed in this
// iteration (going on with the input of those that stopped for it).
func (l *eventLoop) flushWrites() {
	for i := 0; i < len(l.wq); i++ {
		lc := l.wq[i]
		l.wq[i] = nil
		lc.queued = false
		if lc.fd < 0 || l.conns[lc.fd] != lc {
			continue // closed or detached meanwhile
		}
		if !l.write(lc) {
			continue
		}
		c := lc.c
		if c.closing {
			l.closeConn(lc)
			continue
		}
		if c.outBreak && len(lc.in) > 0 {
			l.process(lc, lc.in)
		}
	}
	l.wq = l.wq[:0]
}

// write writes the pending replies; false when they could not all be
// written (the loop then waits for EPOLLOUT) or the connection was closed.
func (l *eventLoop) write(lc *loopConn) bool {
	c := lc.c
	for lc.outOff < len(c.W.Buf) {
		n, err := syscall.Write(lc.fd, c.W.Buf[lc.outOff:])
		if n > 0 {
			l.s.Stats.NetOutput.Add(int64(n))
			lc.outOff += n
			continue
		}
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			if !lc.outWait {
				lc.outWait = true
				ev := syscall.EpollEvent{Events: syscall.EPOLLOUT, Fd: int32(lc.fd)}
				syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, lc.fd, &ev)
			}
			return false
		}
		l.closeConn(lc)
		return false
	}
	lc.outOff = 0
	if cap(c.W.Buf) > 1<<20 {
		c.W.Buf = nil
	} else {
		c.W.Reset()
	}
	if lc.outWait {
		lc.outWait = false
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(lc.fd)}
		syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, lc.fd, &ev)
	}
	return true
}

// onWritable goes on writing a connection's replies, then with its input.
func (l *eventLoop) onWritable(lc *loopConn) {
	if !l.write(lc) {
		return
	}
	c := lc.c
	if c.closing {
		l.closeConn(lc)
		return
	}
	if len(lc.in) > 0 {
		l.process(lc, lc.in)
	}
}

// Read reads from a detached connection (a loop reads its own).
func (lc *loopConn) Read(b []byte) (int, error) {
	if x := lc.inner.Load(); x != nil {
		return x.nc.Read(b)
	}
	return 0, errLoopOwned
}

// Write writes to a detached connection (a loop writes its own).
func (lc *loopConn) Write(b []byte) (int, error) {
	if x := lc.inner.Load(); x != nil {
		return x.nc.Write(b)
	}
	return 0, errLoopOwned
}

// Close closes the connection from any goroutine: a loop's connection is
// shut down, which its loop sees as the end of input and closes.
func (lc *loopConn) Close() error {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if x := lc.inner.Load(); x != nil {
		lc.closed = true
		return x.nc.Close()
	}
	if lc.closed {
		return nil
	}
	lc.closed = true
	if lc.fd >= 0 {
		return syscall.Shutdown(lc.fd, syscall.SHUT_RDWR)
	}
	return nil
}

// LocalAddr is the connection's local address.
func (lc *loopConn) LocalAddr() net.Addr { return lc.laddr }

// RemoteAddr is the connection's peer address.
func (lc *loopConn) RemoteAddr() net.Addr { return lc.raddr }

// SetDeadline sets a detached connection's deadlines.
func (lc *loopConn) SetDeadline(t time.Time) error {
	if x := lc.inner.Load(); x != nil {
		return x.nc.SetDeadline(t)
	}
	return nil
}

// SetReadDeadline sets a detached connection's read deadline.
func (lc *loopConn) SetReadDeadline(t time.Time) error {
	if x := lc.inner.Load(); x != nil {
		return x.nc.SetReadDeadline(t)
	}
	return nil
}

// SetWriteDeadline sets a detached connection's write deadline.
func (lc *loopConn) SetWriteDeadline(t time.Time) error {
	if x := lc.inner.Load(); x != nil {
		return x.nc.SetWriteDeadline(t)
	}
	return nil
}

// SyscallConn gives the descriptor (CLIENT LIST's fd=).
func (lc *loopConn) SyscallConn() (syscall.RawConn, error) {
	if x := lc.inner.Load(); x != nil {
		if sc, ok := x.nc.(syscall.Conn); ok {
			return sc.SyscallConn()
		}
	}
	return loopRawConn{lc}, nil
}

type loopRawConn struct{ lc *loopConn }

func (r loopRawConn) Control(f func(fd uintptr)) error {
	r.lc.mu.Lock()
	defer r.lc.mu.Unlock()
	if r.lc.fd < 0 {
		return net.ErrClosed
	}
	f(uintptr(r.lc.fd))
	return nil
}

func (r loopRawConn) Read(func(fd uintptr) bool) error  { return errLoopOwned }
func (r loopRawConn) Write(func(fd uintptr) bool) error { return errLoopOwned }
