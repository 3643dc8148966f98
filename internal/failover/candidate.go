package failover

// Candidate is a replica's election state (failover_auth_* of
// clusterHandleSlaveFailover, cluster-behaviour.md §5).
type Candidate struct {
	// AuthTime is when the current election starts (or started).
	AuthTime int64
	// Sent: the vote request of the current election went out.
	Sent bool
	// Rank is the rank the delay was computed with.
	Rank int
	// Epoch is the epoch of the current election.
	Epoch  uint64
	voters []string
}

// Reason says why a replica is not (yet) failing over; the values are
// Redis's CLUSTER_CANT_FAILOVER_* codes.
type Reason uint8

// Reasons.
const (
	CantNone Reason = iota
	CantDataAge
	CantWaitingDelay
	CantExpired
	CantWaitingVotes
)

// String is the log text of a reason ("Currently unable to failover: ...").
func (r Reason) String() string {
	switch r {
	case CantDataAge:
		return "Disconnected from master for longer than allowed. Please check the 'cluster-replica-validity-factor' configuration option."
	case CantWaitingDelay:
		return "Waiting the delay before I can start a new failover."
	case CantExpired:
		return "Failover attempt expired."
	case CantWaitingVotes:
		return "Waiting for votes, but majority still not reached."
	}
	return "Unknown reason code."
}

// Action is what the replica must do after a Step.
type Action uint8

// Actions.
const (
	// Wait: nothing to do now (Reason says why).
	Wait Action = iota
	// Scheduled: a new election was scheduled at AuthTime; tell the sibling
	// replicas my offset (a PONG to them).
	Scheduled
	// RequestVotes: bump currentEpoch, call Voting with it, broadcast
	// FAILOVER_AUTH_REQUEST and save the config with fsync.
	RequestVotes
	// Won: a majority voted; take over the master's slots.
	Won
)

// Input is what a Step needs to know.
type Input struct {
	Now, NodeTimeout int64
	// Manual: a manual failover may start now (mf_end and mf_can_start).
	Manual bool
	// MFInProgress: a manual failover is in progress (mf_end != 0).
	MFInProgress bool
	// DataTooOld: see TooOld (ignored by manual failovers).
	DataTooOld bool
	// Rank computes my current rank (cluster-behaviour.md §5 "Rank").
	Rank func() int
	// Quorum is the votes needed: Quorum(cluster size).
	Quorum int
	Delay  Delay
	// Rand returns a random value in [0, n).
	Rand func(n int64) int64
}

// Step advances the election of a replica whose master is failing (or which
// runs a manual failover): cluster-behaviour.md §5 steps 1-6.
func (c *Candidate) Step(in Input) (Action, Reason) {
	authAge := in.Now - c.AuthTime
	// §5.1: data too old to be promoted (manual failovers go on).
	if in.DataTooOld && !in.Manual {
		return Wait, CantDataAge
	}
	// §5.2: the previous attempt is over (timeout and retry time passed):
	// schedule a new election.
	if authAge > RetryTime(in.NodeTimeout) {
		c.Rank = in.Rank()
		c.AuthTime = in.Delay.At(in.Now, c.Rank, in.Rand)
		c.Sent = false
		c.voters = c.voters[:0]
		if in.MFInProgress {
			// A manual failover starts at once, as rank 0.
			c.AuthTime = in.Now
			c.Rank = 0
		}
		return Scheduled, CantNone
	}
	// §5.3: a sibling advertised a better offset since: a worse rank adds
	// its delay (automatic failovers only).
	if !c.Sent && !in.MFInProgress {
		if r := in.Rank(); r > c.Rank {
			c.AuthTime += int64(r-c.Rank) * in.Delay.PerRank
			c.Rank = r
		}
	}
	// §5.4: wait for the start; an election older than the timeout is
	// over (a new one is scheduled after the retry time).
	if in.Now < c.AuthTime {
		return Wait, CantWaitingDelay
	}
	if authAge > AuthTimeout(in.NodeTimeout) {
		return Wait, CantExpired
	}
	// §5.5: ask for votes once.
	if !c.Sent {
		c.Sent = true
		return RequestVotes, CantNone
	}
	// §5.6: a majority of the slot-owning masters voted.
	if len(c.voters) >= in.Quorum {
		return Won, CantNone
	}
	return Wait, CantWaitingVotes
}

// Voting records the epoch of the election whose request just went out.
func (c *Candidate) Voting(epoch uint64) { c.Epoch = epoch }

// Ack counts a FAILOVER_AUTH_ACK from voter (a master serving slots) whose
// header carried senderCurrentEpoch (cluster-behaviour.md §5 "Counting
// ACKs"): it counts when that epoch is not older than the election's. A
// voter is counted once per election: Redis counts every ACK, which is the
// same over TCP (a master sends one ACK per epoch) but would let a
// duplicated packet count twice. It reports whether the vote counted.
func (c *Candidate) Ack(voter string, senderCurrentEpoch uint64) bool {
	if senderCurrentEpoch < c.Epoch {
		return false
	}
	for _, v := range c.voters {
		if v == voter {
			return false
		}
	}
	c.voters = append(c.voters, voter)
	return true
}

// Votes is the number of votes counted in the current election.
func (c *Candidate) Votes() int { return len(c.voters) }
