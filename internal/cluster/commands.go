package cluster

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/slots"
)

// Errors of the CLUSTER subcommands, without the code prefix that Error adds.
var (
	errInvalidSlot = errors.New("ERR Invalid or out of range slot")
)

// parseSlot is getSlotOrReply.
func parseSlot(b []byte) (int, error) {
	n, ok := resp.ParseInt(b)
	if !ok || n < 0 || n >= slots.Count {
		return 0, errInvalidSlot
	}
	return int(n), nil
}

// checkAssign is checkSlotAssignmentsOrReply for slots start..end.
func (st *State) checkAssign(seen *[slots.Count]uint8, del bool, start, end int) error {
	for s := start; s <= end; s++ {
		if del && st.owner[s] == nil {
			return fmt.Errorf("ERR Slot %d is already unassigned", s)
		} else if !del && st.owner[s] != nil {
			return fmt.Errorf("ERR Slot %d is already busy", s)
		}
		seen[s]++
		if seen[s] == 2 {
			return fmt.Errorf("ERR Slot %d specified multiple times", s)
		}
	}
	return nil
}

// AssignSlots runs CLUSTER ADDSLOTS / DELSLOTS (ranges false: args are
// slots) or ADDSLOTSRANGE / DELSLOTSRANGE (ranges true: args are start/end
// pairs; the caller has checked that their count is even). It is all or
// nothing. It returns the slots taken away from this node's shard, whose
// shard channels must be dropped.
func (st *State) AssignSlots(args [][]byte, del, ranges bool) ([]int, error) {
	st.lock()
	defer st.mu.Unlock()
	var seen [slots.Count]uint8
	if ranges {
		for j := 0; j+1 < len(args); j += 2 {
			start, err := parseSlot(args[j])
			if err != nil {
				return nil, err
			}
			end, err := parseSlot(args[j+1])
			if err != nil {
				return nil, err
			}
			if start > end {
				return nil, fmt.Errorf("ERR start slot number %d is greater than end slot number %d", start, end)
			}
			if err := st.checkAssign(&seen, del, start, end); err != nil {
				return nil, err
			}
		}
	} else {
		for _, a := range args {
			if _, err := parseSlot(a); err != nil {
				return nil, err
			}
		}
		for _, a := range args {
			s, _ := parseSlot(a)
			if err := st.checkAssign(&seen, del, s, s); err != nil {
				return nil, err
			}
		}
	}
	var lost []int
	for s := range seen {
		if seen[s] == 0 {
			continue
		}
		delete(st.importing, s)
		if del {
			if _, mine := st.delSlot(s); mine {
				lost = append(lost, s)
			}
		} else {
			st.addSlot(st.myself, s)
		}
	}
	st.changed()
	return lost, nil
}

// FlushSlots unassigns every slot of this node (CLUSTER FLUSHSLOTS; the
// caller checked that db 0 is empty) and returns them.
func (st *State) FlushSlots() []int {
	st.lock()
	defer st.mu.Unlock()
	var lost []int
	for s := 0; s < slots.Count; s++ {
		if st.owner[s] == st.myself {
			if _, mine := st.delSlot(s); mine {
				lost = append(lost, s)
			}
		}
	}
	st.changed()
	return lost
}

// InfoText is the CLUSTER INFO text.
func (st *State) InfoText() string {
	st.lock()
	defer st.mu.Unlock()
	assigned, ok, pfail, fail := 0, 0, 0, 0
	for _, n := range &st.owner {
		if n == nil {
			continue
		}
		assigned++
		switch {
		case n.Flags&FlagFail != 0:
			fail++
		case n.Flags&FlagPFail != 0:
			pfail++
		default:
			ok++
		}
	}
	myEpoch := st.myself.ConfigEpoch
	if st.myself.IsReplica() && st.myself.Master != nil {
		myEpoch = st.myself.Master.ConfigEpoch
	}
	state := "fail"
	if st.ok {
		state = "ok"
	}
	var b strings.Builder
	line := func(k string, v any) {
		fmt.Fprintf(&b, "%s:%v\r\n", k, v)
	}
	line("cluster_state", state)
	line("cluster_slots_assigned", assigned)
	line("cluster_slots_ok", ok)
	line("cluster_slots_pfail", pfail)
	line("cluster_slots_fail", fail)
	line("cluster_known_nodes", len(st.nodes))
	line("cluster_size", st.size)
	line("cluster_current_epoch", st.currentEpoch)
	line("cluster_my_epoch", myEpoch)
	var tot int64
	for i, v := range st.stats.Sent {
		if v != 0 {
			tot += v
			line("cluster_stats_messages_"+msgTypeNames[i]+"_sent", v)
		}
	}
	line("cluster_stats_messages_sent", tot)
	tot = 0
	for i, v := range st.stats.Received {
		if v != 0 {
			tot += v
			line("cluster_stats_messages_"+msgTypeNames[i]+"_received", v)
		}
	}
	line("cluster_stats_messages_received", tot)
	line("total_cluster_links_buffer_limit_exceeded", st.stats.LinksExceeded)
	return b.String()
}

