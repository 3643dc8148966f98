package failover

import (
	"fmt"

	"github.com/redcluster/redcluster/internal/slots"
)

// Ballot is what a master knows when a FAILOVER_AUTH_REQUEST arrives (its
// header already applied, so MyCurrentEpoch >= ReqCurrentEpoch).
type Ballot struct {
	// Voter: I am a master serving at least one slot.
	Voter bool
	// MyCurrentEpoch and LastVoteEpoch are mine; ReqCurrentEpoch and
	// ReqConfigEpoch are the request header's.
	MyCurrentEpoch, LastVoteEpoch   uint64
	ReqCurrentEpoch, ReqConfigEpoch uint64
	// CandidateIsMaster: my table says the requester is a master.
	CandidateIsMaster bool
	// MasterKnown, MasterFailed: the requester's master in my table.
	MasterKnown, MasterFailed bool
	// ForceAck: the request carries FORCEACK (manual failover).
	ForceAck bool
	// Now, and the last time I voted for a replica of that master (ms).
	Now, MasterVotedTime int64
	NodeTimeout          int64
	// ConflictSlot is a claimed slot owned (and still claimed) by a master
	// whose configEpoch, ConflictEpoch, is greater than ReqConfigEpoch; -1
	// when there is none (see ConflictingSlot).
	ConflictSlot  int
	ConflictEpoch uint64
}

// Verdict is the answer to a vote request.
type Verdict uint8

// Verdicts, in the order of the checks (cluster-behaviour.md §6).
const (
	Grant Verdict = iota
	// NotVoter: a replica or a master without slots ignores requests.
	NotVoter
	DenyOldEpoch
	DenyAlreadyVoted
	DenyIsMaster
	DenyMasterUnknown
	DenyMasterUp
	DenyThrottled
	DenySlotEpoch
)

// Decide is clusterSendFailoverAuthIfNeeded's decision
// (cluster-behaviour.md §6), checks in Redis 7.0's order:
//  1. only a master serving slots votes;
//  2. the request's currentEpoch is not older than mine;
//  3. at most one vote per epoch (lastVoteEpoch);
//  4. the requester is a replica of a known master that is FAIL (or the
//     request is FORCEACK, a manual failover);
//  5. at most one vote per failing master every 2·NT;
//  6. no claimed slot is owned by a master with a greater configEpoch.
func Decide(b Ballot) Verdict {
	switch {
	case !b.Voter:
		return NotVoter
	case b.ReqCurrentEpoch < b.MyCurrentEpoch:
		return DenyOldEpoch
	case b.LastVoteEpoch == b.MyCurrentEpoch:
		return DenyAlreadyVoted
	case b.CandidateIsMaster:
		return DenyIsMaster
	case !b.MasterKnown:
		return DenyMasterUnknown
	case !b.MasterFailed && !b.ForceAck:
		return DenyMasterUp
	case b.Now-b.MasterVotedTime < b.NodeTimeout*VoteThrottleMult:
		return DenyThrottled
	case b.ConflictSlot >= 0:
		return DenySlotEpoch
	}
	return Grant
}

// Reason is the log line of a denial, worded as Redis 7.0 logs it
// ("Failover auth denied to <id>: <reason>"); "" for Grant and NotVoter.
func (v Verdict) Reason(b Ballot) string {
	switch v {
	case DenyOldEpoch:
		return fmt.Sprintf("reqEpoch (%d) < curEpoch(%d)", b.ReqCurrentEpoch, b.MyCurrentEpoch)
	case DenyAlreadyVoted:
		return fmt.Sprintf("already voted for epoch %d", b.MyCurrentEpoch)
	case DenyIsMaster:
		return "it is a master node"
	case DenyMasterUnknown:
		return "I don't know its master"
	case DenyMasterUp:
		return "its master is up"
	case DenyThrottled:
		return fmt.Sprintf("can't vote about this master before %d milliseconds",
			b.NodeTimeout*VoteThrottleMult-(b.Now-b.MasterVotedTime))
	case DenySlotEpoch:
		return fmt.Sprintf("slot %d epoch (%d) > reqEpoch (%d)", b.ConflictSlot, b.ConflictEpoch, b.ReqConfigEpoch)
	}
	return ""
}

// ConflictingSlot finds the first slot of claimed whose current owner has a
// configEpoch greater than reqConfigEpoch (cluster-behaviour.md §6.6).
// owner(s) returns the owner's configEpoch and whether the slot counts: an
// unassigned slot, or one its owner stopped claiming, never conflicts. It
// returns -1 when no slot conflicts.
func ConflictingSlot(claimed *slots.Bitmap, reqConfigEpoch uint64, owner func(s int) (uint64, bool)) (int, uint64) {
	for i, b := range claimed {
		if b == 0 {
			continue
		}
		for bit := 0; bit < 8; bit++ {
			if b&(1<<bit) == 0 {
				continue
			}
			s := i*8 + bit
			if e, ok := owner(s); ok && e > reqConfigEpoch {
				return s, e
			}
		}
	}
	return -1, 0
}
