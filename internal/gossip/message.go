// Package gossip is the Redis 7.0 cluster bus wire format: the clusterMsg
// header, the payloads of every message type, Encode and Decode
// (cluster-bus.md §2-§7). It does no I/O.
package gossip

import (
	"github.com/redcluster/redcluster/internal/slots"
)

// Sizes from cluster-bus.md §2 and §6.
const (
	HeaderLen   = 2256 // CLUSTERMSG_MIN_LEN
	GossipLen   = 104  // one clusterMsgDataGossip
	NameLen     = 40   // CLUSTER_NAMELEN
	IPLen       = 46   // NET_IP_STR_LEN
	FailLen     = HeaderLen + NameLen
	UpdateLen   = HeaderLen + 8 + NameLen + slots.Count/8 // 4352
	Version     = 1
	Signature   = "RCmb"
	publishHead = 8
	moduleHead  = 13
)

// Type is a bus message type (cluster-bus.md §4).
type Type uint16

// Message types.
const (
	TypePing         Type = 0
	TypePong         Type = 1
	TypeMeet         Type = 2
	TypeFail         Type = 3
	TypePublish      Type = 4
	TypeAuthRequest  Type = 5
	TypeAuthAck      Type = 6
	TypeUpdate       Type = 7
	TypeMFStart      Type = 8
	TypeModule       Type = 9
	TypePublishShard Type = 10
	// TypeCount is CLUSTERMSG_TYPE_COUNT: types at or above are accepted and ignored.
	TypeCount = 11
)

var typeNames = [TypeCount]string{"ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update", "mfstart", "module", "publishshard"}

// String is the name CLUSTER INFO uses in cluster_stats_messages_<name>_sent.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// Node flag bits, in the header, in gossip entries and in memory (§3).
const (
	FlagMaster     uint16 = 0x0001
	FlagSlave      uint16 = 0x0002
	FlagPFail      uint16 = 0x0004
	FlagFail       uint16 = 0x0008
	FlagMyself     uint16 = 0x0010
	FlagHandshake  uint16 = 0x0020
	FlagNoAddr     uint16 = 0x0040
	FlagMeet       uint16 = 0x0080
	FlagMigrateTo  uint16 = 0x0100
	FlagNoFailover uint16 = 0x0200
)

// Message flag bits of mflags[0] (§5).
const (
	MFlagPaused   byte = 0x01
	MFlagForceAck byte = 0x02
	MFlagExtData  byte = 0x04
)

// Extension types (§6.2).
const ExtHostname uint16 = 0

// Name is a 40-character node name.
type Name [NameLen]byte

// IsZero reports whether the name is all NUL bytes (the "no master" slaveof).
func (n Name) IsZero() bool { return n == Name{} }

// String returns the name as text.
func (n Name) String() string { return string(n[:]) }

// NameFrom converts a 40-character string to a Name (truncated or NUL padded).
func NameFrom(s string) Name {
	var n Name
	copy(n[:], s)
	return n
}

// Header is the fixed 2256-byte part of every message (§2).
type Header struct {
	Type         Type
	Port         uint16 // client port
	CurrentEpoch uint64
	ConfigEpoch  uint64 // a replica sends its master's
	Offset       uint64 // replication offset
	Sender       Name
	Slots        slots.Bitmap // a replica sends its master's
	SlaveOf      Name         // zero when the sender is a master
	IP           string       // announced IP; "" lets the receiver use the socket address
	PPort        uint16
	CPort        uint16 // bus port
	Flags        uint16
	State        byte // 0 ok, 1 fail; never read by 7.0
	MFlags       byte // mflags[0]
}

// GossipEntry is one clusterMsgDataGossip (§6.1). Times are in seconds.
type GossipEntry struct {
	Name         Name
	PingSent     uint32
	PongReceived uint32
	IP           string
	Port         uint16
	CPort        uint16
	Flags        uint16
	PPort        uint16
}

// Extension is one ping extension (§6.2); Body excludes the 8-byte header
// and includes the zero padding.
type Extension struct {
	Type uint16
	Body []byte
}

// Message is a decoded bus packet: the header plus the payload fields that
// belong to its type (the others are zero).
type Message struct {
	Header
	Gossip     []GossipEntry // PING, PONG, MEET
	Extensions []Extension   // PING, PONG, MEET
	FailName   Name          // FAIL: the node declared failed
	Channel    []byte        // PUBLISH, PUBLISHSHARD
	Payload    []byte        // PUBLISH, PUBLISHSHARD message; MODULE payload
	// UPDATE: the described node's configEpoch, name and slots.
	UpdateConfigEpoch uint64
	UpdateName        Name
	UpdateSlots       *slots.Bitmap // nil: none (a Message is 2 KiB smaller for the other types)
	// MODULE
	ModuleID   [8]byte
	ModuleType byte
}

// Hostname returns the HOSTNAME extension's value ("" when absent).
func (m *Message) Hostname() string {
	for _, e := range m.Extensions {
		if e.Type == ExtHostname {
			for i, b := range e.Body {
				if b == 0 {
					return string(e.Body[:i])
				}
			}
			return string(e.Body)
		}
	}
	return ""
}

// HostnameExtension builds the HOSTNAME extension for name: the bytes, a
// NUL, zero padding to a multiple of 8.
func HostnameExtension(name string) Extension {
	n := (len(name) + 1 + 7) &^ 7
	body := make([]byte, n)
	copy(body, name)
	return Extension{Type: ExtHostname, Body: body}
}
