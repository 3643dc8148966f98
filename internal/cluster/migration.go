package cluster

import (
	"github.com/redcluster/redcluster/internal/failover"
)

// Replica migration (cluster-behaviour.md §9): a replica of a master with
// spare replicas moves to a master left without working replicas.

// workingReplicas is clusterCountNonFailingSlaves: replicas not FAIL.
func (n *Node) workingReplicas() int {
	ok := 0
	for _, r := range n.replicas {
		if !r.Failed() {
			ok++
		}
	}
	return ok
}

// handleReplicaMigration is clusterHandleSlaveMigration, called by the cron
// of a replica whose master has maxReplicas working replicas, the most of
// any master, when some master is orphaned.
func (st *State) handleReplicaMigration(maxReplicas int) {
	me := st.myself
	set := st.settings()
	// §9.1: only when the cluster state is ok.
	if !st.ok {
		return
	}
	// §9.2: my master keeps more than cluster-migration-barrier healthy
	// replicas, counting me.
	master := me.Master
	if master == nil {
		return
	}
	healthy := 0
	for _, r := range master.replicas {
		if r.Flags&(FlagFail|FlagPFail) == 0 {
			healthy++
		}
	}
	if healthy <= set.MigrationBarrier {
		return
	}
	// §9.3: among the replicas of the masters with maxReplicas working
	// replicas, I have the smallest name. §9.4: the target is the first
	// orphaned master with slots; every orphaned master's orphaned time is
	// tracked here.
	var target *Node
	candidate := me
	for _, n := range st.list {
		ok := 0
		orphaned := !n.IsReplica() && !n.Failed() && n.Flags&FlagMigrateTo != 0
		if n.IsMaster() {
			ok = n.workingReplicas()
		}
		if ok > 0 {
			orphaned = false
		}
		if orphaned {
			if target == nil && n.numSlots > 0 {
				target = n
			}
			if n.orphanedTime == 0 {
				n.orphanedTime = st.now
			}
		} else {
			n.orphanedTime = 0
		}
		if ok == maxReplicas {
			for _, r := range n.replicas {
				if r.ID < candidate.ID {
					candidate = r
				}
			}
		}
	}
	// §9.4: orphaned continuously for MigrationDelay, so the natural
	// replicas of a failed-over master had time to announce their switch.
	if target != nil && candidate == me && st.now-target.orphanedTime > failover.MigrationDelay {
		st.opts.Log.Warn().Msg("Migrating to orphaned master " + target.ID)
		st.setMaster(target)
		st.todo |= todoSave | todoUpdateState
	}
}
