package cluster

import (
	"strconv"

	"github.com/redcluster/redcluster/internal/failover"
	"github.com/redcluster/redcluster/internal/gossip"
)

// Replica elections and master votes (cluster-behaviour.md §5, §6). The
// rules are package failover's; this file applies them to the node table
// and turns their answers into messages.

// cantFailoverRelog is CLUSTER_CANT_FAILOVER_RELOG_PERIOD (ms).
const cantFailoverRelog = 300_000

// myReplOffset is my replication offset (replicationGetSlaveOffset for a
// replica, master_repl_offset for a master).
func (st *State) myReplOffset() int64 {
	if st.opts.ReplOffset != nil {
		return st.opts.ReplOffset()
	}
	return 0
}

// rank is clusterGetSlaveRank (cluster-behaviour.md §5 "Rank").
func (st *State) rank() int {
	me := st.myself
	if me.Master == nil {
		return 0
	}
	sib := make([]failover.Sibling, 0, len(me.Master.replicas))
	for _, r := range me.Master.replicas {
		if r != me {
			sib = append(sib, failover.Sibling{Offset: r.ReplOffset, NoFailover: r.Flags&FlagNoFailover != 0,
				SmallerName: r.ID < me.ID})
		}
	}
	return failover.Rank(st.myReplOffset(), sib)
}

// dataTooOld is the data-age check of cluster-behaviour.md §5.1.
func (st *State) dataTooOld(set Settings) bool {
	if st.opts.ReplLink == nil {
		return false // no replication layer: nothing says the data is old
	}
	age := failover.DataAge(st.now, st.opts.ReplLink(), set.NodeTimeout)
	return failover.TooOld(age, set.NodeTimeout, set.ReplPingReplicaPeriod, set.ReplicaValidityFactor)
}

// handleReplicaFailover is clusterHandleSlaveFailover (cluster-behaviour.md
// §5): run by the cron and whenever a failover step is due (a vote came, my
// master turned FAIL, the election time came).
func (st *State) handleReplicaFailover() {
	me := st.myself
	set := st.settings()
	manual := st.mf.End != 0 && st.mf.CanStart
	m := me.Master
	// Preconditions: I am a replica of a known master serving slots, which
	// is FAIL or being failed over by hand; cluster-replica-no-failover
	// only stops automatic failovers.
	if me.IsMaster() || m == nil || (!m.Failed() && !manual) || (set.ReplicaNoFailover && !manual) || m.numSlots == 0 {
		st.cantReason = failover.CantNone
		return
	}
	act, why := st.cand.Step(failover.Input{
		Now:          st.now,
		NodeTimeout:  set.NodeTimeout,
		Manual:       manual,
		MFInProgress: st.mf.End != 0,
		DataTooOld:   st.dataTooOld(set),
		Rank:         st.rank,
		Quorum:       failover.Quorum(st.size),
		Delay:        failover.ScaledDelay(set.NodeTimeout),
		Rand:         st.rnd.Int64N,
	})
	switch act {
	case failover.Scheduled:
		st.opts.Log.Warn().Msg("Start of election delayed for " + strconv.FormatInt(st.cand.AuthTime-st.now, 10) +
			" milliseconds (rank #" + strconv.Itoa(st.cand.Rank) + ", offset " + strconv.FormatInt(st.myReplOffset(), 10) + ").")
		// Tell the sibling replicas my offset, so they rank themselves.
		st.broadcastPong(true)
		if st.mf.End != 0 {
			st.todo |= todoHandleFailover
		} else {
			st.emit(Output{Kind: OutWake, At: st.cand.AuthTime})
		}
	case failover.RequestVotes:
		// §5.5: a new epoch for this election, asked to everybody, saved
		// with fsync.
		st.currentEpoch++
		st.cand.Voting(st.currentEpoch)
		st.opts.Log.Warn().Msg("Starting a failover election for epoch " + strconv.FormatUint(st.currentEpoch, 10) + ".")
		st.requestFailoverAuth()
		st.todo |= todoSave | todoFsync | todoUpdateState
	case failover.Won:
		// §5.6: the election's epoch becomes my configEpoch.
		st.opts.Log.Warn().Msg("Failover election won: I'm the new master.")
		if me.ConfigEpoch < st.cand.Epoch {
			me.ConfigEpoch = st.cand.Epoch
			st.opts.Log.Warn().Msg("configEpoch set to " + strconv.FormatUint(me.ConfigEpoch, 10) + " after successful failover")
		}
		st.replaceMyMaster()
	default:
		st.logCantFailover(why)
	}
}

