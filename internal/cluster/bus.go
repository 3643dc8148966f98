package cluster

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/redcluster/redcluster/internal/gossip"
)

// BusOptions configure the bus edge.
type BusOptions struct {
	// Listen are the addresses of the cluster bus listener.
	Listen []ListenAddr
	// OnPublish delivers a PUBLISH / PUBLISHSHARD from the bus to local
	// subscribers.
	OnPublish func(channel, message []byte, shard bool)
	// OnLostSlots is told the slots this node's shard stopped serving.
	OnLostSlots func(slots []int)
	// OnDeleteKeys must delete the keys of the given slots.
	OnDeleteKeys func(slots []int)
	// OnSetMaster is the replication hook: replicate from ip:port.
	OnSetMaster func(id, ip string, port int)
	// OnUnsetMaster is the replication hook of a promotion: stop
	// replicating, this node is a master.
	OnUnsetMaster func()
	// OnPauseWrites pauses client writes until the given unix time (ms),
	// for a manual failover of this master (cluster-behaviour.md §8);
	// OnUnpauseWrites ends that pause.
	OnPauseWrites   func(until int64)
	OnUnpauseWrites func()
	Log             zerolog.Logger
}

// ListenAddr is one listening address of the bus.
type ListenAddr struct {
	Network  string // tcp4 or tcp6
	Addr     string // host:port
	Optional bool   // a failure to bind it is not an error
}

// Bus is the cluster bus edge (cluster-bus.md §1): the TCP listener, one
// outbound connection per known node, the inbound connections, framing,
// and one goroutine that runs the state machine and carries out its
// outputs.
type Bus struct {
	st     *State
	opts   BusOptions
	lns    []net.Listener
	events chan busEvent
	kick   chan struct{}
	done   <-chan struct{}
	wg     *sync.WaitGroup
	nextIn atomic.Uint64

	mu    sync.Mutex // guards conns (read by CLUSTER LINKS)
	conns map[LinkID]*busLink

	pubMu sync.Mutex
	pubs  []pubReq
}

type pubReq struct {
	channel, message []byte
	shard            bool
}

type busEvent struct {
	ev   Event
	bl   *busLink
	conn net.Conn
}

// busLink is one connection with its write queue.
type busLink struct {
	id     LinkID
	mu     sync.Mutex
	conn   net.Conn
	queue  [][]byte
	queued int
	closed bool
	wake   chan struct{}
}

// NewBus creates the bus of st; Listen binds it and Start runs it.
func NewBus(st *State, opts BusOptions) *Bus {
	b := &Bus{st: st, opts: opts, events: make(chan busEvent, 4096), kick: make(chan struct{}, 1),
		conns: make(map[LinkID]*busLink)}
	st.mu.Lock()
	st.opts.Notify = b.Kick
	st.mu.Unlock()
	return b
}

// Kick wakes the bus goroutine to carry out queued outputs. It never blocks.
func (b *Bus) Kick() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// Listen binds the bus port on every address.
func (b *Bus) Listen() error {
	for _, a := range b.opts.Listen {
		ln, err := net.Listen(a.Network, a.Addr)
		if err != nil {
			if a.Optional {
				continue
			}
			for _, l := range b.lns {
				l.Close()
			}
			b.lns = nil
			return errors.New("Could not bind cluster bus port " + a.Addr + ": " + err.Error())
		}
		b.lns = append(b.lns, ln)
	}
	if len(b.lns) == 0 {
		return errors.New("Could not bind the cluster bus port on any address")
	}
	return nil
}

// Start runs the bus until done is closed; its goroutines are tracked in wg.
func (b *Bus) Start(done <-chan struct{}, wg *sync.WaitGroup) {
	b.done = done
	b.wg = wg
	for _, ln := range b.lns {
		wg.Add(1)
		go b.accept(ln)
	}
	wg.Add(1)
	go b.loop()
}

// Publish propagates a client's PUBLISH / SPUBLISH. It copies its
// arguments and never takes the state's lock, so a command holding slot
// locks may call it.
func (b *Bus) Publish(channel, message []byte, shard bool) {
	b.pubMu.Lock()
	b.pubs = append(b.pubs, pubReq{append([]byte(nil), channel...), append([]byte(nil), message...), shard})
	b.pubMu.Unlock()
	b.Kick()
}

// LinkStats returns CLUSTER LINKS' events and send-buffer fields of link id.
func (b *Bus) LinkStats(id LinkID) (events string, alloc, used int64) {
	b.mu.Lock()
	bl := b.conns[id]
	b.mu.Unlock()
	if bl == nil {
		return "", 0, 0
	}
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if bl.conn != nil && !bl.closed {
		events = "r"
	}
	if bl.queued > 0 {
		events += "w"
	}
	return events, int64(bl.queued), int64(bl.queued)
}

func nowMs() int64 { return time.Now().UnixMilli() }

