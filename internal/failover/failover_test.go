package failover

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/slots"
)

func TestTimeouts(t *testing.T) {
	for _, tc := range []struct{ nt, auth, retry int64 }{
		{500, 2000, 4000}, {1000, 2000, 4000}, {5000, 10000, 20000}, {15000, 30000, 60000},
	} {
		require.Equal(t, tc.auth, AuthTimeout(tc.nt), "NT %d", tc.nt)
		require.Equal(t, tc.retry, RetryTime(tc.nt), "NT %d", tc.nt)
	}
	for size, q := range map[int]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 6: 4} {
		require.Equal(t, q, Quorum(size), "size %d", size)
	}
	require.EqualValues(t, 10_000+7, PauseEnd(7))
}

func TestDelay(t *testing.T) {
	require.Equal(t, Delay{500, 500, 1000}, RedisDelay())
	for _, tc := range []struct {
		nt int64
		d  Delay
	}{
		{15000, RedisDelay()}, {60000, RedisDelay()}, {7500, Delay{250, 250, 500}},
		{5000, Delay{166, 166, 332}}, {1000, Delay{100, 100, 200}}, {100, Delay{100, 100, 200}},
	} {
		require.Equal(t, tc.d, ScaledDelay(tc.nt), "NT %d", tc.nt)
	}
	fixed := func(v int64) func(int64) int64 { return func(n int64) int64 { return v % n } }
	d := RedisDelay()
	require.EqualValues(t, 1500, d.At(1000, 0, fixed(0)))
	require.EqualValues(t, 1999, d.At(1000, 0, fixed(499)))
	require.EqualValues(t, 3500, d.At(1000, 2, fixed(0)))
	require.EqualValues(t, 1500, d.At(1000, 0, nil))
}

func TestRank(t *testing.T) {
	for _, tc := range []struct {
		name string
		mine int64
		sib  []Sibling
		rank int
	}{
		{"alone", 100, nil, 0},
		{"best", 100, []Sibling{{Offset: 99}, {Offset: 50}}, 0},
		{"one ahead", 100, []Sibling{{Offset: 101}, {Offset: 50}}, 1},
		{"two ahead", 100, []Sibling{{Offset: 101}, {Offset: 200}}, 2},
		{"nofailover does not count", 100, []Sibling{{Offset: 101, NoFailover: true}}, 0},
		{"tie, my name first", 100, []Sibling{{Offset: 100}}, 0},
		{"tie, its name first", 100, []Sibling{{Offset: 100, SmallerName: true}}, 1},
		{"tie with a nofailover", 100, []Sibling{{Offset: 100, SmallerName: true, NoFailover: true}}, 0},
	} {
		require.Equal(t, tc.rank, Rank(tc.mine, tc.sib), tc.name)
	}
}

func TestDataAge(t *testing.T) {
	const nt = 1000
	// Whole seconds, as Redis counts them (unixtime).
	require.EqualValues(t, 0, DataAge(10_999, ReplLink{Up: true, LastInteraction: 10_001}, nt))
	require.EqualValues(t, 1000, DataAge(11_000, ReplLink{Up: true, LastInteraction: 10_999}, nt))
	// Above NT, NT is taken off.
	require.EqualValues(t, 4000, DataAge(20_000, ReplLink{DownSince: 15_000}, nt))
	// Never connected: down since the epoch.
	require.EqualValues(t, 1_700_000_000_000-nt, DataAge(1_700_000_000_000, ReplLink{}, nt))
	// cluster-replica-validity-factor: 0 disables the check.
	require.False(t, TooOld(1e12, nt, 10, 0))
	require.False(t, TooOld(10*1000+nt*10, nt, 10, 10))
	require.True(t, TooOld(10*1000+nt*10+1, nt, 10, 10))
}