// logCantFailover is clusterLogCantFailover: a stalled replica says why,
// at most every 5 minutes for one reason, and only once its master has been
// failing for longer than NT + 5 s.
func (st *State) logCantFailover(why failover.Reason) {
	if why == st.cantReason && st.now-st.cantLogTime < cantFailoverRelog {
		return
	}
	st.cantReason = why
	if m := st.myself.Master; m != nil && m.Failed() && st.now-m.failTime < st.settings().NodeTimeout+5000 {
		return
	}
	st.cantLogTime = st.now
	st.opts.Log.Warn().Msg("Currently unable to failover: " + why.String())
}

// requestFailoverAuth broadcasts FAILOVER_AUTH_REQUEST (cluster-bus.md
// §6.5): my header carries my master's slots and configEpoch and the
// election's epoch; FORCEACK during a manual failover.
func (st *State) requestFailoverAuth() {
	m := st.buildHeader(gossip.TypeAuthRequest)
	if st.mf.End != 0 {
		m.MFlags |= gossip.MFlagForceAck
	}
	st.broadcast(m)
}

// replaceMyMaster is clusterFailoverReplaceYourMaster (cluster-behaviour.md
// §5.6, shared by elections and TAKEOVER): I become a master, take every
// slot of my old master, save with fsync, tell everybody with a PONG and
// end any manual failover.
func (st *State) replaceMyMaster() {
	me := st.myself
	old := me.Master
	if me.IsMaster() || old == nil {
		return
	}
	st.setNodeAsMaster(me)
	st.replicating = false
	st.emit(Output{Kind: OutUnsetMaster})
	for s := range st.owner {
		if old.slots.Has(s) {
			st.delSlot(s)
			st.addSlot(me, s)
		}
	}
	st.updateState()
	st.todo |= todoSave | todoFsync | todoPublish
	st.broadcastPong(false)
	st.resetManualFailover()
}

// onAuthRequest is clusterSendFailoverAuthIfNeeded (cluster-behaviour.md
// §6) for a FAILOVER_AUTH_REQUEST from the known node r. A granted vote
// sets lastVoteEpoch and is saved with fsync before the ACK leaves: the
// save output comes first (machine.go finish).
func (st *State) onAuthRequest(r *Node, m *gossip.Message) {
	me := st.myself
	h := &m.Header
	master := r.Master
	b := failover.Ballot{
		Voter:             me.IsMaster() && me.numSlots > 0,
		MyCurrentEpoch:    st.currentEpoch,
		LastVoteEpoch:     st.lastVoteEpoch,
		ReqCurrentEpoch:   h.CurrentEpoch,
		ReqConfigEpoch:    h.ConfigEpoch,
		CandidateIsMaster: r.IsMaster(),
		MasterKnown:       master != nil,
		MasterFailed:      master != nil && master.Failed(),
		ForceAck:          h.MFlags&gossip.MFlagForceAck != 0,
		Now:               st.now,
		NodeTimeout:       st.settings().NodeTimeout,
		ConflictSlot:      -1,
	}
	if master != nil {
		b.MasterVotedTime = master.votedTime
	}
	v := failover.Decide(b)
	if v == failover.NotVoter {
		return
	}
	if v != failover.Grant {
		// (The slot check runs last: only when everything else allows.)
		st.opts.Log.Warn().Msg("Failover auth denied to " + r.ID + ": " + v.Reason(b))
		return
	}
	b.ConflictSlot, b.ConflictEpoch = failover.ConflictingSlot(&h.Slots, h.ConfigEpoch, func(s int) (uint64, bool) {
		o := st.owner[s]
		if o == nil || st.notClaiming.Has(s) {
			return 0, false // isSlotUnclaimed
		}
		return o.ConfigEpoch, true
	})
	if v = failover.Decide(b); v != failover.Grant {
		st.opts.Log.Warn().Msg("Failover auth denied to " + r.ID + ": " + v.Reason(b))
		return
	}
	st.lastVoteEpoch = st.currentEpoch
	master.votedTime = st.now
	st.todo |= todoSave | todoFsync
	st.send(r.link, st.buildHeader(gossip.TypeAuthAck))
	st.opts.Log.Warn().Msg("Failover auth granted to " + r.ID + " for epoch " + strconv.FormatUint(st.currentEpoch, 10))
}

// onAuthAck counts a FAILOVER_AUTH_ACK (cluster-behaviour.md §5 "Counting
// ACKs"): from a master serving slots, with a currentEpoch not older than
// my election's.
func (st *State) onAuthAck(sender *Node, hdrCurrentEpoch uint64) {
	if !sender.IsMaster() || sender.numSlots == 0 {
		return
	}
	if st.cand.Ack(sender.ID, hdrCurrentEpoch) {
		st.todo |= todoHandleFailover // maybe a quorum now: check at once
	}
}
