// Package cluster holds one node's view of a Redis Cluster: the known nodes
// with their flags and epochs, the slot owner table, the cluster state
// (ok/fail) evaluation, nodes.conf persistence, the data behind the CLUSTER
// commands and the redirection decisions (MOVED, ASK, CROSSSLOT,
// CLUSTERDOWN) made for every keyed command.
//
// Routing reads an immutable Snapshot through an atomic pointer, so the hot
// path takes no lock and allocates nothing; every change to the view
// publishes a new snapshot.
package cluster

import (
	"strconv"
	"strings"

	"github.com/redcluster/redcluster/internal/gossip"
	"github.com/redcluster/redcluster/internal/slots"
)

// IDLen is the length of a node ID: 40 hex characters.
const IDLen = 40

// Flags are a node's flags. The bit values are the bus's node-flags word
// (cluster-bus.md §3), so headers and gossip entries carry them as they are.
type Flags uint16

// Node flags (cluster-bus.md §3).
const (
	FlagMaster     Flags = Flags(gossip.FlagMaster)
	FlagSlave      Flags = Flags(gossip.FlagSlave)
	FlagPFail      Flags = Flags(gossip.FlagPFail)
	FlagFail       Flags = Flags(gossip.FlagFail)
	FlagMyself     Flags = Flags(gossip.FlagMyself)
	FlagHandshake  Flags = Flags(gossip.FlagHandshake)
	FlagNoAddr     Flags = Flags(gossip.FlagNoAddr)
	FlagNoFailover Flags = Flags(gossip.FlagNoFailover)
	// FlagMeet and FlagMigrateTo are never printed.
	FlagMeet      Flags = Flags(gossip.FlagMeet)
	FlagMigrateTo Flags = Flags(gossip.FlagMigrateTo)
)

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagMyself, "myself"}, {FlagMaster, "master"}, {FlagSlave, "slave"},
	{FlagPFail, "fail?"}, {FlagFail, "fail"}, {FlagHandshake, "handshake"},
	{FlagNoAddr, "noaddr"}, {FlagNoFailover, "nofailover"},
}

// String prints the flags comma separated, "noflags" when none is set.
func (f Flags) String() string {
	var b strings.Builder
	f.write(&b)
	return b.String()
}

// write appends the flags' CLUSTER NODES field to b.
func (f Flags) write(b *strings.Builder) {
	start := b.Len()
	for _, fn := range flagNames {
		if f&fn.f != 0 {
			if b.Len() > start {
				b.WriteByte(',')
			}
			b.WriteString(fn.name)
		}
	}
	if b.Len() == start {
		b.WriteString("noflags")
	}
}

// parseFlags parses a nodes.conf flags field.
func parseFlags(s string) (Flags, bool) {
	var f Flags
	for _, name := range strings.Split(s, ",") {
		switch name {
		case "myself":
			f |= FlagMyself
		case "master":
			f |= FlagMaster
		case "slave":
			f |= FlagSlave
		case "fail?":
			f |= FlagPFail
		case "fail":
			f |= FlagFail
		case "handshake":
			f |= FlagHandshake
		case "noaddr":
			f |= FlagNoAddr
		case "nofailover":
			f |= FlagNoFailover
		case "noflags":
		default:
			return 0, false
		}
	}
	return f, true
}

// Node is one entry of the node table (myself included).
type Node struct {
	ID          string
	IP          string
	Port        int
	CPort       int
	PPort       int // plaintext port of TLS clusters (always 0 here)
	Hostname    string
	Flags       Flags
	Master      *Node // the master of a replica, nil otherwise
	PingSent    int64 // ms, 0 when no ping is pending
	PongRecv    int64 // ms
	ConfigEpoch uint64
	ReplOffset  int64
	slots       slots.Bitmap
	numSlots    int
	replicas    []*Node

	ctime        int64 // creation time (handshake timeout)
	dataReceived int64 // last time any bus packet came from it
	failTime     int64 // when it was flagged FAIL
	votedTime    int64 // last vote given for one of its replicas (failover)
	orphanedTime int64 // since when it is an orphaned master (migration)
	link         *link // outbound link (node->link)
	inLink       *link // inbound link, once bound (node->inbound_link)
	failReports  []failReport
	// lastInPing is the serial of the last PING whose gossip named it.
	lastInPing uint64
	// pubGen and pubIdx: the node's index in the snapshot publish is
	// building, valid while pubGen is State.pubGen.
	pubGen uint64
	pubIdx uint16
}

