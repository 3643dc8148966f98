package cluster

import (
	"maps"
	"slices"
	"strconv"

	"github.com/redcluster/redcluster/internal/slots"
)

// Redirection and cluster errors, worded as Redis 7.0 sends them.
const (
	ErrCrossSlot   = "CROSSSLOT Keys in request don't hash to the same slot"
	ErrDownUnbound = "CLUSTERDOWN Hash slot not served"
	ErrDown        = "CLUSTERDOWN The cluster is down"
	ErrDownRO      = "CLUSTERDOWN The cluster is down and only accepts read commands"
	ErrTryAgain    = "TRYAGAIN Multiple keys request during rehashing of slot"
)

// Snapshot is an immutable copy of what routing needs: the slot owners,
// open slots, my role and the cluster state.
type Snapshot struct {
	owner     [slots.Count]uint16 // 0: unassigned, i: addrs[i-1]
	addrs     []string            // "endpoint:port" of each indexed node
	self      uint16
	master    uint16 // my master's index when I am a replica
	replica   bool
	ok        bool
	migrating map[int]uint16
	importing map[int]uint16
}

// Serves reports whether this node owns slot.
func (sn *Snapshot) Serves(slot int) bool { return sn.owner[slot] == sn.self }

// Assigned reports whether slot has an owner.
func (sn *Snapshot) Assigned(slot int) bool { return sn.owner[slot] != 0 }

// OK reports whether the cluster state was ok.
func (sn *Snapshot) OK() bool { return sn.ok }

// Snapshot returns the current routing snapshot.
func (st *State) Snapshot() *Snapshot { return st.snap.Load() }

// publish builds the routing snapshot and stores it when it differs from
// the published one. Caller holds mu.
//
// The state asks for a publication whenever slots, roles, addresses or the
// cluster state may have changed, which in a forming cluster is nearly
// every packet (a node learnt, an epoch adopted); most of those leave the
// routing as it was. The candidate is built in a scratch snapshot that is
// kept for the next time when it equals the current one, so an unchanged
// map costs a pass over the slots and no allocation.
func (st *State) publish() {
	sn := st.pubScratch
	if sn == nil {
		sn = &Snapshot{}
	}
	st.pubScratch = nil
	endpoint := st.settings().EndpointType
	st.pubEndpoint = endpoint
	sn.ok, sn.replica = st.ok, st.myself.IsReplica()
	sn.addrs = sn.addrs[:0]
	st.pubGen++
	gen := st.pubGen
	idx := func(n *Node) uint16 {
		if n == nil {
			return 0
		}
		if n.pubGen == gen {
			return n.pubIdx
		}
		sn.addrs = append(sn.addrs, n.redirectAddr(endpoint))
		n.pubGen, n.pubIdx = gen, uint16(len(sn.addrs))
		return n.pubIdx
	}
	sn.self = idx(st.myself)
	sn.master = idx(st.myself.Master)
	var last *Node
	var lastIdx uint16
	for s, n := range &st.owner {
		if n != last { // runs of slots share their owner
			last, lastIdx = n, idx(n)
		}
		sn.owner[s] = lastIdx
	}
	sn.migrating, sn.importing = nil, nil
	if len(st.migrating) > 0 {
		sn.migrating = make(map[int]uint16, len(st.migrating))
		for s, n := range st.migrating {
			sn.migrating[s] = idx(n)
		}
	}
	if len(st.importing) > 0 {
		sn.importing = make(map[int]uint16, len(st.importing))
		for s, n := range st.importing {
			sn.importing[s] = idx(n)
		}
	}
	if cur := st.snap.Load(); cur != nil && cur.equal(sn) {
		st.pubScratch = sn
		return
	}
	st.snap.Store(sn)
}

// equal reports whether o routes every request as sn does.
func (sn *Snapshot) equal(o *Snapshot) bool {
	return sn.ok == o.ok && sn.replica == o.replica && sn.self == o.self && sn.master == o.master &&
		slices.Equal(sn.addrs, o.addrs) && sn.owner == o.owner &&
		maps.Equal(sn.migrating, o.migrating) && maps.Equal(sn.importing, o.importing)
}

// Query describes a keyed request for Route.
type Query struct {
	// Slot is the slot of the request's first key (in argument order; for
	// EXEC, of the first queued command with keys).
	Slot int
	// CrossSlot is set when the keys hash to more than one slot.
	CrossSlot bool
	// Write is set when the command itself is flagged write (EXEC is not).
	Write bool
	// TxWrite is set when the command, or any command EXEC would run, writes.
	TxWrite bool
	// ShardPubSub is set for SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH.
	ShardPubSub bool
	// Asking is set when the client sent ASKING or the command has the
	// asking flag (RESTORE-ASKING).
	Asking bool
	// ReadOnly is set when the client sent READONLY.
	ReadOnly bool
	// Migrate is set for MIGRATE, which always runs on an open slot.
	Migrate bool
	// Keys, called only when the slot is migrating or importing, counts the
	// request's keys missing from and present in db 0 (without expiring
	// them) and reports whether it names more than one distinct key.
	Keys func() (missing, existing int, multi bool)
}

// Route decides where a keyed request runs, following getNodeByQuery: it
// returns "" to serve it here, else the error to reply with (CLUSTERDOWN,
// CROSSSLOT, TRYAGAIN, ASK, MOVED). It takes no lock and allocates only to
// format a redirection.
func (st *State) Route(q *Query) string {
	return st.snap.Load().route(q, st)
}

func (sn *Snapshot) route(q *Query, st *State) string {
	o := sn.owner[q.Slot]
	if o == 0 {
		return ErrDownUnbound
	}
	var migrating, importing bool
	if o == sn.self && sn.migrating != nil && sn.migrating[q.Slot] != 0 {
		migrating = true
	} else if sn.importing != nil && sn.importing[q.Slot] != 0 {
		importing = true
	}
	if q.CrossSlot {
		return ErrCrossSlot
	}
	var missing, existing int
	var multi bool
	if (migrating || importing) && !q.ShardPubSub && q.Keys != nil {
		missing, existing, multi = q.Keys()
	}
	if !sn.ok {
		set := DefaultSettings()
		if st != nil {
			set = st.settings()
		}
		switch {
		case q.ShardPubSub:
			if !set.AllowPubsubshardWhenDown {
				return ErrDown
			}
		case !set.AllowReadsWhenDown:
			return ErrDown
		case q.Write:
			return ErrDownRO
		}
	}
	if (migrating || importing) && q.Migrate {
		return ""
	}
	if migrating && missing > 0 {
		if existing > 0 {
			return ErrTryAgain
		}
		return "ASK " + strconv.Itoa(q.Slot) + " " + sn.addrs[sn.migrating[q.Slot]-1]
	}
	if importing && q.Asking {
		if multi && missing > 0 {
			return ErrTryAgain
		}
		return ""
	}
	if (q.ReadOnly || q.ShardPubSub) && !q.TxWrite && sn.replica && sn.master == o {
		return ""
	}
	if o != sn.self {
		return "MOVED " + strconv.Itoa(q.Slot) + " " + sn.addrs[o-1]
	}
	return ""
}
