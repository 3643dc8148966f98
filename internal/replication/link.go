package replication

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/redcluster/redcluster/internal/resp"
)

// linkState is an attached replica's state (Redis's SLAVE_STATE_*).
type linkState uint8

const (
	linkWaitBgsaveStart linkState = iota // waiting for the snapshot to start
	linkWaitBgsaveEnd                    // snapshot being produced
	linkSendBulk                         // disk form: sending the RDB file
	linkOnline                           // streaming commands
	linkRDBTransmitted                   // rdb-only replica done
)

func (s linkState) String() string {
	switch s {
	case linkWaitBgsaveStart, linkWaitBgsaveEnd:
		return "wait_bgsave"
	case linkSendBulk:
		return "send_bulk"
	case linkOnline:
		return "online"
	}
	return ""
}

// link is a replica attached to this master. Fields are guarded by the
// master's mu unless noted.
type link struct {
	m        *Master
	id       uint64
	conn     net.Conn
	conf     LinkConf
	ip       string // from the connection, when conf.IPAddress is empty
	prePSYNC bool   // attached with SYNC: no ACKs expected

	state      linkState
	accumulate bool // receives the stream (from the snapshot point on)
	streaming  bool // the writer may send out (RDB done, first ACK seen)
	startOnAck bool // EOF form: start streaming at the first ACK
	acked      bool // an ACK was received
	ackOff     int64
	ackTime    time.Time
	out        []byte // stream bytes not yet written
	spare      []byte
	// writing is set while the writer goroutine or a direct write (Flush)
	// owns bytes taken from out: the other one must not write meanwhile.
	writing bool
	// raw is the connection's descriptor for Flush's non-blocking direct
	// writes (nil: the writer goroutine does all the writing).
	raw       syscall.RawConn
	softSince time.Time
	dead      bool

	wake      chan struct{} // cap 1: out has data or streaming started
	done      chan struct{} // closed by close
	closeOnce sync.Once
	err       error // why it closed (set once, before done is closed)
}

func newLink(m *Master, conn net.Conn, conf LinkConf, prePSYNC bool) *link {
	l := &link{
		m:        m,
		conn:     conn,
		conf:     conf,
		prePSYNC: prePSYNC,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		ackTime:  time.Now(),
	}
	if host, _, err := net.SplitHostPort(conn.RemoteAddr().String()); err == nil {
		l.ip = host
	}
	if sc, ok := conn.(syscall.Conn); ok && directWrites {
		if rc, err := sc.SyscallConn(); err == nil {
			l.raw = rc
		}
	}
	return l
}

// addr returns the ip shown in INFO (the announced one first).
func (l *link) addr() string {
	if l.conf.IPAddress != "" {
		return l.conf.IPAddress
	}
	return l.ip
}

// name returns "ip:port" for logs (replicationGetSlaveName).
func (l *link) name() string {
	if l.conf.ListeningPort != 0 {
		return net.JoinHostPort(l.addr(), strconv.Itoa(l.conf.ListeningPort))
	}
	return "client id#" + strconv.FormatUint(l.id, 10)
}

// enqueue appends stream bytes to the output, enforcing the output buffer
// limits. Called with the master's mu held.
func (l *link) enqueue(p []byte) {
	if l.dead {
		return
	}
	l.out = append(l.out, p...)
	cfg := &l.m.cfg
	n := int64(len(l.out))
	if cfg.HardLimit > 0 && n > cfg.HardLimit {
		l.overLimit()
		return
	}
	if cfg.SoftLimit > 0 && n > cfg.SoftLimit {
		now := time.Now()
		if l.softSince.IsZero() {
			l.softSince = now
		} else if now.Sub(l.softSince) > cfg.SoftDuration {
			l.overLimit()
			return
		}
	} else if !l.softSince.IsZero() {
		l.softSince = time.Time{}
	}
	if l.streaming {
		if l.m.deferWake && n < deferWakeLimit {
			l.m.wakePending = true
			l.m.flushPending.Store(true)
			return
		}
		l.signal()
	}
}

// deferWakeLimit is how much output a deferred wake-up may let accumulate
// (FeedMultiDeferred): past it, the writer is woken at once.
const deferWakeLimit = 256 << 10