func ballot() Ballot {
	return Ballot{Voter: true, MyCurrentEpoch: 7, LastVoteEpoch: 6, ReqCurrentEpoch: 7, ReqConfigEpoch: 3,
		MasterKnown: true, MasterFailed: true, Now: 100_000, MasterVotedTime: 0, NodeTimeout: 1000, ConflictSlot: -1}
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*Ballot)
		want   Verdict
		reason string
	}{
		{"grant", func(*Ballot) {}, Grant, ""},
		{"replica or slotless master", func(b *Ballot) { b.Voter = false }, NotVoter, ""},
		{"old request", func(b *Ballot) { b.ReqCurrentEpoch = 6 }, DenyOldEpoch, "reqEpoch (6) < curEpoch(7)"},
		{"voted in this epoch", func(b *Ballot) { b.LastVoteEpoch = 7 }, DenyAlreadyVoted, "already voted for epoch 7"},
		{"candidate is a master", func(b *Ballot) { b.CandidateIsMaster = true }, DenyIsMaster, "it is a master node"},
		{"master unknown", func(b *Ballot) { b.MasterKnown, b.MasterFailed = false, false }, DenyMasterUnknown, "I don't know its master"},
		{"master up", func(b *Ballot) { b.MasterFailed = false }, DenyMasterUp, "its master is up"},
		{"master up, FORCEACK", func(b *Ballot) { b.MasterFailed, b.ForceAck = false, true }, Grant, ""},
		{"voted for a sibling 1999 ms ago", func(b *Ballot) { b.MasterVotedTime = b.Now - 1999 }, DenyThrottled,
			"can't vote about this master before 1 milliseconds"},
		{"voted for a sibling 2000 ms ago", func(b *Ballot) { b.MasterVotedTime = b.Now - 2000 }, Grant, ""},
		{"slot owned with a greater epoch", func(b *Ballot) { b.ConflictSlot, b.ConflictEpoch = 42, 9 }, DenySlotEpoch,
			"slot 42 epoch (9) > reqEpoch (3)"},
		// The order of the checks is Redis's.
		{"old epoch before already voted", func(b *Ballot) { b.ReqCurrentEpoch, b.LastVoteEpoch = 6, 7 }, DenyOldEpoch, ""},
		{"already voted before master checks", func(b *Ballot) { b.LastVoteEpoch, b.MasterFailed = 7, false }, DenyAlreadyVoted, ""},
	} {
		b := ballot()
		tc.mod(&b)
		v := Decide(b)
		require.Equal(t, tc.want, v, tc.name)
		if tc.reason != "" {
			require.Equal(t, tc.reason, v.Reason(b), tc.name)
		}
	}
}

func TestConflictingSlot(t *testing.T) {
	var claimed slots.Bitmap
	for s := 100; s < 200; s++ {
		claimed.Set(s)
	}
	owners := map[int]uint64{150: 5, 160: 9, 170: 2}
	owner := func(s int) (uint64, bool) { e, ok := owners[s]; return e, ok }
	s, e := ConflictingSlot(&claimed, 5, owner)
	require.Equal(t, 160, s)
	require.EqualValues(t, 9, e)
	s, _ = ConflictingSlot(&claimed, 9, owner)
	require.Equal(t, -1, s, "equal epochs do not conflict")
	// An unclaimed slot (no owner, or an owner that stopped claiming it)
	// never conflicts.
	s, _ = ConflictingSlot(&claimed, 0, func(int) (uint64, bool) { return 100, false })
	require.Equal(t, -1, s)
}

