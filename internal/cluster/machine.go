package cluster

import (
	"github.com/redcluster/redcluster/internal/fsutil"
	"github.com/redcluster/redcluster/internal/gossip"
)

// The cluster protocol is a state machine: State.Step takes one Event (with
// the time it happened) and returns the Outputs the edge must carry out, in
// order. It opens no socket, starts no timer and no goroutine; the Bus (or
// the simulated network of the tests) feeds it and executes its outputs
// (architecture.md "Concurrency").

// LinkID names one bus connection. The state machine allocates the ids of
// outbound links (small numbers); the edge allocates the ids of inbound
// links with InboundBit set, so the two never collide.
type LinkID uint64

// InboundBit marks link ids allocated by the edge for accepted connections.
const InboundBit LinkID = 1 << 63

// EventKind says what happened.
type EventKind uint8

// Event kinds.
const (
	// EvTick is the 100 ms cron (cluster-behaviour.md §1).
	EvTick EventKind = iota
	// EvAccepted: the edge accepted inbound link Link from PeerIP, on
	// LocalIP (our address on that connection).
	EvAccepted
	// EvMessage: decoded message Msg arrived on link Link.
	EvMessage
	// EvConnected: outbound link Link is connected; LocalIP is our address
	// on it.
	EvConnected
	// EvConnectFailed: outbound link Link could not connect.
	EvConnectFailed
	// EvClosed: link Link (either direction) was closed by the peer or by
	// an I/O error.
	EvClosed
	// EvWake: a time asked for with OutWake came (an election is due).
	EvWake
)

// Event is one input of the state machine.
type Event struct {
	Kind    EventKind
	Now     int64 // ms
	Link    LinkID
	Msg     *gossip.Message
	LocalIP string
	PeerIP  string
}

// OutputKind says what the edge must do.
type OutputKind uint8

// Output kinds.
const (
	// OutSend: send Msg on link Link (a reply on the same connection, or a
	// node's outbound link).
	OutSend OutputKind = iota
	// OutConnect: open outbound link Link to IP:Port (the node's bus
	// port) for node Node.
	OutConnect
	// OutClose: close link Link. No EvClosed is expected for it.
	OutClose
	// OutSave: write Text as nodes.conf (fsync when Fsync) before doing
	// anything that follows. Gen orders saves: an older one must never
	// overwrite a newer one.
	OutSave
	// OutPublish: deliver Message on Channel to local subscribers (Shard:
	// shard channel).
	OutPublish
	// OutLostSlots: this node (or its master) stopped serving Slots; the
	// shard channels of those slots must be dropped.
	OutLostSlots
	// OutDeleteKeys: delete the keys of Slots (taken away from this master,
	// which stays a master: cluster-behaviour.md §7 "dirty slots").
	OutDeleteKeys
	// OutSetMaster: replicate from IP:Port (node Node); the replication
	// layer's hook (replicationSetMaster).
	OutSetMaster
	// OutUnsetMaster: stop replicating, this node is a master now
	// (replicationUnsetMaster).
	OutUnsetMaster
	// OutPauseWrites: pause client writes until At (ms) for a manual
	// failover (cluster-behaviour.md §8, master side).
	OutPauseWrites
	// OutUnpauseWrites: end that pause.
	OutUnpauseWrites
	// OutWake: step the machine with EvWake at time At (ms), a deadline
	// finer than the 100 ms cron.
	OutWake
)

// Output is one action for the edge.
type Output struct {
	Kind    OutputKind
	Link    LinkID
	Msg     *gossip.Message
	Node    string
	IP      string
	Port    int
	Text    string
	Fsync   bool
	Gen     uint64
	Slots   []int
	Channel []byte
	Message []byte
	Shard   bool
	At      int64
}

// link is the state machine's record of one bus connection.
type link struct {
	id        LinkID
	node      *Node // nil for an inbound link not yet bound to its sender
	inbound   bool
	ctime     int64
	connected bool   // outbound: the connection is established
	localIP   string // our address on this connection (getsockname)
	peerIP    string // inbound: the peer's address
}

// todo bits are clusterDoBeforeSleep's: what to do once the event is handled.
const (
	todoSave uint8 = 1 << iota
	todoFsync
	todoUpdateState
	todoPublish
	todoHandleFailover
)

