package cluster

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/redcluster/redcluster/internal/gossip"
	"github.com/redcluster/redcluster/internal/pollclock"
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
	// ExternalCron: the embedding server calls Cron every 100 ms from its
	// own cron (Redis runs clusterCron inside serverCron) and the bus
	// starts no clock of its own: one shared tick wakes an idle process
	// once instead of twice (figures in package pollclock).
	ExternalCron bool
	Log          zerolog.Logger
}

// ListenAddr is one listening address of the bus.
type ListenAddr struct {
	Network  string // tcp4 or tcp6
	Addr     string // host:port
	Optional bool   // a failure to bind it is not an error
}

// Bus is the cluster bus edge (cluster-bus.md §1): the TCP listener, one
// outbound connection per known node, the inbound connections, framing,
// and the execution of the state machine's outputs.
//
// There is no central event goroutine: whoever has an event steps the
// machine and carries out its outputs at once, holding stepMu, so outputs
// run in the order of the steps. On Linux one epoll loop reads every link
// and steps the machine once with all the packets of a wait
// (busio_linux.go); elsewhere a reader goroutine per link steps it with
// each packet (busio_other.go). A reply is written to its socket right
// away with one non-blocking write; only bytes the kernel does not take
// wait. One 100 ms pollclock drives the cron (or the server's cron,
// ExternalCron).
type Bus struct {
	st     *State
	opts   BusOptions
	lns    []net.Listener
	kick   chan struct{}
	done   <-chan struct{}
	wg     *sync.WaitGroup
	nextIn atomic.Uint64
	ctx    context.Context // ends at shutdown (dials are abandoned)
	cancel context.CancelFunc

	// stepMu orders the steps of the state machine and the execution of
	// their outputs. Lock order: stepMu first, then State.mu (Step), mu,
	// a busLink's mu, and whatever the callbacks (OnSetMaster, ...) take
	// in the server. Nothing that holds one of those waits for stepMu:
	// commands reach the bus through Kick and Publish, which never block,
	// and ExternalCron's caller holds no lock.
	stepMu  sync.Mutex
	started bool     // under stepMu: Start ran
	stopped bool     // under stepMu: shut down, events are dropped
	held    []Output // under stepMu: outputs waiting for a save with fsync (non-nil while one is written)
	wbuf    []byte   // under stepMu: the encoding of encMsg
	encMsg  *gossip.Message

	mu    sync.Mutex // guards conns (read by CLUSTER LINKS)
	conns map[LinkID]*busLink

	// The saves without fsync are written by a goroutine of their own
	// (see execOne): pendingSave is the newest one not yet taken, saving
	// tells that the goroutine runs. Guarded by saveMu.
	saveMu      sync.Mutex
	pendingSave *Output
	saving      bool

	pubMu sync.Mutex
	pubs  []pubReq

	io busIO // the sockets' loop (busio_linux.go, busio_other.go)
}

type pubReq struct {
	channel, message []byte
	shard            bool
}

// NewBus creates the bus of st; Listen binds it and Start runs it.
func NewBus(st *State, opts BusOptions) *Bus {
	b := &Bus{st: st, opts: opts, kick: make(chan struct{}, 1), conns: make(map[LinkID]*busLink)}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.initIO()
	st.mu.Lock()
	st.opts.Notify = b.Kick
	st.opts.LazySaveText = true // commit writes only the newest held save
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
	if b.io.err != nil {
		return b.io.err
	}
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
	b.stepMu.Lock()
	b.done = done
	b.wg = wg
	b.started = true
	b.startIO()
	b.stepMu.Unlock()
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
	events = bl.linkEvents()
	bl.mu.Lock()
	defer bl.mu.Unlock()
	return events, int64(bl.queued), int64(bl.queued)
}

func nowMs() int64 { return time.Now().UnixMilli() }

// Cron runs the cluster cron (clusterCron) once, for an embedding server
// that set ExternalCron and calls it every 100 ms. It blocks while the
// state machine steps, and does nothing before Start or after shutdown.
func (b *Bus) Cron() {
	b.stepMu.Lock()
	defer b.stepMu.Unlock()
	if b.started && !b.stopped {
		b.tickLocked()
	}
}

// loop starts the 100 ms cron (unless ExternalCron) and carries out what
// commands queued.
func (b *Bus) loop() {
	defer b.wg.Done()
	if !b.opts.ExternalCron {
		clock := pollclock.New(cronPeriod)
		defer clock.Close()
		b.wg.Add(1)
		go b.cron(clock)
	}
	for {
		select {
		case <-b.done:
			b.shutdown()
			return
		case <-b.kick:
			b.pubMu.Lock()
			pubs := b.pubs
			b.pubs = nil
			b.pubMu.Unlock()
			b.stepMu.Lock()
			if !b.stopped {
				for _, p := range pubs {
					b.st.Publish(p.channel, p.message, p.shard)
				}
				b.exec(b.st.TakeOutputs())
			}
			b.stepMu.Unlock()
		}
	}
}

