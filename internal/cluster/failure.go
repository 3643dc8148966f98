package cluster

import (
	"github.com/redcluster/redcluster/internal/failover"
	"github.com/redcluster/redcluster/internal/gossip"
)

// Failure detection (cluster-behaviour.md §3): failure reports, the
// PFAIL -> FAIL decision, the FAIL broadcast and its undoing.

const (
	failReportValidityMult = 2 // FAIL_REPORT_VALIDITY_MULT
	failUndoTimeMult       = 2 // FAIL_UNDO_TIME_MULT
)

// failReport is one master's report that a node is PFAIL or FAIL.
type failReport struct {
	from *Node
	time int64
}

// addFailureReport records (or refreshes) from's report about n; it
// reports whether the report is new (clusterNodeAddFailureReport).
func (n *Node) addFailureReport(from *Node, now int64) bool {
	for i := range n.failReports {
		if n.failReports[i].from == from {
			n.failReports[i].time = now
			return false
		}
	}
	n.failReports = append(n.failReports, failReport{from: from, time: now})
	return true
}

// delFailureReport removes from's report about n (clusterNodeDelFailureReport).
func (n *Node) delFailureReport(from *Node) bool {
	for i := range n.failReports {
		if n.failReports[i].from == from {
			n.failReports = append(n.failReports[:i:i], n.failReports[i+1:]...)
			return true
		}
	}
	return false
}

// failureReports drops the expired reports (older than 2·NT) and counts the
// rest (clusterNodeFailureReportsCount).
func (st *State) failureReports(n *Node) int {
	maxAge := st.settings().NodeTimeout * failReportValidityMult
	keep := n.failReports[:0]
	for _, r := range n.failReports {
		if st.now-r.time <= maxAge {
			keep = append(keep, r)
		}
	}
	for i := len(keep); i < len(n.failReports); i++ {
		n.failReports[i] = failReport{}
	}
	n.failReports = keep
	return len(keep)
}

// markFailingIfNeeded is markNodeAsFailingIfNeeded (cluster-behaviour.md
// §3 "PFAIL -> FAIL"), run after each failure report about n and when n
// turns PFAIL here: a node I see PFAIL becomes FAIL once the valid reports
// of masters, plus mine when I am a master, reach a majority of the
// slot-owning masters (size from the last state evaluation). The FAIL is
// broadcast so every reachable node agrees at once.
func (st *State) markFailingIfNeeded(n *Node) {
	if n.Flags&FlagPFail == 0 || n.Flags&FlagFail != 0 {
		return
	}
	failures := st.failureReports(n)
	if st.myself.IsMaster() {
		failures++
	}
	if failures < failover.Quorum(st.size) {
		return
	}
	st.opts.Log.Info().Str("node", n.ID).Msg("Marking node " + n.ID + " as failing (quorum reached).")
	n.Flags &^= FlagPFail
	n.Flags |= FlagFail
	n.failTime = st.now
	st.sendFail(n)
	st.todo |= todoUpdateState | todoSave
	st.masterFailed(n)
}

// masterFailed runs when n turned FAIL here: if n is my master, the
// failover step runs before the event ends rather than at the next cron
// (Redis waits up to 100 ms; the election delay is the protocol's wait).
func (st *State) masterFailed(n *Node) {
	if st.myself.IsReplica() && st.myself.Master == n {
		st.todo |= todoHandleFailover
	}
}

// sendFail broadcasts a FAIL about n (clusterSendFail, cluster-bus.md §6.3).
func (st *State) sendFail(n *Node) {
	m := st.buildHeader(gossip.TypeFail)
	m.FailName = gossip.NameFrom(n.ID)
	st.broadcast(m)
}

// spreadPFail tells every node at once that I (a master) just flagged n
// PFAIL: a PONG carries every PFAIL node in its gossip, so each receiver
// records my failure report now instead of at my next PING to it, up to
// NT/2 later (cluster-behaviour.md §2: PFAIL nodes are always gossiped).
// A PONG, not a PING: it starts no ping_sent clock and needs no answer;
// Redis itself broadcasts PONGs to announce changes (clusterBroadcastPong).
// Only a master's reports count, so replicas do not spread.
//
// The broadcast is N-1 PONGs, so two limits keep it from feeding an
// overload (a saturated machine delays pongs past the node timeout, and
// each node that then flags many peers PFAIL would broadcast every cron):
// one spread per NT/2 (a failure is spread once; its reports stay valid
// 2·NT), and none while I flag a majority of the slot-owning masters
// PFAIL, which says more about me than about them (and my reports alone
// cannot make a quorum then).
func (st *State) spreadPFail() {
	if !st.myself.IsMaster() {
		return
	}
	if st.lastSpread != 0 && st.now-st.lastSpread < st.settings().NodeTimeout/2 {
		return
	}
	masters, unreachable := 0, 0
	for _, n := range st.list {
		if n.IsMaster() && n.numSlots > 0 {
			masters++
			if n.Flags&FlagPFail != 0 {
				unreachable++
			}
		}
	}
	if 2*unreachable > masters {
		return
	}
	st.lastSpread = st.now
	st.broadcastPong(false)
}

// clearFailureIfNeeded is clearNodeFailureIfNeeded (cluster-behaviour.md
// §3 "Clearing FAIL"): a FAIL node that answers again is cleared at once
// when it is a replica or a master without slots, or after 2·NT when it
// still holds slots nobody took over.
func (st *State) clearFailureIfNeeded(n *Node) {
	if n.IsReplica() || n.numSlots == 0 {
		role := "master without slots"
		if n.IsReplica() {
			role = "replica"
		}
		st.opts.Log.Info().Str("node", n.ID).Msg("Clear FAIL state for node " + n.ID + ": " + role + " is reachable again.")
		n.Flags &^= FlagFail
		st.todo |= todoUpdateState | todoSave
	}
	if n.IsMaster() && n.numSlots > 0 && st.now-n.failTime > st.settings().NodeTimeout*failUndoTimeMult {
		st.opts.Log.Info().Str("node", n.ID).Msg("Clear FAIL state for node " + n.ID +
			": is reachable again and nobody is serving its slots after some time.")
		n.Flags &^= FlagFail
		st.todo |= todoUpdateState | todoSave
	}
}
