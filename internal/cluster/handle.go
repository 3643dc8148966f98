package cluster

import (
	"net/netip"
	"strconv"

	"github.com/redcluster/redcluster/internal/gossip"
	"github.com/redcluster/redcluster/internal/slots"
)

// processPacket is clusterProcessPacket for one decoded message on link l
// (cluster-bus.md §7 steps 5-7; the length checks of steps 1-4 are the
// codec's).
func (st *State) processPacket(l *link, m *gossip.Message) {
	h := &m.Header
	if int(h.Type) < MsgTypeCount {
		st.stats.Received[h.Type]++
	}
	// Robustness beyond 7.0: a packet naming an impossible sender, a
	// sender that is myself or an unusable IP is dropped, so a broken or
	// hostile peer cannot corrupt the table or nodes.conf.
	if !validName(&h.Sender) || string(h.Sender[:]) == st.myself.ID || !validIP(h.IP) {
		st.opts.Log.Warn().Str("sender", printable(h.Sender.String())).Msg("Dropping bus packet with an invalid sender name or IP")
		return
	}
	// Step 5: the link's node, unless it is still a handshake node; else
	// the named node, to which an inbound link gets bound.
	var sender *Node
	if l.node != nil && l.node.Flags&FlagHandshake == 0 {
		sender = l.node
	} else {
		sender = st.lookupName(&h.Sender)
		if sender != nil && l.node == nil && l.inbound {
			st.bindInbound(sender, l)
		}
	}
	if sender == st.myself {
		return
	}
	// Step 6: liveness, epochs, replication offset.
	if sender != nil {
		sender.dataReceived = st.now
	}
	var senderConfigEpoch uint64
	if sender != nil && sender.Flags&FlagHandshake == 0 {
		// cluster-behaviour.md §7 "Epoch adoption".
		if h.CurrentEpoch > st.currentEpoch {
			st.currentEpoch = h.CurrentEpoch
			st.todo |= todoSave
		}
		senderConfigEpoch = h.ConfigEpoch
		if senderConfigEpoch > sender.ConfigEpoch {
			sender.ConfigEpoch = senderConfigEpoch
			st.todo |= todoSave | todoFsync
		}
		sender.ReplOffset = int64(h.Offset)
		// cluster-behaviour.md §8: my paused master's offset.
		if st.mf.End != 0 {
			st.pausedOffset(sender, h)
		}
	}

	switch h.Type {
	case gossip.TypePing, gossip.TypePong, gossip.TypeMeet:
		st.processPingish(l, m, sender, senderConfigEpoch)
	case gossip.TypeFail:
		// cluster-behaviour.md §3 "Receiving FAIL".
		if sender == nil {
			st.opts.Log.Info().Msg("Ignoring FAIL message from unknown node " + h.Sender.String() + " about " + printable(m.FailName.String()))
			return
		}
		failing := st.lookup(m.FailName.String())
		if failing != nil && failing.Flags&(FlagFail|FlagMyself) == 0 {
			st.opts.Log.Info().Msg("FAIL message received from " + h.Sender.String() + " about " + failing.ID)
			failing.Flags |= FlagFail
			failing.failTime = st.now
			failing.Flags &^= FlagPFail
			st.todo |= todoSave | todoUpdateState
			st.masterFailed(failing)
		}
	case gossip.TypePublish, gossip.TypePublishShard:
		// cluster-bus.md §6.4: delivered to local subscribers.
		if sender == nil {
			return
		}
		st.emit(Output{Kind: OutPublish, Channel: m.Channel, Message: m.Payload, Shard: h.Type == gossip.TypePublishShard})
	case gossip.TypeAuthRequest:
		if sender != nil {
			st.onAuthRequest(sender, m)
		}
	case gossip.TypeAuthAck:
		if sender != nil {
			st.onAuthAck(sender, h.CurrentEpoch)
		}
	case gossip.TypeMFStart:
		if sender != nil && sender.Master == st.myself {
			st.onMFStart(sender, l)
		}
	case gossip.TypeUpdate:
		st.processUpdate(sender, m)
	case gossip.TypeModule:
		// Modules are not supported: accepted and ignored.
	default:
		st.opts.Log.Warn().Msg("Received unknown packet type: " + strconv.Itoa(int(h.Type)))
	}
}