// Step runs one event and returns what the edge must do, in order. A save
// of nodes.conf, when the event changed persistent state, comes first.
func (st *State) Step(ev Event) []Output {
	evs := [1]Event{ev}
	return st.Steps(evs[:])
}

// Steps runs several events, in order, and then what Redis runs once per
// event-loop iteration (clusterBeforeSleep: a failover step, the state
// update, one save, here also one snapshot publication) once for all of
// them. The bus steps what one wait for its sockets brought in together.
func (st *State) Steps(evs []Event) []Output {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := range evs {
		st.apply(evs[i])
	}
	st.finish(false)
	return st.drain()
}

// apply runs one event without finishing it (see finish). Caller holds mu.
func (st *State) apply(ev Event) {
	st.now = ev.Now
	switch ev.Kind {
	case EvTick:
		st.cron()
	case EvAccepted:
		st.links[ev.Link] = &link{id: ev.Link, inbound: true, ctime: st.now, connected: true,
			localIP: ev.LocalIP, peerIP: ev.PeerIP}
	case EvMessage:
		if l := st.links[ev.Link]; l != nil && ev.Msg != nil {
			st.processPacket(l, ev.Msg)
		}
	case EvConnected:
		if l := st.links[ev.Link]; l != nil && !l.inbound {
			st.linkConnected(l, ev.LocalIP)
		}
	case EvConnectFailed:
		if l := st.links[ev.Link]; l != nil && !l.inbound {
			// cluster-behaviour.md §1.3: a connect that fails at once (no
			// usable address) with no ping pending claims a ping now, so the
			// node can time out. A refused or timed-out connection (an
			// asynchronous failure in Redis) does not.
			if l.node != nil && l.node.PingSent == 0 && (l.node.IP == "" || !validIP(l.node.IP)) {
				l.node.PingSent = st.now
			}
			st.dropLink(l)
		}
	case EvClosed:
		if l := st.links[ev.Link]; l != nil {
			// Our outbound link to a node was closed by the peer (a crashed
			// process resets its connections): the cron reconnects and
			// PINGs at once, so, like Redis does for a connect that fails
			// synchronously (cluster-behaviour.md §1.3), we count that
			// PING as sent now. A live peer answers it within a round trip;
			// a dead one turns PFAIL NT after the loss of the connection
			// instead of NT after the next periodic PING.
			if n := l.node; n != nil && !l.inbound && n.link == l && n.PingSent == 0 &&
				n.Flags&(FlagHandshake|FlagNoAddr) == 0 {
				n.PingSent = st.now
			}
			st.dropLink(l)
		}
	case EvWake:
		st.todo |= todoHandleFailover
	}
}

// TakeOutputs returns the outputs queued by commands since the last call.
func (st *State) TakeOutputs() []Output {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.drain()
}

func (st *State) drain() []Output {
	out := st.out
	st.out = nil
	return out
}

func (st *State) emit(o Output) { st.out = append(st.out, o) }

// finish is clusterBeforeSleep: state evaluation, the nodes.conf save
// (placed before every output of the event) and the snapshot publication.
func (st *State) finish(eager bool) {
	// clusterBeforeSleep: a failover step first (an ACK may have completed
	// a quorum; a manual failover may be startable), then the state, then
	// the save.
	for i := 0; i < 4 && st.todo&todoHandleFailover != 0; i++ {
		st.todo &^= todoHandleFailover
		if st.myself.IsReplica() {
			st.handleManualFailover()
			st.handleReplicaFailover()
		}
	}
	st.todo &^= todoHandleFailover
	todo := st.todo
	st.todo = 0
	if todo&todoUpdateState != 0 {
		st.updateState()
	}
	if todo&todoSave != 0 {
		st.saveGen++
		save := Output{Kind: OutSave, Fsync: todo&todoFsync != 0, Gen: st.saveGen}
		if eager || !st.opts.LazySaveText {
			save.Text = st.configText()
		}
		st.out = append(st.out, Output{})
		copy(st.out[1:], st.out)
		st.out[0] = save
	}
	// The routing snapshot changes with slots, roles, addresses and the
	// state, which set todoUpdateState or todoPublish; a save alone (an
	// epoch, a node learnt from gossip) leaves it as it is.
	if todo&(todoPublish|todoUpdateState) != 0 {
		st.publish()
	}
}

