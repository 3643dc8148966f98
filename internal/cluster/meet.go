package cluster

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/redcluster/redcluster/internal/resp"
)

// blacklistTTL is how long a forgotten node cannot be re-added from gossip
// (cluster-behaviour.md §0 "forget blacklist TTL").
const blacklistTTL = 60_000

// Meet is CLUSTER MEET ip port [cport] (cluster-commands.md §1,
// cluster-bus.md §8): it adds a HANDSHAKE|MEET node with a random name;
// the cron connects to it and sends MEET. args are ip, port and the
// optional bus port.
func (st *State) Meet(args [][]byte) error {
	port, ok := resp.ParseInt(args[1])
	if !ok {
		return fmt.Errorf("ERR Invalid TCP base port specified: %s", args[1])
	}
	cport := port + defaultPortIncr
	if len(args) == 3 {
		if cport, ok = resp.ParseInt(args[2]); !ok {
			return fmt.Errorf("ERR Invalid TCP bus port specified: %s", args[2])
		}
	}
	// clusterStartHandshake: an IPv4 or IPv6 literal, normalised; ports in
	// 1..65535.
	addr, err := netip.ParseAddr(string(args[0]))
	if err != nil || addr.Zone() != "" || port <= 0 || port > 65535 || cport <= 0 || cport > 65535 {
		return fmt.Errorf("ERR Invalid node address specified: %s:%s", args[0], args[1])
	}
	ip := addr.String()
	st.lock()
	defer st.mu.Unlock()
	for _, n := range st.list {
		if n.Flags&FlagHandshake != 0 && n.IP == ip && n.Port == int(port) && n.CPort == int(cport) {
			return nil // a handshake with this address is in progress
		}
	}
	n := &Node{ID: st.randomID(), Flags: FlagHandshake | FlagMeet, ctime: st.now,
		IP: ip, Port: int(port), CPort: int(cport)}
	st.addNode(n)
	// Redis saves nothing here (handshake nodes are not in nodes.conf); the
	// next cron connects.
	st.endCommand()
	return nil
}

// blacklisted reports whether id was forgotten less than 60 s ago.
func (st *State) blacklisted(id string) bool {
	exp, ok := st.blacklist[id]
	if !ok {
		return false
	}
	if exp < st.now {
		delete(st.blacklist, id)
		return false
	}
	return true
}

// LinkInfo is one CLUSTER LINKS entry: a link bound to a node.
type LinkInfo struct {
	ID         LinkID
	Inbound    bool // "from" when true, "to" otherwise
	Node       string
	CreateTime int64
}

// Links lists the outbound and bound inbound link of every node
// (addReplyClusterLinksDescription).
func (st *State) Links() []LinkInfo {
	st.lock()
	defer st.mu.Unlock()
	var out []LinkInfo
	for _, n := range st.list {
		for _, l := range []*link{n.link, n.inLink} {
			if l != nil {
				out = append(out, LinkInfo{ID: l.id, Inbound: l.inbound, Node: n.ID, CreateTime: l.ctime})
			}
		}
	}
	return out
}

// PeerInfo is what tests and the edge need to know about a known node.
type PeerInfo struct {
	ID          string
	IP          string
	Port, CPort int
	Flags       Flags
	Master      string
	ConfigEpoch uint64
	Slots       int
}

// Peers lists the node table sorted by ID.
func (st *State) Peers() []PeerInfo {
	st.lock()
	defer st.mu.Unlock()
	out := make([]PeerInfo, 0, len(st.list))
	for _, n := range st.list {
		p := PeerInfo{ID: n.ID, IP: n.IP, Port: n.Port, CPort: n.CPort, Flags: n.Flags,
			ConfigEpoch: n.ConfigEpoch, Slots: n.numSlots}
		if n.Master != nil {
			p.Master = n.Master.ID
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