// processPingish handles PING, PONG and MEET (cluster-bus.md §7 step 7,
// §8, §9; cluster-behaviour.md §2, §7).
func (st *State) processPingish(l *link, m *gossip.Message, sender *Node, senderConfigEpoch uint64) {
	h := &m.Header
	me := st.myself
	if h.Type == gossip.TypePing || h.Type == gossip.TypeMeet {
		// cluster-bus.md §9 "Own IP": learnt from the local address of the
		// connection a MEET (or, while unknown, a PING) arrived on, unless
		// cluster-announce-ip is set.
		if (h.Type == gossip.TypeMeet || me.IP == "") && st.announceIP() == "" {
			if ip := l.localIP; ip != "" && ip != me.IP {
				me.IP = ip
				st.opts.Log.Warn().Msg("IP address for this node updated to " + ip)
				st.todo |= todoSave | todoPublish
			}
		}
		// cluster-bus.md §8: a MEET from an unknown sender adds a
		// handshake node; its gossip runs with no known sender.
		if sender == nil && h.Type == gossip.TypeMeet {
			n := &Node{ID: st.randomID(), Flags: FlagHandshake, ctime: st.now}
			n.IP = nodeIP(l, h.IP)
			n.Port, n.PPort, n.CPort = int(h.Port), int(h.PPort), int(h.CPort)
			st.addNode(n)
			st.todo |= todoSave
			st.processGossip(m, nil)
		}
		// Always a PONG, on this very connection.
		st.sendPing(l, gossip.TypePong)
	}

	if !l.inbound && l.node != nil {
		if l.node.Flags&FlagHandshake != 0 {
			// cluster-bus.md §8: handshake completion.
			if sender != nil {
				if sender != me && st.updateAddress(sender, l, h) {
					st.todo |= todoSave | todoUpdateState
				}
				st.deleteNode(l.node)
				st.todo |= todoSave
				return
			}
			id := h.Sender.String()
			st.renameNode(l.node, id)
			st.opts.Log.Debug().Msg("Handshake with node " + id + " completed.")
			l.node.Flags &^= FlagHandshake
			l.node.Flags |= roleFlags(Flags(h.Flags) & (FlagMaster | FlagSlave))
			st.todo |= todoSave
		} else if l.node.ID != string(h.Sender[:]) {
			// cluster-bus.md §8: a PONG from a different node on the
			// outbound link: the address is stale.
			n := l.node
			st.opts.Log.Debug().Msg("PONG contains mismatching sender ID. About node " + n.ID)
			n.Flags |= FlagNoAddr
			n.IP = ""
			n.Port, n.PPort, n.CPort = 0, 0, 0
			st.freeLink(l)
			st.todo |= todoSave | todoPublish
			return
		}
	}

	if sender != nil {
		// The NOFAILOVER bit is the sender's own to announce.
		sender.Flags = sender.Flags&^FlagNoFailover | Flags(h.Flags)&FlagNoFailover
	}
	// cluster-bus.md §9 "Peer IP": a PING on an inbound link refreshes the
	// sender's address.
	if sender != nil && h.Type == gossip.TypePing && sender.Flags&FlagHandshake == 0 &&
		st.updateAddress(sender, l, h) {
		st.todo |= todoSave | todoUpdateState
	}
	// PONG on our outbound link: the pending ping is answered
	// (cluster-behaviour.md §1 last paragraph, §3 "Clearing FAIL").
	if !l.inbound && h.Type == gossip.TypePong && l.node != nil {
		n := l.node
		n.PongRecv = st.now
		n.PingSent = 0
		if n.Flags&FlagPFail != 0 {
			n.Flags &^= FlagPFail
			st.todo |= todoSave | todoUpdateState
		} else if n.Flags&FlagFail != 0 {
			st.clearFailureIfNeeded(n)
		}
	}
	if sender == nil {
		return
	}

	// cluster-behaviour.md §7 "Role switch" from the header's slaveof.
	if h.SlaveOf.IsZero() {
		st.setNodeAsMaster(sender)
	} else {
		master := st.lookupName(&h.SlaveOf)
		if sender.IsMaster() {
			st.delNodeSlots(sender)
			sender.Flags &^= FlagMaster | FlagMigrateTo
			sender.Flags |= FlagSlave
			st.todo |= todoSave | todoUpdateState
		}
		if master != nil && master != sender && sender.Master != master {
			if sender.Master != nil {
				sender.Master.removeReplica(sender)
			}
			master.addReplica(sender)
			sender.Master = master
			st.todo |= todoSave
		}
	}

	// cluster-behaviour.md §7 "From PING/PONG/MEET": compare the claimed
	// slots with what we know of the sender (or its master).
	senderMaster := sender
	if !sender.IsMaster() {
		senderMaster = sender.Master
	}
	dirty := senderMaster != nil && senderMaster.slots != h.Slots
	if sender.IsMaster() && dirty {
		st.updateSlotsConfigWith(sender, senderConfigEpoch, &h.Slots)
	}
	// Reverse check: the sender claims a slot whose owner has a greater
	// configEpoch: one UPDATE about that owner.
	if dirty {
		for s := 0; s < slots.Count; s++ {
			if s&7 == 0 && h.Slots[s>>3] == 0 {
				s += 7
				continue
			}
			if !h.Slots.Has(s) {
				continue
			}
			o := st.owner[s]
			if o == sender || o == nil || st.notClaiming.Has(s) {
				continue
			}
			if o.ConfigEpoch > senderConfigEpoch {
				st.opts.Log.Debug().Msg("Node " + sender.ID + " has old slots configuration, sending an UPDATE message about " + o.ID)
				st.sendUpdate(sender.link, o)
				break
			}
		}
	}
	// configEpoch collision between two masters.
	if me.IsMaster() && sender.IsMaster() && senderConfigEpoch == me.ConfigEpoch {
		st.handleEpochCollision(sender)
	}
	st.processGossip(m, sender)
	st.processExtensions(m, sender)
}