// loop is the one goroutine that runs the state machine.
func (b *Bus) loop() {
	defer b.wg.Done()
	t := time.NewTicker(cronPeriod)
	defer t.Stop()
	for {
		select {
		case <-b.done:
			b.shutdown()
			return
		case e := <-b.events:
			b.onEvent(e)
		case <-t.C:
			b.exec(b.st.Step(Event{Kind: EvTick, Now: nowMs()}))
		case <-b.kick:
			b.pubMu.Lock()
			pubs := b.pubs
			b.pubs = nil
			b.pubMu.Unlock()
			for _, p := range pubs {
				b.st.Publish(p.channel, p.message, p.shard)
			}
			b.exec(b.st.TakeOutputs())
		}
	}
}

func (b *Bus) shutdown() {
	for _, ln := range b.lns {
		ln.Close()
	}
	b.mu.Lock()
	for id, bl := range b.conns {
		bl.close()
		delete(b.conns, id)
	}
	b.mu.Unlock()
}

func (b *Bus) post(e busEvent) bool {
	select {
	case b.events <- e:
		return true
	case <-b.done:
		return false
	}
}

// onEvent does the edge's bookkeeping of a connection event, then steps
// the state machine.
func (b *Bus) onEvent(e busEvent) {
	id := e.ev.Link
	b.mu.Lock()
	bl := b.conns[id]
	switch e.ev.Kind {
	case EvAccepted:
		b.conns[id] = e.bl
		bl = e.bl
	case EvConnected:
		if bl == nil {
			b.mu.Unlock()
			e.conn.Close() // the state machine dropped it meanwhile
			return
		}
	case EvConnectFailed, EvClosed:
		if bl == nil || (e.conn != nil && bl.conn != e.conn) {
			b.mu.Unlock()
			return
		}
		delete(b.conns, id)
	case EvMessage:
		if bl == nil {
			b.mu.Unlock()
			return
		}
	}
	b.mu.Unlock()
	switch e.ev.Kind {
	case EvAccepted:
		b.startIO(bl, e.conn)
	case EvConnected:
		bl.mu.Lock()
		bl.conn = e.conn
		bl.mu.Unlock()
		b.startIO(bl, e.conn)
	case EvClosed:
		bl.close()
	}
	e.ev.Now = nowMs()
	b.exec(b.st.Step(e.ev))
}

// wakeAt steps the state machine with EvWake at the unix time at (ms).
func (b *Bus) wakeAt(at int64) {
	d := time.Duration(at-nowMs()) * time.Millisecond
	if d < 0 {
		d = 0
	}
	time.AfterFunc(d, func() { b.post(busEvent{ev: Event{Kind: EvWake}}) })
}

func (b *Bus) startIO(bl *busLink, conn net.Conn) {
	b.wg.Add(2)
	go b.reader(bl, conn)
	go b.writer(bl, conn)
}

// exec carries out the state machine's outputs in order.
func (b *Bus) exec(outs []Output) {
	for _, o := range outs {
		switch o.Kind {
		case OutSend:
			b.mu.Lock()
			bl := b.conns[o.Link]
			b.mu.Unlock()
			if bl != nil {
				bl.enqueue(gossip.Encode(o.Msg))
			}
		case OutConnect:
			bl := &busLink{id: o.Link, wake: make(chan struct{}, 1)}
			b.mu.Lock()
			b.conns[o.Link] = bl
			b.mu.Unlock()
			b.wg.Add(1)
			go b.dial(o.Link, o.IP, o.Port)
		case OutClose:
			b.mu.Lock()
			bl := b.conns[o.Link]
			delete(b.conns, o.Link)
			b.mu.Unlock()
			if bl != nil {
				bl.close()
			}
		case OutSave:
			if err := b.st.WriteConfig(o); err != nil {
				b.opts.Log.Warn().Err(err).Msg("Could not save the cluster config")
			}
		case OutPublish:
			if b.opts.OnPublish != nil {
				b.opts.OnPublish(o.Channel, o.Message, o.Shard)
			}
		case OutLostSlots:
			if b.opts.OnLostSlots != nil {
				b.opts.OnLostSlots(o.Slots)
			}
		case OutDeleteKeys:
			if b.opts.OnDeleteKeys != nil {
				b.opts.OnDeleteKeys(o.Slots)
			}
		case OutSetMaster:
			if b.opts.OnSetMaster != nil {
				b.opts.OnSetMaster(o.Node, o.IP, o.Port)
			}
		case OutUnsetMaster:
			if b.opts.OnUnsetMaster != nil {
				b.opts.OnUnsetMaster()
			}
		case OutPauseWrites:
			if b.opts.OnPauseWrites != nil {
				b.opts.OnPauseWrites(o.At)
			}
		case OutUnpauseWrites:
			if b.opts.OnUnpauseWrites != nil {
				b.opts.OnUnpauseWrites()
			}
		case OutWake:
			b.wakeAt(o.At)
		}
	}
}