// endCommand finishes a CLUSTER command (or a Tick without an edge):
// nodes.conf is written now, before the reply, and the network outputs
// wait for the edge, which Notify wakes up.
func (st *State) endCommand() {
	st.finish(true)
	keep := st.out[:0]
	for _, o := range st.out {
		if o.Kind == OutSave {
			// A command's change is always flushed to disk before its
			// reply (more than Redis, which fsyncs only some of them;
			// commands are rare, the bus's saves are not).
			o.Fsync = true
			if err := st.WriteConfig(o); err != nil {
				st.saveFailed(err)
			}
			continue
		}
		keep = append(keep, o)
	}
	st.out = keep
	if len(st.out) > 0 && st.opts.Notify != nil {
		st.opts.Notify()
	}
}

// WriteConfig carries out an OutSave: it writes nodes.conf unless a newer
// save already happened (then, for a save with fsync, it flushes what that
// newer save wrote, which includes everything this one had to). An OutSave
// without Text (LazySaveText) is rendered now, from the current state,
// and so stands for the newest save requested: the saves of steps that
// ran meanwhile then find their content already written.
// The caller must not hold the state's lock for an OutSave without Text.
func (st *State) WriteConfig(o Output) error {
	if o.Text == "" && st.path != "" {
		st.mu.Lock()
		o.Text = st.configText()
		o.Gen = st.saveGen
		st.mu.Unlock()
	}
	st.saveMu.Lock()
	defer st.saveMu.Unlock()
	if o.Gen != 0 && o.Gen <= st.savedGen {
		if o.Fsync && st.path != "" {
			return fsutil.SyncFile(st.path)
		}
		return nil
	}
	if st.path != "" {
		if err := writeConfigFile(st.path, []byte(o.Text), o.Fsync); err != nil {
			// Not recorded as saved: a later save of this generation
			// (a held one with fsync) must write it, not just fsync
			// the old file.
			return err
		}
	}
	st.savedGen = o.Gen
	return nil
}

// saveFailed reports a failed save of persistent state (Options.OnSaveFailed).
func (st *State) saveFailed(err error) {
	st.opts.Log.Warn().Err(err).Msg("Could not save the cluster config")
	if st.opts.OnSaveFailed != nil {
		st.opts.OnSaveFailed(err)
	}
}

// newLink creates the record of an outbound link to n and asks the edge to
// connect (clusterNodeCronHandleReconnect).
func (st *State) newLink(n *Node) {
	st.nextLink++
	l := &link{id: st.nextLink, node: n, ctime: st.now}
	st.links[l.id] = l
	n.link = l
	st.emit(Output{Kind: OutConnect, Link: l.id, Node: n.ID, IP: n.IP, Port: n.CPort})
}

// linkConnected is clusterLinkConnectHandler: the first packet on a new
// outbound link is a PING, or a MEET for a node flagged MEET
// (cluster-bus.md §1 "first packet").
func (st *State) linkConnected(l *link, localIP string) {
	l.connected = true
	l.localIP = localIP
	n := l.node
	if n == nil {
		return
	}
	old := n.PingSent
	typ := gossip.TypePing
	if n.Flags&FlagMeet != 0 {
		typ = gossip.TypeMeet
	}
	st.sendPing(l, typ)
	if old != 0 {
		n.PingSent = old
	}
	n.Flags &^= FlagMeet
}

// freeLink forgets link l and tells the edge to close it (freeClusterLink).
func (st *State) freeLink(l *link) {
	if l == nil {
		return
	}
	st.dropLink(l)
	st.emit(Output{Kind: OutClose, Link: l.id})
}

// dropLink forgets a link that is already gone at the edge.
func (st *State) dropLink(l *link) {
	delete(st.links, l.id)
	if n := l.node; n != nil {
		if n.link == l {
			n.link = nil
		} else if n.inLink == l {
			n.inLink = nil
		}
	}
}

// bindInbound is setClusterNodeToInboundClusterLink: an inbound link is
// bound to its sender on the first packet from a known node; an older
// inbound link of the same node is closed.
func (st *State) bindInbound(n *Node, l *link) {
	if n.inLink != nil && n.inLink != l {
		st.freeLink(n.inLink)
	}
	n.inLink = l
	l.node = n
}