// processGossip is clusterProcessGossipSection (cluster-behaviour.md §2
// "Receiving gossip"). sender is nil for a MEET from an unknown node.
func (st *State) processGossip(m *gossip.Message, sender *Node) {
	for i := range m.Gossip {
		g := &m.Gossip[i]
		flags := Flags(g.Flags)
		if !validName(&g.Name) || !validIP(g.IP) {
			continue
		}
		n := st.lookupName(&g.Name)
		if n == nil {
			// Unknown node from a known sender: trusted, created with the
			// gossiped name, flags and address (no handshake).
			if id := g.Name.String(); sender != nil && flags&FlagNoAddr == 0 && !st.blacklisted(id) {
				n = &Node{ID: id, Flags: roleFlags(flags &^ FlagMyself), ctime: st.now, IP: g.IP,
					Port: int(g.Port), PPort: int(g.PPort), CPort: int(g.CPort)}
				st.addNode(n)
				st.todo |= todoSave
			}
			continue
		}
		// Failure reports come from masters only.
		if sender != nil && sender.IsMaster() && n != st.myself {
			if flags&(FlagFail|FlagPFail) != 0 {
				if n.addFailureReport(sender, st.now) {
					st.opts.Log.Debug().Msg("Node " + sender.ID + " reported node " + n.ID + " as not reachable.")
				}
				st.markFailingIfNeeded(n)
			} else if n.delFailureReport(sender) {
				st.opts.Log.Debug().Msg("Node " + sender.ID + " reported node " + n.ID + " is back online.")
			}
		}
		// A healthy entry refreshes pong_received (not beyond now+500 ms).
		if flags&(FlagFail|FlagPFail) == 0 && n.PingSent == 0 && st.failureReports(n) == 0 {
			pong := int64(g.PongReceived) * 1000
			if pong <= st.now+500 && pong > n.PongRecv {
				n.PongRecv = pong
			}
		}
		// A node we think failing, seen healthy at another address.
		if n.Flags&(FlagFail|FlagPFail) != 0 && flags&FlagNoAddr == 0 && flags&(FlagFail|FlagPFail) == 0 &&
			(n.IP != g.IP || n.Port != int(g.Port) || n.CPort != int(g.CPort)) {
			st.freeLink(n.link)
			n.IP = g.IP
			n.Port, n.PPort, n.CPort = int(g.Port), int(g.PPort), int(g.CPort)
			n.Flags &^= FlagNoAddr
			st.todo |= todoPublish
		}
	}
}