// NodeEntry is a node as CLUSTER SLOTS and SHARDS describe it.
type NodeEntry struct {
	ID         string
	IP         string
	Endpoint   string // preferred endpoint (cluster-preferred-endpoint-type)
	Port       int
	Hostname   string
	Replica    bool
	Failed     bool
	ReplOffset int64
}

// SlotRange is one CLUSTER SLOTS entry: a maximal run of slots with the same
// master, and the nodes serving it (master first).
type SlotRange struct {
	Start, End int
	Nodes      []NodeEntry
}

func (st *State) entry(n *Node) NodeEntry {
	off := n.ReplOffset
	if n == st.myself && st.opts.ReplOffset != nil {
		off = st.opts.ReplOffset()
	}
	return NodeEntry{ID: n.ID, IP: n.IP, Endpoint: n.Endpoint(st.settings().EndpointType), Port: n.Port, Hostname: n.Hostname,
		Replica: n.IsReplica(), Failed: n.Failed(), ReplOffset: off}
}

// Slots returns the CLUSTER SLOTS ranges in slot order.
func (st *State) Slots() []SlotRange {
	st.lock()
	defer st.mu.Unlock()
	var out []SlotRange
	var cur *Node
	start := 0
	flush := func(end int) {
		if cur == nil {
			return
		}
		r := SlotRange{Start: start, End: end, Nodes: []NodeEntry{st.entry(cur)}}
		for _, rep := range cur.replicas {
			e := st.entry(rep)
			if !e.Failed && e.ReplOffset != 0 {
				r.Nodes = append(r.Nodes, e)
			}
		}
		out = append(out, r)
	}
	for s := 0; s < slots.Count; s++ {
		if n := st.owner[s]; n != cur {
			flush(s - 1)
			cur, start = n, s
		}
	}
	flush(slots.Count - 1)
	return out
}

// Shard is one CLUSTER SHARDS entry: a master's slot ranges and its nodes.
type Shard struct {
	Slots []slots.Range
	Nodes []NodeEntry
}

// Shards returns one entry per master, slotless masters included.
func (st *State) Shards() []Shard {
	st.lock()
	defer st.mu.Unlock()
	ranges := st.ownerRanges()
	var out []Shard
	for _, n := range st.sortedNodes() {
		if !n.IsMaster() {
			continue
		}
		sh := Shard{Slots: ranges[n], Nodes: []NodeEntry{st.entry(n)}}
		for _, r := range n.replicas {
			sh.Nodes = append(sh.Nodes, st.entry(r))
		}
		out = append(out, sh)
	}
	return out
}

// BumpEpoch is CLUSTER BUMPEPOCH: it gives this node a new configEpoch
// unless it already has the greatest one. It returns whether it did and the
// resulting epoch.
func (st *State) BumpEpoch() (bool, uint64) {
	st.lock()
	defer st.mu.Unlock()
	ok := st.bumpEpoch()
	if ok {
		st.changed()
	}
	return ok, st.myself.ConfigEpoch
}

func (st *State) bumpEpoch() bool {
	max := st.maxEpoch()
	if st.currentEpoch > max {
		max = st.currentEpoch
	}
	me := st.myself
	if me.ConfigEpoch == 0 || me.ConfigEpoch != max {
		st.currentEpoch++
		me.ConfigEpoch = st.currentEpoch
		st.opts.Log.Warn().Uint64("epoch", me.ConfigEpoch).Msg("New configEpoch set")
		return true
	}
	return false
}