// cron steps the machine with EvTick at every tick of clock until it is
// closed.
func (b *Bus) cron(clock *pollclock.Clock) {
	defer b.wg.Done()
	for clock.Wait() {
		b.stepMu.Lock()
		if !b.stopped {
			b.tickLocked()
		}
		b.stepMu.Unlock()
	}
}

func (b *Bus) shutdown() {
	b.cancel()
	b.stepMu.Lock()
	defer b.stepMu.Unlock()
	b.stopped = true
	for _, ln := range b.lns {
		ln.Close()
	}
	b.mu.Lock()
	links := make([]*busLink, 0, len(b.conns))
	for id, bl := range b.conns {
		links = append(links, bl)
		delete(b.conns, id)
	}
	b.mu.Unlock()
	for _, bl := range links {
		b.closeLink(bl)
	}
	b.stopIO()
}

// step runs one event through the state machine and carries out its
// outputs; after shutdown it does nothing.
func (b *Bus) step(ev Event) {
	b.stepMu.Lock()
	defer b.stepMu.Unlock()
	if !b.stopped {
		b.stepLocked(ev)
	}
}

// tickLocked is one cron: clusterCron, then the edge's own check of
// stalled writes. Caller holds stepMu.
func (b *Bus) tickLocked() {
	b.stepLocked(Event{Kind: EvTick})
	b.checkStalls()
}

// stepLocked is step with stepMu held.
func (b *Bus) stepLocked(ev Event) {
	ev.Now = nowMs()
	b.exec(b.st.Step(ev))
}

// wakeAt steps the state machine with EvWake at the unix time at (ms).
func (b *Bus) wakeAt(at int64) {
	d := time.Duration(at-nowMs()) * time.Millisecond
	if d < 0 {
		d = 0
	}
	time.AfterFunc(d, func() { b.step(Event{Kind: EvWake}) })
}

// link returns the edge's record of link id (nil when gone).
func (b *Bus) link(id LinkID) *busLink {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conns[id]
}

// exec carries out the state machine's outputs in order. Caller holds
// stepMu.
//
// A save with fsync must be on disk before anything that follows it. It is
// group-committed, like Redis's one save per event-loop iteration in
// beforeSleep: the save and every later output (of this step and of the
// steps that run meanwhile) are held, and a commit goroutine writes the
// newest nodes.conf text once, then carries them out in order. The state
// machine keeps running while the disk works (an fsync can take 100 ms
// here), and a forming cluster, which adopts a configEpoch and binds slots
// with fsync for every node it meets, needs one fsync per batch instead
// of one per packet.
func (b *Bus) exec(outs []Output) {
	defer b.endEncode()
	for i := range outs {
		if b.held != nil {
			b.held = append(b.held, outs[i:]...)
			return
		}
		o := &outs[i]
		if o.Kind == OutSave && o.Fsync {
			b.held = append(make([]Output, 0, len(outs)-i), outs[i:]...)
			b.wg.Add(1)
			go b.commit()
			return
		}
		b.execOne(o)
	}
}

// writeSaves writes the saves without fsync that execOne hands over, the
// newest pending one each time (it includes what the older ones held),
// until none is left.
func (b *Bus) writeSaves() {
	defer b.wg.Done()
	for {
		b.saveMu.Lock()
		o := b.pendingSave
		b.pendingSave = nil
		if o == nil {
			b.saving = false
			b.saveMu.Unlock()
			return
		}
		b.saveMu.Unlock()
		if err := b.st.WriteConfig(*o); err != nil {
			b.st.saveFailed(err)
		}
	}
}

// commit writes the held saves and carries out the held outputs.
func (b *Bus) commit() {
	defer b.wg.Done()
	b.stepMu.Lock()
	batch := b.held
	b.held = []Output{} // outputs of steps that run during the write wait too
	b.stepMu.Unlock()
	// The newest save describes everything the older ones did.
	var last *Output
	for i := range batch {
		if batch[i].Kind == OutSave && (last == nil || batch[i].Gen > last.Gen) {
			last = &batch[i]
		}
	}
	if last != nil {
		o := *last
		o.Fsync = true
		if err := b.st.WriteConfig(o); err != nil {
			// The held outputs (a vote, say) go out only when the
			// hook returns, which the server's does not (it exits).
			b.st.saveFailed(err)
		}
	}
	b.stepMu.Lock()
	defer b.stepMu.Unlock()
	rest := b.held
	b.held = nil
	if b.stopped {
		return
	}
	for i := range batch {
		if batch[i].Kind != OutSave {
			b.execOne(&batch[i])
		}
	}
	b.exec(rest)
}

