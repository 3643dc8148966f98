package cluster

import (
	"errors"
	"strconv"
	"strings"

	"github.com/redcluster/redcluster/internal/failover"
	"github.com/redcluster/redcluster/internal/gossip"
)

// Manual failover (cluster-behaviour.md §8; failover.Manual holds its
// state): CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica, MFSTART and the
// client pause on its master.

// Failover is CLUSTER FAILOVER [FORCE|TAKEOVER] (cluster-commands.md §1):
// the argument is checked first, then the role; it returns before the
// failover completes.
func (st *State) Failover(args [][]byte) error {
	force, takeover := false, false
	if len(args) == 1 {
		switch strings.ToLower(string(args[0])) {
		case "force":
			force = true
		case "takeover":
			takeover, force = true, true // a takeover implies force
		default:
			return errors.New("ERR syntax error")
		}
	}
	st.lock()
	defer st.mu.Unlock()
	me := st.myself
	switch {
	case me.IsMaster():
		return errors.New("ERR You should send CLUSTER FAILOVER to a replica")
	case me.Master == nil:
		return errors.New("ERR I'm a replica but my master is unknown to me")
	case !force && (me.Master.Failed() || me.Master.link == nil):
		return errors.New("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
	}
	st.resetManualFailover()
	st.mf.Begin(st.now)
	switch {
	case takeover:
		// No election: a configEpoch without consensus, the master's
		// slots, and the news to everybody.
		st.opts.Log.Warn().Msg("Taking over the master (user request).")
		if st.bumpEpoch() {
			st.todo |= todoSave | todoFsync
		}
		st.replaceMyMaster()
	case force:
		// No agreement on the offset with the master: the election starts
		// at once (FORCEACK makes the masters vote for a healthy master).
		st.opts.Log.Warn().Msg("Forced failover user request accepted.")
		st.mf.CanStart = true
		st.todo |= todoHandleFailover
	default:
		st.opts.Log.Warn().Msg("Manual failover user request accepted.")
		st.send(me.Master.link, st.buildHeader(gossip.TypeMFStart))
	}
	st.endCommand()
	return nil
}

// resetManualFailover ends any manual failover on either side; a master
// that paused its clients for one resumes them.
func (st *State) resetManualFailover() {
	if st.mfPaused {
		st.emit(Output{Kind: OutUnpauseWrites})
		st.mfPaused = false
	}
	st.mf.Reset()
	st.mfReplica = nil
}

// onMFStart is the master side of a manual failover (cluster-behaviour.md
// §8): my replica r asked on link l; client writes pause for 2·MFTimeout
// and a PING, flagged PAUSED with my offset, goes back at once on l.
func (st *State) onMFStart(r *Node, l *link) {
	if !st.myself.IsMaster() {
		return
	}
	st.resetManualFailover()
	st.mf.End = st.now + failover.MFTimeout
	st.mfReplica = r
	st.mfPaused = true
	st.emit(Output{Kind: OutPauseWrites, At: failover.PauseEnd(st.now)})
	st.opts.Log.Warn().Msg("Manual failover requested by replica " + r.ID + ".")
	st.sendPing(l, gossip.TypePing)
}

// pausedOffset is the replica side: the first packet from my master
// flagged PAUSED during a manual failover carries the offset I must reach.
func (st *State) pausedOffset(sender *Node, h *gossip.Header) {
	me := st.myself
	if h.MFlags&gossip.MFlagPaused == 0 || !me.IsReplica() || me.Master != sender {
		return
	}
	if st.mf.PausedOffset(sender.ReplOffset) {
		st.todo |= todoHandleFailover
		st.opts.Log.Warn().Msg("Received replication offset for paused master manual failover: " +
			strconv.FormatInt(st.mf.MasterOffset, 10))
	}
}

// handleManualFailover is clusterHandleManualFailover: once my processed
// offset equals the paused master's, the election may start (at once).
func (st *State) handleManualFailover() {
	if st.mf.Progress(st.myReplOffset()) {
		st.opts.Log.Warn().Msg("All master replication stream processed, manual failover can start.")
		st.todo |= todoHandleFailover
	}
}

// checkManualFailoverTimeout is manualFailoverCheckTimeout.
func (st *State) checkManualFailoverTimeout() {
	if st.mf.Expired(st.now) {
		st.opts.Log.Warn().Msg("Manual failover timed out.")
		st.resetManualFailover()
	}
}