// overLimit drops a replica whose output buffer is over its limits.
func (l *link) overLimit() {
	l.m.log.Warn().Msgf("Client %s scheduled to be closed ASAP for overcoming of output buffer limits.", l.name())
	l.dead = true
	l.out = nil
	l.spare = nil
	go l.close(errString("output buffer limits exceeded"))
}

func (l *link) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// close tears the link down (idempotent).
func (l *link) close(err error) {
	l.closeOnce.Do(func() {
		l.err = err
		l.conn.Close()
		close(l.done)
	})
}

// writeLoop sends the stream once streaming starts.
func (l *link) writeLoop() {
	m := l.m
	for {
		select {
		case <-l.wake:
		case <-l.done:
			return
		}
		for {
			m.mu.Lock()
			if !l.streaming || len(l.out) == 0 || l.dead || l.writing {
				// (A direct write in progress wakes us again if it
				// leaves something to write.)
				m.mu.Unlock()
				break
			}
			buf := l.takeOut()
			timeout := m.cfg.Timeout
			m.mu.Unlock()
			l.conn.SetWriteDeadline(time.Now().Add(timeout))
			if _, err := l.conn.Write(buf); err != nil {
				l.close(err)
				return
			}
			m.mu.Lock()
			l.writing = false
			l.recycle(buf)
			m.mu.Unlock()
		}
	}
}

// takeOut takes the pending output for writing. Called with the master's
// mu held; the caller clears writing when done.
func (l *link) takeOut() []byte {
	buf := l.out
	l.out = l.spare[:0]
	l.spare = nil
	l.writing = true
	return buf
}

// recycle keeps a written buffer for reuse. Called with the master's mu
// held.
func (l *link) recycle(buf []byte) {
	if cap(buf) <= 1<<20 && l.spare == nil {
		l.spare = buf[:0]
	}
}

// writeDirect writes buf, taken with takeOut, to the socket without
// blocking, from the goroutine that calls Flush (an event loop: Redis
// writes to its replicas from its event loop too), saving the writer
// goroutine's wake-up. What the socket does not take goes back in front of
// the output, for the writer goroutine.
func (l *link) writeDirect(buf []byte) {
	var n int
	var werr error
	err := l.raw.Write(func(fd uintptr) bool {
		n, werr = rawWrite(fd, buf)
		return true // one attempt, never wait for the socket
	})
	m := l.m
	m.mu.Lock()
	l.writing = false
	if l.dead {
		m.mu.Unlock()
		return
	}
	if err == nil && werr != nil && !errors.Is(werr, syscall.EAGAIN) && !errors.Is(werr, syscall.EINTR) {
		m.mu.Unlock()
		l.close(werr)
		return
	}
	// err (e.g. a write deadline the writer goroutine set has passed): the
	// writer goroutine does this write, with a fresh deadline.
	if n < len(buf) {
		k := copy(buf, buf[n:])
		buf = append(buf[:k], l.out...)
		l.recycle(l.out)
		l.out = buf
	} else {
		l.recycle(buf)
	}
	if len(l.out) > 0 && l.streaming && !l.dead {
		l.signal()
	}
	m.mu.Unlock()
}

// readLoop reads what the replica sends: REPLCONF ACK <offset> (and
// newlines while it loads), until the connection fails.
func (l *link) readLoop(sr *streamReader) {
	m := l.m
	for {
		kind, err := sr.next()
		if err != nil {
			l.close(err)
			return
		}
		switch kind {
		case itemKeepalive:
			m.mu.Lock()
			l.ackTime = time.Now()
			m.mu.Unlock()
		case itemCommand:
			args := sr.args
			if len(args) >= 3 && equalFold(args[0], "replconf") {
				l.replconf(args)
			}
		}
	}
}

// replconf handles REPLCONF from an attached replica (ACK; other options
// are ignored).
func (l *link) replconf(args [][]byte) {
	m := l.m
	for j := 1; j+1 < len(args); j += 2 {
		if !equalFold(args[j], "ack") {
			continue
		}
		off, ok := resp.ParseInt(args[j+1])
		if !ok {
			return
		}
		m.mu.Lock()
		if off > l.ackOff {
			l.ackOff = off
		}
		l.ackTime = time.Now()
		l.acked = true
		if l.startOnAck && l.state == linkOnline {
			l.startOnAck = false
			l.streaming = true
			l.signal()
		}
		ch := m.ackCh
		m.ackCh = make(chan struct{})
		m.mu.Unlock()
		close(ch)
	}
}