// processExtensions is clusterProcessPingExtensions (cluster-bus.md §6.2):
// the HOSTNAME extension sets the sender's hostname, its absence clears it.
func (st *State) processExtensions(m *gossip.Message, sender *Node) {
	host := ""
	for _, e := range m.Extensions {
		if e.Type != gossip.ExtHostname {
			st.opts.Log.Warn().Msg("Received unknown extension type " + strconv.Itoa(int(e.Type)))
		}
	}
	if m.MFlags&gossip.MFlagExtData != 0 {
		host = m.Hostname()
	}
	if !validHostname(host) {
		return
	}
	if host != sender.Hostname {
		sender.Hostname = host
		st.todo |= todoPublish
	}
}

// processUpdate handles an UPDATE (cluster-behaviour.md §7 "From UPDATE").
func (st *State) processUpdate(sender *Node, m *gossip.Message) {
	if sender == nil {
		return
	}
	n := st.lookup(m.UpdateName.String())
	if n == nil || n.ConfigEpoch >= m.UpdateConfigEpoch {
		return
	}
	if n == st.myself {
		st.opts.Log.Warn().Msg("Discarding UPDATE message about myself.")
		return
	}
	if n.IsReplica() {
		st.setNodeAsMaster(n)
	}
	n.ConfigEpoch = m.UpdateConfigEpoch
	st.todo |= todoSave | todoFsync
	// The decoder always sets UpdateSlots for an UPDATE.
	st.updateSlotsConfigWith(n, m.UpdateConfigEpoch, m.UpdateSlots)
}

// updateAddress is nodeUpdateAddressIfNeeded (cluster-bus.md §9 "Peer IP"):
// from a packet on a link other than n's outbound one, n's address is the
// announced IP or the peer address, and the ports of the header. A change
// drops the outbound link so the cron reconnects.
func (st *State) updateAddress(n *Node, l *link, h *gossip.Header) bool {
	if l == n.link {
		return false
	}
	ip := nodeIP(l, h.IP)
	if ip == "" {
		return false
	}
	port, pport, cport := int(h.Port), int(h.PPort), int(h.CPort)
	if n.IP == ip && n.Port == port && n.PPort == pport && n.CPort == cport {
		return false
	}
	n.IP, n.Port, n.PPort, n.CPort = ip, port, pport, cport
	st.freeLink(n.link)
	n.Flags &^= FlagNoAddr
	st.opts.Log.Warn().Msg("Address updated for node " + n.ID + ", now " + ip + ":" + strconv.Itoa(port))
	st.todo |= todoPublish
	if st.myself.IsReplica() && st.myself.Master == n {
		st.emit(Output{Kind: OutSetMaster, Node: n.ID, IP: n.IP, Port: n.Port})
	}
	return true
}

// setNodeAsMaster is clusterSetNodeAsMaster: a node we knew as a replica
// acts as a master.
func (st *State) setNodeAsMaster(n *Node) {
	if n.IsMaster() {
		return
	}
	if n.Master != nil {
		n.Master.removeReplica(n)
		if n != st.myself {
			n.Flags |= FlagMigrateTo
		}
	}
	n.Flags &^= FlagSlave
	n.Flags |= FlagMaster
	n.Master = nil
	st.todo |= todoSave | todoUpdateState
}

// delNodeSlots unbinds every slot of n (clusterDelNodeSlots).
func (st *State) delNodeSlots(n *Node) {
	var lost []int
	for s := 0; s < slots.Count && n.numSlots > 0; s++ {
		if st.owner[s] == n {
			if _, mine := st.delSlot(s); mine {
				lost = append(lost, s)
			}
		}
	}
	if len(lost) > 0 {
		st.emit(Output{Kind: OutLostSlots, Slots: lost})
	}
}