// endEncode forgets the last encoded message once its outputs are done
// (a later message may be allocated at the same address), and drops a
// buffer grown by a big PUBLISH. Caller holds stepMu.
func (b *Bus) endEncode() {
	b.encMsg = nil
	if cap(b.wbuf) > 64<<10 {
		b.wbuf = nil
	}
}

// execOne carries out one output. Caller holds stepMu.
func (b *Bus) execOne(o *Output) {
	switch o.Kind {
	case OutSend:
		if bl := b.link(o.Link); bl != nil {
			// One encoding for a message sent on several links (a
			// broadcast), in a buffer reused from send to send.
			if o.Msg != b.encMsg {
				b.wbuf = gossip.AppendEncode(b.wbuf[:0], o.Msg)
				b.encMsg = o.Msg
			}
			b.send(bl, b.wbuf)
		}
	case OutConnect:
		bl := newBusLink(o.Link)
		b.mu.Lock()
		b.conns[o.Link] = bl
		b.mu.Unlock()
		b.wg.Add(1)
		go b.dial(bl, o.IP, o.Port)
	case OutClose:
		b.mu.Lock()
		bl := b.conns[o.Link]
		delete(b.conns, o.Link)
		b.mu.Unlock()
		if bl != nil {
			b.closeLink(bl)
		}
	case OutSave:
		// A save without fsync (exec group-commits the others) goes to
		// writeSaves, and the outputs that follow it do not wait for it.
		// Redis 7.0 writes it in place before it sends anything; here a
		// write is a temp file and a rename, and the renames of nodes
		// sharing a folder queue on the folder's lock: in a forming
		// 120-node cluster, where nearly every packet teaches something,
		// a bus that waited for each rename (threads in do_renameat2)
		// stopped answering for long enough to be flagged PFAIL, then
		// FAIL, over and over. What these saves hold (nodes learnt, flags,
		// an adopted currentEpoch) a restarted node learns again from its
		// peers, which is why neither Redis nor this node fsyncs them.
		b.saveMu.Lock()
		if b.pendingSave == nil || o.Gen >= b.pendingSave.Gen {
			cp := *o
			b.pendingSave = &cp
		}
		start := !b.saving
		b.saving = true
		b.saveMu.Unlock()
		if start {
			b.wg.Add(1)
			go b.writeSaves()
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

// accept takes inbound connections (TCP_NODELAY, keepalive) and steps the
// machine with each.
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
		bl := newBusLink(id)
		b.opts.Log.Debug().Str("peer", conn.RemoteAddr().String()).Msg("Accepting cluster node connection")
		b.stepMu.Lock()
		if b.stopped {
			b.stepMu.Unlock()
			conn.Close()
			return
		}
		localIP, peerIP := hostOf(conn.LocalAddr()), hostOf(conn.RemoteAddr())
		if !b.attach(bl, conn) {
			b.stepMu.Unlock()
			continue
		}
		b.mu.Lock()
		b.conns[id] = bl
		b.mu.Unlock()
		b.stepLocked(Event{Kind: EvAccepted, Link: id, LocalIP: localIP, PeerIP: peerIP})
		b.stepMu.Unlock()
	}
}

// dial opens an outbound link.
func (b *Bus) dial(bl *busLink, ip string, port int) {
	defer b.wg.Done()
	timeout := time.Duration(max(b.st.settings().NodeTimeout, 1000)) * time.Millisecond
	// b.ctx ends at shutdown: an unfinished dial is abandoned.
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	var conn net.Conn
	err := errors.New("no address")
	if ip != "" {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	}
	b.stepMu.Lock()
	defer b.stepMu.Unlock()
	if err != nil {
		b.opts.Log.Debug().Err(err).Str("addr", ip+":"+strconv.Itoa(port)).Msg("Unable to connect to Cluster Node")
		if b.stopped {
			return
		}
		b.mu.Lock()
		if b.conns[bl.id] == bl {
			delete(b.conns, bl.id)
		}
		b.mu.Unlock()
		b.stepLocked(Event{Kind: EvConnectFailed, Link: bl.id})
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if b.stopped || b.link(bl.id) != bl {
		conn.Close() // shutting down, or the state machine dropped the link meanwhile
		return
	}
	localIP := hostOf(conn.LocalAddr())
	if !b.attach(bl, conn) {
		b.mu.Lock()
		if b.conns[bl.id] == bl {
			delete(b.conns, bl.id)
		}
		b.mu.Unlock()
		b.stepLocked(Event{Kind: EvConnectFailed, Link: bl.id})
		return
	}
	b.stepLocked(Event{Kind: EvConnected, Link: bl.id, LocalIP: localIP})
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
