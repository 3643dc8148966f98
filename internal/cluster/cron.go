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
	handshakeTimeout := nt
	if handshakeTimeout < 1000 {
		handshakeTimeout = 1000
	}
	// §1 steps 1-3: count PFAIL nodes, expire handshakes, reconnect.
	st.pfailCount = 0
	for _, n := range append([]*Node(nil), st.list...) {
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
	for _, n := range st.list {
		if n.Flags&(FlagMyself|FlagNoAddr|FlagHandshake) != 0 {
			continue
		}
		// (Orphaned-master bookkeeping for replica migration goes here.)
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
		// (A master in manual failover pings its replica here.)
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
			update = true
		}
	}
	// (Replica: replication start, manual failover, automatic failover and
	// replica migration hooks run here; they are the next step's.)
	if update || !st.ok || st.updatePending {
		st.updateState()
	}
}
