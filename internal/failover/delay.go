package failover

// Delay is the schedule of an election (cluster-behaviour.md §5.2): it
// starts Fixed + a random value in [0, Random) + Rank·PerRank ms after the
// replica noticed its master failed.
type Delay struct {
	Fixed, Random, PerRank int64
}

// RedisDelay is Redis 7.0's schedule: 500 ms + random(0..499) + rank·1000.
func RedisDelay() Delay { return Delay{Fixed: 500, Random: 500, PerRank: 1000} }

// ScaledDelay is the schedule redcluster uses: Redis's, scaled down for
// short node timeouts the way Valkey does (valkey-io/valkey#2449): with
// d = NT/30 kept within [MinScaledDelay, 500], the election starts
// d + random(0..d-1) + rank·2d ms after the failure is seen. At NT >= 15000
// (the default) it is exactly RedisDelay. The delay exists to let the FAIL
// broadcast reach the voters and sibling replicas exchange their offsets;
// both take one bus round trip, far less than d. It is not a safety rule:
// votes stay one per epoch, so a replica that asks too early is only
// refused (and retries). Ranks never tie (see Rank), so with d larger than
// the spread of the FAIL broadcast two siblings never ask at once and
// split the votes.
func ScaledDelay(nt int64) Delay {
	d := min(int64(500), max(nt/30, MinScaledDelay))
	return Delay{Fixed: d, Random: d, PerRank: 2 * d}
}

// MinScaledDelay is the floor of ScaledDelay's unit, ms: well above the
// time a FAIL broadcast needs to reach every sibling replica.
const MinScaledDelay = 100

// At is the time an election scheduled at now for a replica of the given
// rank starts. rnd(n) returns a random value in [0, n).
func (d Delay) At(now int64, rank int, rnd func(n int64) int64) int64 {
	t := now + d.Fixed
	if d.Random > 0 && rnd != nil {
		t += rnd(d.Random)
	}
	return t + int64(rank)*d.PerRank
}

// Sibling is another replica of my master as an election sees it: its last
// advertised replication offset, whether it may fail over at all, and
// whether its name sorts before mine.
type Sibling struct {
	Offset      int64
	NoFailover  bool
	SmallerName bool
}

// Rank is clusterGetSlaveRank (cluster-behaviour.md §5 "Rank"): the number
// of sibling replicas that may fail over and advertised a replication
// offset greater than mine. Rank 0 is the most up to date. Unlike Redis,
// which gives equal offsets equal ranks, a sibling with the same offset and
// a smaller name ranks ahead: fully synced siblings (the usual case) then
// never start their elections at the same moment and split the votes.
func Rank(mine int64, siblings []Sibling) int {
	rank := 0
	for _, s := range siblings {
		if !s.NoFailover && (s.Offset > mine || s.Offset == mine && s.SmallerName) {
			rank++
		}
	}
	return rank
}

// ReplLink is the replica side of replication as the data-age check sees
// it (cluster-behaviour.md §5.1).
type ReplLink struct {
	// Up: the link to the master is connected.
	Up bool
	// LastInteraction is when data last came from the master (ms), when Up.
	LastInteraction int64
	// DownSince is when the link went down (ms), 0 if it never was up.
	DownSince int64
}

// DataAge is how old a replica's data is (cluster-behaviour.md §5.1): the
// time since the last interaction with the master while the link is up,
// else the time since it went down, in whole seconds as Redis counts them,
// minus NT once it exceeds NT (being cut off while the master was failing
// is the baseline).
func DataAge(now int64, l ReplLink, nt int64) int64 {
	from := l.DownSince
	if l.Up {
		from = l.LastInteraction
	}
	age := (now/1000 - from/1000) * 1000
	if age > nt {
		age -= nt
	}
	return age
}

// TooOld reports whether data of the given age may not be promoted
// (cluster-behaviour.md §5.1): cluster-replica-validity-factor (factor)
// non-zero and age > repl-ping-replica-period·1000 + NT·factor.
func TooOld(age, nt int64, pingPeriodS, factor int) bool {
	return factor != 0 && age > int64(pingPeriodS)*1000+nt*int64(factor)
}
