package cluster

import (
	"github.com/redcluster/redcluster/internal/gossip"
)

// cron is clusterCron, run every 100 ms (cluster-behaviour.md §1).
func (st *State) cron() {
	st.iteration++
	set := st.settings()
	nt := set.NodeTimeout
	me := st.myself
	if h := set.AnnounceHostname; st.opts.Settings != nil && h != me.Hostname {
		me.Hostname = h
		st.todo |= todoPublish
	}
	// MOVED and ASK name nodes by cluster-preferred-endpoint-type, which
	// CONFIG SET may change.
	if set.EndpointType != st.pubEndpoint {
		st.todo |= todoPublish
	}
	// clusterUpdateMyselfFlags: NOFAILOVER follows
	// cluster-replica-no-failover.
	if nf := set.ReplicaNoFailover; nf != (me.Flags&FlagNoFailover != 0) {
		me.Flags ^= FlagNoFailover
		st.todo |= todoSave | todoUpdateState
	}
	handshakeTimeout := nt
	if handshakeTimeout < 1000 {
		handshakeTimeout = 1000
	}
	// §1 steps 1-3: count PFAIL nodes, expire handshakes, reconnect.
	st.pfailCount = 0
	st.cronList = append(st.cronList[:0], st.list...) // the loop may delete nodes
	for _, n := range st.cronList {
		if n.Flags&(FlagMyself|FlagNoAddr) != 0 {
			continue
		}
		if n.Flags&FlagPFail != 0 {
			st.pfailCount++
		}
		if n.Flags&FlagHandshake != 0 && st.now-n.ctime > handshakeTimeout {
			st.deleteNode(n)
			st.todo |= todoSave
			continue
		}
		if n.link == nil {
			st.newLink(n)
		}
	}
	// Once a second: of 5 random nodes with a link and no ping pending,
	// ping the one with the oldest pong.
	if st.iteration%10 == 0 && len(st.list) > 0 {
		var best *Node
		for j := 0; j < 5; j++ {
			n := st.list[st.rnd.IntN(len(st.list))]
			if n.link == nil || n.PingSent != 0 || n.Flags&(FlagMyself|FlagHandshake) != 0 {
				continue
			}
			if best == nil || best.PongRecv > n.PongRecv {
				best = n
			}
		}
		if best != nil {
			st.sendPing(best.link, gossip.TypePing)
		}
	}
	update := false
	// Replica migration bookkeeping (cluster-behaviour.md §9): masters
	// serving slots without a working replica, the most working replicas
	// of one master, and how many my master has.
	orphaned, maxReplicas, myReplicas := 0, 0, 0
	var newPFail []*Node
	for _, n := range st.list {
		if n.Flags&(FlagMyself|FlagNoAddr|FlagHandshake) != 0 {
			continue
		}
		if me.IsReplica() && n.IsMaster() && !n.Failed() {
			ok := n.workingReplicas()
			if ok == 0 && n.numSlots > 0 && n.Flags&FlagMigrateTo != 0 {
				orphaned++
			}
			maxReplicas = max(maxReplicas, ok)
			if me.Master == n {
				myReplicas = ok
			}
		}
		pingDelay := st.now - n.PingSent
		dataDelay := st.now - n.dataReceived
		// Link kill: connected for more than NT, a ping pending for more
		// than NT/2 and no data in NT/2: reconnect on the next cron.
		if n.link != nil && st.now-n.link.ctime > nt && n.PingSent != 0 && pingDelay > nt/2 && dataDelay > nt/2 {
			st.freeLink(n.link)
		}
		// NT/2 rule: no ping pending and the last pong is older than NT/2.
		if n.link != nil && n.PingSent == 0 && st.now-n.PongRecv > nt/2 {
			st.sendPing(n.link, gossip.TypePing)
			continue
		}
		// A master in a manual failover pings its replica every cron, so
		// the PAUSED flag and its offset reach it fast (§8).
		if st.mf.End != 0 && me.IsMaster() && st.mfReplica == n && n.link != nil {
			st.sendPing(n.link, gossip.TypePing)
			continue
		}
		if n.PingSent == 0 {
			continue
		}
		delay := pingDelay
		if dataDelay < delay {
			delay = dataDelay
		}
		if delay > nt && n.Flags&(FlagPFail|FlagFail) == 0 {
			st.opts.Log.Debug().Msg("*** NODE " + n.ID + " possibly failing")
			n.Flags |= FlagPFail
			st.pfailCount++
			newPFail = append(newPFail, n)
			update = true
		}
	}
	// cluster-behaviour.md §3: a fresh PFAIL may complete a quorum with the
	// reports already here, and (from a master) is a report the others need
	// now.
	if len(newPFail) > 0 {
		for _, n := range newPFail {
			// As if the last report arrived now: at least one other
			// master's report is needed, as in Redis.
			if st.failureReports(n) > 0 {
				st.markFailingIfNeeded(n)
			}
		}
		st.spreadPFail()
	}
	// A replica of a known master with an address replicates from it
	// (after a restart from nodes.conf, or once the address is known).
	if me.IsReplica() && !st.replicating && me.Master != nil && me.Master.Flags&FlagNoAddr == 0 && me.Master.IP != "" {
		st.replicating = true
		st.emit(Output{Kind: OutSetMaster, Node: me.Master.ID, IP: me.Master.IP, Port: me.Master.Port})
	}
	st.checkManualFailoverTimeout()
	if me.IsReplica() {
		st.handleManualFailover()
		st.handleReplicaFailover()
		// Only a replica of a master with the most working replicas, when
		// some master is orphaned and one has at least two, considers
		// migrating.
		if orphaned > 0 && maxReplicas >= 2 && myReplicas == maxReplicas && set.AllowReplicaMigration {
			st.handleReplicaMigration(maxReplicas)
		}
	}
	if update || !st.ok || st.updatePending {
		st.updateState()
	}
}
