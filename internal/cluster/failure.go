package cluster

// Failure detection hooks (cluster-behaviour.md §3). This file keeps the
// failure-report bookkeeping that gossip processing needs; the PFAIL->FAIL
// decision and the replica failover are the next step and plug in here.

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

// markFailingIfNeeded is the hook of markNodeAsFailingIfNeeded
// (cluster-behaviour.md §3 "PFAIL -> FAIL"), called after each failure
// report about n. The quorum decision and the FAIL broadcast belong to the
// failure-detection step, which is not implemented yet: PFAIL nodes only
// turn FAIL here through FAIL messages from other nodes.
func (st *State) markFailingIfNeeded(n *Node) {}

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

// The failover messages (cluster-bus.md §6.5, §6.6, §6.8) are accepted and
// counted; the election and vote logic are the next step's hooks.

// onAuthRequest is the hook of clusterSendFailoverAuthIfNeeded
// (cluster-behaviour.md §6).
func (st *State) onAuthRequest(sender *Node, hdrCurrentEpoch uint64) {}

// onAuthAck is the hook of the vote count (cluster-behaviour.md §5).
func (st *State) onAuthAck(sender *Node, hdrCurrentEpoch uint64) {}

// onMFStart is the hook of a manual failover request from one of my
// replicas (cluster-behaviour.md §8).
func (st *State) onMFStart(sender *Node) {}
