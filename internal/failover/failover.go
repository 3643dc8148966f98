// Package failover holds the rules of Redis Cluster replica elections and
// master votes (cluster-behaviour.md §5, §6, §8, §9) as pure functions and
// small state machines: election delay and rank, "may I vote", the
// candidate's progress and the manual failover steps. It knows nothing of
// nodes, links or clocks: the cluster package feeds it numbers and acts on
// its answers (architecture.md "Packages").
package failover

// Timing constants (cluster-behaviour.md §0).
const (
	// MFTimeout is CLUSTER_MF_TIMEOUT: a manual failover must complete
	// within 5000 ms.
	MFTimeout = 5000
	// MFPauseMult is CLUSTER_MF_PAUSE_MULT: the master pauses client
	// writes for MFTimeout·MFPauseMult ms.
	MFPauseMult = 2
	// MigrationDelay is CLUSTER_SLAVE_MIGRATION_DELAY: a master must be
	// orphaned for longer than this before a replica migrates to it.
	MigrationDelay = 5000
	// VoteThrottleMult: a master votes for a replica of a given master at
	// most once every VoteThrottleMult·NT ms (cluster-behaviour.md §6.5).
	VoteThrottleMult = 2
	// minAuthTimeout is the floor of the election timeout (§0).
	minAuthTimeout = 2000
)

// AuthTimeout is how long an election stays valid: max(2·NT, 2000) ms
// (cluster-behaviour.md §0 "election timeout").
func AuthTimeout(nt int64) int64 {
	return max(2*nt, minAuthTimeout)
}

// RetryTime is how long after the start of an election a new one may be
// scheduled: 2·AuthTimeout (cluster-behaviour.md §0 "retry").
func RetryTime(nt int64) int64 { return 2 * AuthTimeout(nt) }

// Quorum is the majority of a cluster of size slot-owning masters:
// size/2 + 1 (cluster-behaviour.md §3, §5.6).
func Quorum(size int) int { return size/2 + 1 }

// PauseEnd is when the writes a master paused for a manual failover
// starting at now resume at the latest (cluster-behaviour.md §8).
func PauseEnd(now int64) int64 { return now + MFTimeout*MFPauseMult }