// SetConfigEpoch is CLUSTER SET-CONFIG-EPOCH.
func (st *State) SetConfigEpoch(arg []byte) error {
	e, ok := resp.ParseInt(arg)
	if !ok {
		return errors.New("ERR value is not an integer or out of range")
	}
	st.lock()
	defer st.mu.Unlock()
	switch {
	case e < 0:
		return fmt.Errorf("ERR Invalid config epoch specified: %d", e)
	case len(st.nodes) > 1:
		return errors.New("ERR The user can assign a config epoch only when the node does not know any other node.")
	case st.myself.ConfigEpoch != 0:
		return errors.New("ERR Node config epoch is already non-zero")
	}
	st.myself.ConfigEpoch = uint64(e)
	if st.currentEpoch < uint64(e) {
		st.currentEpoch = uint64(e)
	}
	st.changed()
	return nil
}

func unknownNode(id []byte) error { return fmt.Errorf("ERR Unknown node %s", id) }

// Forget is CLUSTER FORGET.
func (st *State) Forget(id []byte) error {
	st.lock()
	defer st.mu.Unlock()
	n := st.lookup(string(id))
	switch {
	case n == nil:
		return unknownNode(id)
	case n == st.myself:
		return errors.New("ERR I tried hard but I can't forget myself...")
	case st.myself.IsReplica() && st.myself.Master == n:
		return errors.New("ERR Can't forget my master!")
	}
	st.blacklist[n.ID] = st.now + blacklistTTL
	st.deleteNode(n)
	st.changed()
	return nil
}

// CountFailureReports is CLUSTER COUNT-FAILURE-REPORTS.
func (st *State) CountFailureReports(id []byte) (int, error) {
	st.lock()
	defer st.mu.Unlock()
	n := st.lookup(string(id))
	if n == nil {
		return 0, unknownNode(id)
	}
	return st.failureReports(n), nil
}

// Replicas is CLUSTER REPLICAS / SLAVES: the NODES lines of id's replicas.
func (st *State) Replicas(id []byte) ([]string, error) {
	st.lock()
	defer st.mu.Unlock()
	n := st.lookup(string(id))
	if n == nil {
		return nil, unknownNode(id)
	}
	if n.IsReplica() {
		return nil, errors.New("ERR The specified node is not a master")
	}
	ranges := st.ownerRanges()
	out := make([]string, 0, len(n.replicas))
	for _, r := range n.replicas {
		open := ""
		if r == st.myself {
			open = st.openSlotsText()
		}
		out = append(out, r.description(ranges[r], open))
	}
	return out, nil
}

// Replicate is CLUSTER REPLICATE's checks and table change; dbEmpty tells
// whether db 0 holds no key. It returns the new master.
func (st *State) Replicate(id []byte, dbEmpty bool) (*NodeEntry, error) {
	st.lock()
	defer st.mu.Unlock()
	n := st.lookup(string(id))
	me := st.myself
	switch {
	case n == nil:
		return nil, unknownNode(id)
	case n == me:
		return nil, errors.New("ERR Can't replicate myself")
	case n.IsReplica():
		return nil, errors.New("ERR I can only replicate a master, not a replica.")
	case me.IsMaster() && (me.numSlots != 0 || !dbEmpty):
		return nil, errors.New("ERR To set a master the node must be empty and without assigned slots.")
	}
	st.setMaster(n)
	// Tell every node of the new role at once (a PONG, as after a
	// failover: cluster-bus.md §6) instead of waiting for the next pings:
	// Redis 7.0 sends nothing here, and a client that reads CLUSTER NODES
	// from another node right after REPLICATE saw this node as a master
	// for up to 3 s.
	st.broadcastPong(false)
	st.changed()
	e := st.entry(n)
	return &e, nil
}