func TestCandidate(t *testing.T) {
	const nt = 1000
	now := int64(1_000_000)
	rank := 0
	in := func() Input {
		return Input{Now: now, NodeTimeout: nt, Rank: func() int { return rank }, Quorum: 2, Delay: RedisDelay(),
			Rand: func(n int64) int64 { return 100 }}
	}
	var c Candidate
	// A first step schedules: 500 + 100 (random) + rank·1000.
	act, _ := c.Step(in())
	require.Equal(t, Scheduled, act)
	require.EqualValues(t, now+600, c.AuthTime)
	// A sibling with a better offset showed up: rank 1 adds 1000 ms.
	rank = 1
	act, why := c.Step(in())
	require.Equal(t, Wait, act)
	require.Equal(t, CantWaitingDelay, why)
	require.EqualValues(t, now+1600, c.AuthTime)
	require.Equal(t, 1, c.Rank)
	// A better rank later does not bring it forward.
	rank = 0
	c.Step(in())
	require.EqualValues(t, now+1600, c.AuthTime)
	// Time comes: request votes once.
	now += 1600
	act, _ = c.Step(in())
	require.Equal(t, RequestVotes, act)
	c.Voting(8)
	act, why = c.Step(in())
	require.Equal(t, Wait, act)
	require.Equal(t, CantWaitingVotes, why)
	// An ACK from an older epoch does not count; a voter counts once.
	require.False(t, c.Ack("a", 7))
	require.True(t, c.Ack("a", 8))
	require.False(t, c.Ack("a", 8))
	act, _ = c.Step(in())
	require.Equal(t, Wait, act)
	require.True(t, c.Ack("b", 9))
	act, _ = c.Step(in())
	require.Equal(t, Won, act)
	require.Equal(t, 2, c.Votes())
}

func TestCandidateExpiresAndRetries(t *testing.T) {
	const nt = 1000 // auth timeout 2000, retry 4000
	now := int64(1_000_000)
	in := func() Input {
		return Input{Now: now, NodeTimeout: nt, Rank: func() int { return 0 }, Quorum: 2, Delay: RedisDelay(),
			Rand: func(int64) int64 { return 0 }}
	}
	var c Candidate
	c.Step(in())
	start := c.AuthTime
	now = start
	act, _ := c.Step(in())
	require.Equal(t, RequestVotes, act)
	c.Voting(5)
	c.Ack("a", 5)
	// Past the auth timeout (measured from the scheduled start): expired.
	now = start + 2001
	act, why := c.Step(in())
	require.Equal(t, Wait, act)
	require.Equal(t, CantExpired, why)
	// Past the retry time: a new election, votes reset.
	now = start + 4001
	act, _ = c.Step(in())
	require.Equal(t, Scheduled, act)
	require.Equal(t, 0, c.Votes())
	require.False(t, c.Sent)
}

func TestCandidateDataAgeAndManual(t *testing.T) {
	now := int64(1_000_000)
	var c Candidate
	in := Input{Now: now, NodeTimeout: 1000, Rank: func() int { return 3 }, Quorum: 1, Delay: RedisDelay(),
		Rand: func(int64) int64 { return 0 }, DataTooOld: true}
	act, why := c.Step(in)
	require.Equal(t, Wait, act)
	require.Equal(t, CantDataAge, why)
	// A manual failover ignores the data age and starts at once, rank 0.
	in.Manual, in.MFInProgress = true, true
	act, _ = c.Step(in)
	require.Equal(t, Scheduled, act)
	require.EqualValues(t, now, c.AuthTime)
	require.Equal(t, 0, c.Rank)
	act, _ = c.Step(in)
	require.Equal(t, RequestVotes, act)
}

func TestManual(t *testing.T) {
	m := NewManual()
	require.False(t, m.Active())
	require.False(t, m.PausedOffset(10), "no manual failover running")
	require.False(t, m.Progress(10))
	m.Begin(1000)
	require.True(t, m.Active())
	require.EqualValues(t, 6000, m.End)
	require.False(t, m.Expired(6000))
	require.True(t, m.Expired(6001))
	require.False(t, m.Progress(10), "waiting for the master's offset")
	require.True(t, m.PausedOffset(10))
	require.False(t, m.PausedOffset(20), "the first PAUSED packet's offset is kept")
	require.False(t, m.Progress(9), "not caught up")
	require.True(t, m.Progress(10))
	require.True(t, m.CanStart)
	require.False(t, m.Progress(10), "already startable")
	m.Reset()
	require.Equal(t, NewManual(), m)
}
