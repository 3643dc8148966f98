package cluster

import (
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

// publish builds and stores a new snapshot. Caller holds mu.
func (st *State) publish() {
	sn := &Snapshot{ok: st.ok, replica: st.myself.IsReplica()}
	endpoint := st.settings().EndpointType
	st.pubEndpoint = endpoint
	index := make(map[*Node]uint16, len(st.nodes))
	idx := func(n *Node) uint16 {
		if n == nil {
			return 0
		}
		if i, ok := index[n]; ok {
			return i
		}
		sn.addrs = append(sn.addrs, n.redirectAddr(endpoint))
		i := uint16(len(sn.addrs))
		index[n] = i
		return i
	}
	sn.self = idx(st.myself)
	sn.master = idx(st.myself.Master)
	var last *Node
	var lastIdx uint16
	for s, n := range st.owner {
		if n != nil {
			if n != last { // runs of slots share their owner
				last, lastIdx = n, idx(n)
			}
			sn.owner[s] = lastIdx
		}
	}
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
	st.snap.Store(sn)
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