// accept takes inbound connections (TCP_NODELAY, keepalive) and hands them
// to the loop.
func (b *Bus) accept(ln net.Listener) {
	defer b.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-b.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			b.opts.Log.Debug().Err(err).Msg("Error accepting cluster node")
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
			_ = tc.SetKeepAlive(true)
			ka := b.st.settings().NodeTimeout / 1000 * 2
			if ka < 1 {
				ka = 1
			}
			_ = tc.SetKeepAlivePeriod(time.Duration(ka) * time.Second)
		}
		id := InboundBit | LinkID(b.nextIn.Add(1))
		bl := &busLink{id: id, conn: conn, wake: make(chan struct{}, 1)}
		b.opts.Log.Debug().Str("peer", conn.RemoteAddr().String()).Msg("Accepting cluster node connection")
		if !b.post(busEvent{ev: Event{Kind: EvAccepted, Link: id, LocalIP: hostOf(conn.LocalAddr()),
			PeerIP: hostOf(conn.RemoteAddr())}, bl: bl, conn: conn}) {
			conn.Close()
			return
		}
	}
}

// dial opens an outbound link.
func (b *Bus) dial(id LinkID, ip string, port int) {
	defer b.wg.Done()
	timeout := time.Duration(max(b.st.settings().NodeTimeout, 1000)) * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() {
		select {
		case <-b.done: // shutting down: abandon the dial
			cancel()
		case <-ctx.Done():
		}
	}()
	var conn net.Conn
	err := errors.New("no address")
	if ip != "" {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	}
	if err != nil {
		b.opts.Log.Debug().Err(err).Str("addr", ip+":"+strconv.Itoa(port)).Msg("Unable to connect to Cluster Node")
		b.post(busEvent{ev: Event{Kind: EvConnectFailed, Link: id}})
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if !b.post(busEvent{ev: Event{Kind: EvConnected, Link: id, LocalIP: hostOf(conn.LocalAddr())}, conn: conn}) {
		conn.Close()
	}
}

// reader frames packets (cluster-bus.md §7 steps 1-2): a bad signature or
// length closes the link; other malformed packets are dropped and logged.
func (b *Bus) reader(bl *busLink, conn net.Conn) {
	defer b.wg.Done()
	closed := func() { b.post(busEvent{ev: Event{Kind: EvClosed, Link: bl.id}, conn: conn}) }
	r := bufio.NewReaderSize(conn, 16<<10)
	var head [8]byte
	// One packet buffer per link: Decode copies what it keeps, so the
	// buffer is reused for the next packet (grown for a bigger one).
	var pkt []byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			closed()
			return
		}
		n, err := gossip.FrameLen(head[:])
		if err != nil {
			b.opts.Log.Warn().Str("peer", conn.RemoteAddr().String()).Msg("Bad message length or signature received on the Cluster bus.")
			conn.Close()
			closed()
			return
		}
		if cap(pkt) < n {
			pkt = make([]byte, n)
		}
		pkt = pkt[:n]
		copy(pkt, head[:])
		if _, err := io.ReadFull(r, pkt[8:]); err != nil {
			closed()
			return
		}
		m, err := gossip.Decode(pkt)
		if cap(pkt) > 64<<10 {
			pkt = nil // a big PUBLISH: do not keep its buffer for the link's life
		}
		if err != nil {
			var de *gossip.DropError
			if errors.As(err, &de) {
				b.opts.Log.Warn().Str("peer", conn.RemoteAddr().String()).Msg("Received invalid packet: " + de.Reason)
				continue
			}
			conn.Close()
			closed()
			return
		}
		if !b.post(busEvent{ev: Event{Kind: EvMessage, Link: bl.id, Msg: m}}) {
			return
		}
	}
}

// writer sends the link's queue.
func (b *Bus) writer(bl *busLink, conn net.Conn) {
	defer b.wg.Done()
	for {
		select {
		case <-bl.wake:
		case <-b.done:
			return
		}
		bl.mu.Lock()
		if bl.closed {
			bl.mu.Unlock()
			return
		}
		q := bl.queue
		bl.queue = nil
		bl.mu.Unlock()
		if len(q) == 0 {
			continue
		}
		bufs := net.Buffers(q)
		n := 0
		for _, p := range q {
			n += len(p)
		}
		_ = conn.SetWriteDeadline(time.Now().Add(time.Duration(max(b.st.settings().NodeTimeout, 1000)) * time.Millisecond * 2))
		_, err := bufs.WriteTo(conn)
		bl.mu.Lock()
		bl.queued -= n
		bl.mu.Unlock()
		if err != nil {
			conn.Close() // the reader reports the close
			return
		}
	}
}

func (bl *busLink) enqueue(pkt []byte) {
	bl.mu.Lock()
	if bl.closed {
		bl.mu.Unlock()
		return
	}
	bl.queue = append(bl.queue, pkt)
	bl.queued += len(pkt)
	bl.mu.Unlock()
	select {
	case bl.wake <- struct{}{}:
	default:
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
	select {
	case bl.wake <- struct{}{}:
	default:
	}
}

// hostOf is the IP of a TCP address, without the port or IPv6 brackets.
func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		if v4 := ta.IP.To4(); v4 != nil {
			return v4.String()
		}
		return ta.IP.String()
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}