// Reset is CLUSTER RESET [HARD|SOFT]; hasKeys tells whether the node's
// database holds keys (a master must be empty). It returns the slots this
// node's shard lost.
func (st *State) Reset(args [][]byte, hasKeys bool) ([]int, error) {
	hard := false
	if len(args) == 1 {
		switch strings.ToLower(string(args[0])) {
		case "hard":
			hard = true
		case "soft":
		default:
			return nil, errors.New("ERR syntax error")
		}
	}
	st.lock()
	defer st.mu.Unlock()
	me := st.myself
	if me.IsMaster() && hasKeys {
		return nil, errors.New("ERR CLUSTER RESET can't be called with master nodes containing keys")
	}
	if me.IsReplica() {
		if me.Master != nil {
			me.Master.removeReplica(me)
		}
		me.Master = nil
		me.Flags &^= FlagSlave
		me.Flags |= FlagMaster
		st.replicating = false
		st.emit(Output{Kind: OutUnsetMaster})
	}
	st.resetManualFailover()
	st.migrating = map[int]*Node{}
	st.importing = map[int]*Node{}
	var lost []int
	for s := 0; s < slots.Count; s++ {
		if _, mine := st.delSlot(s); mine {
			lost = append(lost, s)
		}
	}
	for _, n := range st.sortedNodes() {
		if n != me {
			st.deleteNode(n)
		}
	}
	if hard {
		st.currentEpoch, st.lastVoteEpoch, me.ConfigEpoch = 0, 0, 0
		id := st.randomID()
		st.renameNode(me, id)
		st.opts.Log.Info().Msg("Node hard reset, now I'm " + id)
	}
	st.changed()
	return lost, nil
}

// SetSlot is CLUSTER SETSLOT <slot> IMPORTING|MIGRATING|STABLE|NODE.
// keysInSlot counts this node's keys in a slot. It returns the slots this
// node's shard lost.
func (st *State) SetSlot(args [][]byte, keysInSlot func(slot int) int) ([]int, error) {
	st.lock()
	defer st.mu.Unlock()
	me := st.myself
	if me.IsReplica() {
		return nil, errors.New("ERR Please use SETSLOT only with masters.")
	}
	slot, err := parseSlot(args[0])
	if err != nil {
		return nil, err
	}
	action := strings.ToLower(string(args[1]))
	target := func() (*Node, error) {
		n := st.lookup(string(args[2]))
		if n == nil {
			return nil, fmt.Errorf("ERR I don't know about node %s", args[2])
		}
		if n.IsReplica() {
			return nil, errors.New("ERR Target node is not a master")
		}
		return n, nil
	}
	var lost []int
	switch {
	case action == "migrating" && len(args) == 3:
		if st.owner[slot] != me {
			return nil, fmt.Errorf("ERR I'm not the owner of hash slot %d", slot)
		}
		n, err := target()
		if err != nil {
			return nil, err
		}
		st.migrating[slot] = n
	case action == "importing" && len(args) == 3:
		if st.owner[slot] == me {
			return nil, fmt.Errorf("ERR I'm already the owner of hash slot %d", slot)
		}
		n, err := target()
		if err != nil {
			return nil, err
		}
		st.importing[slot] = n
	case action == "stable" && len(args) == 2:
		delete(st.importing, slot)
		delete(st.migrating, slot)
	case action == "node" && len(args) == 3:
		n := st.lookup(string(args[2]))
		if n == nil {
			return nil, fmt.Errorf("ERR Unknown node %s", args[2])
		}
		if n.IsReplica() {
			return nil, errors.New("ERR Target node is not a master")
		}
		keys := keysInSlot(slot)
		if st.owner[slot] == me && n != me && keys != 0 {
			return nil, fmt.Errorf("ERR Can't assign hashslot %d to a different node while I still hold keys for this hash slot.", slot)
		}
		if keys == 0 {
			delete(st.migrating, slot)
		}
		wasMine := st.owner[slot] == me
		if _, mine := st.delSlot(slot); mine {
			lost = append(lost, slot)
		}
		st.addSlot(n, slot)
		if wasMine && n != me && me.numSlots == 0 && st.settings().AllowReplicaMigration {
			st.opts.Log.Warn().Msg("Configuration change detected. Reconfiguring myself as a replica of " + n.ID)
			st.setMaster(n)
		}
		if n == me && st.importing[slot] != nil {
			// Closing an import: a new configEpoch without consensus,
			// announced to everybody at once (cluster-commands.md §1).
			if st.bumpEpoch() {
				st.opts.Log.Warn().Msg(fmt.Sprintf("configEpoch updated after importing slot %d", slot))
			}
			delete(st.importing, slot)
			st.broadcastPong(false)
		}
	default:
		return nil, errors.New("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
	}
	st.changed()
	return lost, nil
}

// FormatBumpReply is the status line of CLUSTER BUMPEPOCH.
func FormatBumpReply(bumped bool, epoch uint64) string {
	if bumped {
		return "BUMPED " + strconv.FormatUint(epoch, 10)
	}
	return "STILL " + strconv.FormatUint(epoch, 10)
}