// linked reports whether an outbound link exists (CLUSTER NODES prints
// "connected" for it, also while the connection is being made).
func (n *Node) linked() bool { return n.link != nil }

// IsMaster reports whether the node is flagged master.
func (n *Node) IsMaster() bool { return n.Flags&FlagMaster != 0 }

// IsReplica reports whether the node is flagged slave.
func (n *Node) IsReplica() bool { return n.Flags&FlagSlave != 0 }

// Failed reports whether the node is flagged FAIL.
func (n *Node) Failed() bool { return n.Flags&FlagFail != 0 }

// NumSlots is the number of slots the node serves.
func (n *Node) NumSlots() int { return n.numSlots }

// Endpoint is the node's preferred endpoint (getPreferredEndpoint): its
// IP, its hostname ("?" when it has none) or "" for unknown-endpoint.
func (n *Node) Endpoint(endpointType string) string {
	switch endpointType {
	case "hostname":
		if n.Hostname != "" {
			return n.Hostname
		}
		return "?"
	case "unknown-endpoint":
		return ""
	}
	return n.IP
}

// redirectAddr is "endpoint:port", the target MOVED and ASK name.
func (n *Node) redirectAddr(endpointType string) string {
	return n.Endpoint(endpointType) + ":" + strconv.Itoa(n.Port)
}

// description is the node's CLUSTER NODES line without the trailing
// newline. open lists the migrating/importing markers (myself only).
func (n *Node) description(ranges []slots.Range, open string) string {
	var b strings.Builder
	n.writeDescription(&b, ranges, open)
	return b.String()
}

// writeDescription appends n's CLUSTER NODES line, without its "\n", to b.
func (n *Node) writeDescription(b *strings.Builder, ranges []slots.Range, open string) {
	b.WriteString(n.ID)
	b.WriteByte(' ')
	b.WriteString(n.IP)
	b.WriteByte(':')
	var num [20]byte
	b.Write(strconv.AppendInt(num[:0], int64(n.Port), 10))
	b.WriteByte('@')
	b.Write(strconv.AppendInt(num[:0], int64(n.CPort), 10))
	if n.Hostname != "" {
		b.WriteByte(',')
		b.WriteString(n.Hostname)
	}
	b.WriteByte(' ')
	n.Flags.write(b)
	b.WriteByte(' ')
	if n.Master != nil {
		b.WriteString(n.Master.ID)
	} else {
		b.WriteByte('-')
	}
	epoch := n.ConfigEpoch
	if n.IsReplica() && n.Master != nil {
		epoch = n.Master.ConfigEpoch
	}
	b.WriteByte(' ')
	b.Write(strconv.AppendInt(num[:0], n.PingSent, 10))
	b.WriteByte(' ')
	b.Write(strconv.AppendInt(num[:0], n.PongRecv, 10))
	b.WriteByte(' ')
	b.Write(strconv.AppendUint(num[:0], epoch, 10))
	if n.linked() || n.Flags&FlagMyself != 0 {
		b.WriteString(" connected")
	} else {
		b.WriteString(" disconnected")
	}
	for _, r := range ranges {
		b.WriteByte(' ')
		b.WriteString(r.String())
	}
	b.WriteString(open)
}

// validName is ValidID on a name from the wire.
func validName(n *gossip.Name) bool {
	for _, c := range n {
		if !idChar(c) {
			return false
		}
	}
	return true
}

// lookupName is lookup by a name from the wire, without converting it to a
// string first (one allocation per packet and per gossip entry saved).
// The table holds only valid IDs, so a malformed name simply misses.
func (st *State) lookupName(n *gossip.Name) *Node {
	return st.nodes[string(n[:])]
}

// ValidID reports whether s is shaped like a node ID as Redis checks it: 40
// characters from [a-z0-9].
func ValidID(s string) bool {
	if len(s) != IDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !idChar(s[i]) {
			return false
		}
	}
	return true
}

// idChar reports whether c may appear in a node ID: [a-z0-9].
func idChar(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' }