// updateSlotsConfigWith is clusterUpdateSlotsConfigWith
// (cluster-behaviour.md §7): sender claims claimed under epoch; slots move
// to it when unassigned, no longer claimed by their owner, or owned with a
// smaller configEpoch. Losing my last slot makes me a replica of sender.
func (st *State) updateSlotsConfigWith(sender *Node, epoch uint64, claimed *slots.Bitmap) {
	me := st.myself
	if sender == me {
		st.opts.Log.Warn().Msg("Discarding UPDATE message about myself.")
		return
	}
	cur := me
	if !me.IsMaster() {
		cur = me.Master
	}
	var newMaster *Node
	var dirty, lost []int
	senderSlots, migrated := 0, 0
	for s := 0; s < slots.Count; s++ {
		if s&7 == 0 && claimed[s>>3] == 0 && sender.slots[s>>3] == 0 {
			s += 7 // eight slots neither claimed nor bound to the sender
			continue
		}
		if !claimed.Has(s) {
			if st.owner[s] == sender {
				// Still bound to the sender, which stopped claiming it:
				// keep the binding, never advertise it in an UPDATE.
				st.notClaiming.Set(s)
			}
			continue
		}
		senderSlots++
		o := st.owner[s]
		if o == sender {
			st.notClaiming.Clear(s)
			continue
		}
		if st.importing[s] != nil {
			continue // an importing slot only changes by hand
		}
		if o != nil && !st.notClaiming.Has(s) && o.ConfigEpoch >= epoch {
			continue
		}
		if o == me {
			dirty = append(dirty, s)
		}
		if o != nil && o == cur {
			newMaster = sender
			migrated++
		}
		if _, mine := st.delSlot(s); mine {
			lost = append(lost, s)
		}
		st.addSlot(sender, s)
		st.notClaiming.Clear(s)
		st.todo |= todoSave | todoUpdateState | todoFsync
	}
	if len(lost) > 0 {
		st.emit(Output{Kind: OutLostSlots, Slots: lost})
	}
	switch {
	case newMaster != nil && cur.numSlots == 0 && (st.settings().AllowReplicaMigration || senderSlots == migrated):
		st.opts.Log.Warn().Msg("Configuration change detected. Reconfiguring myself as a replica of " + sender.ID)
		st.setMaster(sender)
		st.todo |= todoSave | todoUpdateState | todoFsync
	case me.Master != nil && me.Master.Master != nil && me.Master.Master != me:
		gm := me.Master.Master
		st.opts.Log.Warn().Msg("I'm a sub-replica! Reconfiguring myself as a replica of grandmaster " + gm.ID)
		st.setMaster(gm)
		st.todo |= todoSave | todoUpdateState | todoFsync
	case len(dirty) > 0:
		st.emit(Output{Kind: OutDeleteKeys, Slots: dirty})
	}
}

// setMaster is clusterSetMaster: myself becomes a replica of n.
func (st *State) setMaster(n *Node) {
	me := st.myself
	if n == me {
		return
	}
	if me.IsMaster() {
		me.Flags &^= FlagMaster | FlagMigrateTo
		me.Flags |= FlagSlave
		st.migrating = map[int]*Node{}
		st.importing = map[int]*Node{}
	} else if me.Master != nil {
		me.Master.removeReplica(me)
	}
	me.Master = n
	n.addReplica(me)
	st.replicating = true
	st.emit(Output{Kind: OutSetMaster, Node: n.ID, IP: n.IP, Port: n.Port})
	st.resetManualFailover()
	st.todo |= todoPublish
}

// handleEpochCollision is clusterHandleConfigEpochCollision
// (cluster-behaviour.md §7): of two masters with the same configEpoch, the
// one with the smaller name takes a new epoch, saved with fsync at once.
func (st *State) handleEpochCollision(sender *Node) {
	me := st.myself
	if sender.ConfigEpoch != me.ConfigEpoch || !sender.IsMaster() || !me.IsMaster() {
		return
	}
	if sender.ID <= me.ID {
		return
	}
	st.currentEpoch++
	me.ConfigEpoch = st.currentEpoch
	st.todo |= todoSave | todoFsync
	st.opts.Log.Debug().Msg("WARNING: configEpoch collision with node " + sender.ID +
		". configEpoch set to " + strconv.FormatUint(me.ConfigEpoch, 10))
}

// roleFlags keeps a peer's flags sane: a node announced both master and
// replica is taken as a replica (its header's slaveof decides later).
func roleFlags(f Flags) Flags {
	if f&FlagSlave != 0 {
		f &^= FlagMaster
	}
	return f
}

// nodeIP is nodeIp2String: the announced IP if any, else the peer address
// of the connection.
func nodeIP(l *link, announced string) string {
	if announced != "" {
		return announced
	}
	return l.peerIP
}

// announceIP is cluster-announce-ip ("" when unset).
func (st *State) announceIP() string {
	if ip := st.settings().AnnounceIP; ip != "" {
		return ip
	}
	return st.opts.AnnounceIP
}

// validIP accepts "" and IPv4/IPv6 literals.
func validIP(s string) bool {
	if s == "" {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// validHostname accepts what can be printed in CLUSTER NODES without
// breaking its fields.
func validHostname(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ',' {
			return false
		}
	}
	return true
}

// printable makes a name safe for a log line.
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < ' ' || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
