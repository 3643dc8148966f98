package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/redcluster/redcluster/internal/slots"
)

// Timing constants of the state evaluation (cluster-behaviour.md §0).
const (
	writableDelay   = 2000 // ms a master stays FAIL after the first evaluation
	minRejoinDelay  = 500  // ms
	maxRejoinDelay  = 5000 // ms
	cronPeriod      = 100 * time.Millisecond
	defaultPortIncr = 10000
)

// Settings are the cluster options CONFIG SET may change while running.
type Settings struct {
	NodeTimeout              int64 // cluster-node-timeout, ms
	RequireFullCoverage      bool  // cluster-require-full-coverage
	AllowReadsWhenDown       bool  // cluster-allow-reads-when-down
	AllowPubsubshardWhenDown bool  // cluster-allow-pubsubshard-when-down
	// EndpointType is cluster-preferred-endpoint-type: "ip" (default),
	// "hostname" or "unknown-endpoint".
	EndpointType string
}

// DefaultSettings are Redis 7.0's defaults.
func DefaultSettings() Settings {
	return Settings{NodeTimeout: 15000, RequireFullCoverage: true, AllowPubsubshardWhenDown: true}
}

// Options configure a State.
type Options struct {
	// ConfigFile is the path of nodes.conf.
	ConfigFile string
	// Port is the client port; CPort the bus port (0: Port+10000).
	Port, CPort int
	// AnnounceIP, when set, is the IP this node reports for itself.
	AnnounceIP string
	// Hostname is this node's announced hostname ("" for none).
	Hostname string
	// Settings returns the current run-time settings (nil: defaults).
	Settings func() Settings
	// ReplOffset returns this node's replication offset (CLUSTER SHARDS).
	ReplOffset func() int64
	// Now returns the time in ms (nil: the wall clock).
	Now func() int64
	Log zerolog.Logger
}

// State is this node's view of the cluster. Its methods are safe for
// concurrent use; Route reads a snapshot and takes no lock.
type State struct {
	mu            sync.Mutex
	opts          Options
	path          string
	myself        *Node
	nodes         map[string]*Node
	owner         [slots.Count]*Node
	migrating     map[int]*Node
	importing     map[int]*Node
	currentEpoch  uint64
	lastVoteEpoch uint64
	ok            bool
	size          int
	firstCall     int64
	amongMinority int64
	updatePending bool
	stats         Stats
	snap          atomic.Pointer[Snapshot]
}

// Stats count bus traffic for CLUSTER INFO.
type Stats struct {
	Sent, Received [MsgTypeCount]int64
	LinksExceeded  int64
}

// MsgTypeCount is the number of bus message types (ping .. publishshard).
const MsgTypeCount = 11

var msgTypeNames = [MsgTypeCount]string{"ping", "pong", "meet", "fail", "publish",
	"auth-req", "auth-ack", "update", "mfstart", "module", "publishshard"}

// New loads nodes.conf (creating a fresh node with a random ID when the file
// is missing or empty, and saving it) and returns the state. The cluster
// state starts as fail, like Redis, until the first evaluations.
func New(opts Options) (*State, error) {
	if opts.Now == nil {
		opts.Now = func() int64 { return time.Now().UnixMilli() }
	}
	st := &State{
		opts:      opts,
		path:      opts.ConfigFile,
		nodes:     make(map[string]*Node),
		migrating: map[int]*Node{},
		importing: map[int]*Node{},
		size:      1,
	}
	loaded, err := st.load()
	if err != nil {
		return nil, err
	}
	if !loaded {
		id, err := RandomID()
		if err != nil {
			return nil, err
		}
		st.myself = &Node{ID: id, Flags: FlagMyself | FlagMaster}
		st.nodes[id] = st.myself
	}
	me := st.myself
	me.Port = opts.Port
	me.CPort = opts.CPort
	if me.CPort == 0 {
		me.CPort = opts.Port + defaultPortIncr
	}
	if opts.AnnounceIP != "" {
		me.IP = opts.AnnounceIP
	}
	me.Hostname = opts.Hostname
	if !loaded {
		if err := st.save(); err != nil {
			return nil, err
		}
		st.opts.Log.Info().Str("id", me.ID).Msg("No cluster configuration found, I'm " + me.ID)
	} else {
		st.opts.Log.Info().Str("id", me.ID).Msg("Node configuration loaded, I'm " + me.ID)
	}
	st.publish()
	return st, nil
}

// RandomID returns a new node ID: 40 random hex characters.
func RandomID() (string, error) {
	var b [IDLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating node id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func (st *State) settings() Settings {
	if st.opts.Settings != nil {
		return st.opts.Settings()
	}
	return DefaultSettings()
}

// Run evaluates the cluster state every 100 ms (clusterCron's part that
// exists on a lone node) until done is closed.
func (st *State) Run(done <-chan struct{}) {
	t := time.NewTicker(cronPeriod)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			st.Tick()
		}
	}
}

// Tick is one cron step: re-evaluate the state while it is fail or an
// evaluation is pending.
func (st *State) Tick() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.ok || st.updatePending {
		st.updateState()
	}
}

// MyID returns this node's ID.
func (st *State) MyID() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.myself.ID
}

// OK reports whether the cluster state is ok.
func (st *State) OK() bool { return st.snap.Load().ok }

// lookup finds a node by ID the way clusterLookupNode does.
func (st *State) lookup(id string) *Node {
	if !ValidID(id) {
		return nil
	}
	return st.nodes[id]
}

// addSlot binds slot to n; false when the slot already has an owner.
func (st *State) addSlot(n *Node, slot int) bool {
	if st.owner[slot] != nil {
		return false
	}
	st.owner[slot] = n
	n.slots.Set(slot)
	n.numSlots++
	return true
}

// delSlot unbinds slot; it reports whether it had an owner and whether
// that owner is myself or my master (its shard channels must go).
func (st *State) delSlot(slot int) (had, mine bool) {
	n := st.owner[slot]
	if n == nil {
		return false, false
	}
	mine = n == st.myself || (st.myself.Master != nil && st.myself.Master == n)
	n.slots.Clear(slot)
	n.numSlots--
	st.owner[slot] = nil
	return true, mine
}

// changed runs after a change of the persistent view: it evaluates the
// state, saves nodes.conf and publishes a new routing snapshot (Redis does
// the same in beforeSleep, before the command's reply is written).
func (st *State) changed() {
	st.updateState()
	if err := st.save(); err != nil {
		st.opts.Log.Warn().Err(err).Msg("saving the cluster config")
	}
	st.publish()
}

// updateState is clusterUpdateState: it sets ok/fail and the cluster size.
func (st *State) updateState() {
	st.updatePending = false
	now := st.opts.Now()
	if st.firstCall == 0 {
		st.firstCall = now
	}
	me := st.myself
	if me.IsMaster() && !st.ok && now-st.firstCall < writableDelay {
		return
	}
	set := st.settings()
	newOK := true
	if set.RequireFullCoverage {
		for _, n := range st.owner {
			if n == nil || n.Flags&FlagFail != 0 {
				newOK = false
				break
			}
		}
	}
	size, reachable := 0, 0
	for _, n := range st.nodes {
		if n.IsMaster() && n.numSlots > 0 {
			size++
			if n.Flags&(FlagFail|FlagPFail) == 0 {
				reachable++
			}
		}
	}
	st.size = size
	if reachable < size/2+1 {
		newOK = false
		st.amongMinority = now
	}
	if newOK != st.ok {
		rejoin := set.NodeTimeout
		if rejoin > maxRejoinDelay {
			rejoin = maxRejoinDelay
		}
		if rejoin < minRejoinDelay {
			rejoin = minRejoinDelay
		}
		if newOK && me.IsMaster() && now-st.amongMinority < rejoin {
			return
		}
		st.ok = newOK
		state := "fail"
		if newOK {
			state = "ok"
		}
		st.opts.Log.Warn().Msg("Cluster state changed: " + state)
		st.publish()
	}
}

// sortedNodes returns the node table, myself first, then by ID.
func (st *State) sortedNodes() []*Node {
	out := make([]*Node, 0, len(st.nodes))
	for _, n := range st.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a == st.myself) != (b == st.myself) {
			return a == st.myself
		}
		return a.ID < b.ID
	})
	return out
}

// ownerRanges returns, for every node, its maximal runs of slots in
// ascending order.
func (st *State) ownerRanges() map[*Node][]slots.Range {
	out := map[*Node][]slots.Range{}
	var cur *Node
	start := 0
	for i := 0; i <= slots.Count; i++ {
		var n *Node
		if i < slots.Count {
			n = st.owner[i]
		}
		if i < slots.Count && n == cur {
			continue
		}
		if cur != nil {
			out[cur] = append(out[cur], slots.Range{Start: start, End: i - 1})
		}
		cur, start = n, i
	}
	return out
}

// deleteNode removes n from the table with its slots and links.
func (st *State) deleteNode(n *Node) {
	for s := 0; s < slots.Count; s++ {
		if st.owner[s] == n {
			st.delSlot(s)
		}
	}
	for s, m := range st.migrating {
		if m == n {
			delete(st.migrating, s)
		}
	}
	for s, m := range st.importing {
		if m == n {
			delete(st.importing, s)
		}
	}
	if n.Master != nil {
		n.Master.removeReplica(n)
	}
	for _, r := range n.replicas {
		r.Master = nil
	}
	delete(st.nodes, n.ID)
}

func (n *Node) removeReplica(r *Node) {
	for i, x := range n.replicas {
		if x == r {
			n.replicas = append(n.replicas[:i], n.replicas[i+1:]...)
			return
		}
	}
}

func (n *Node) addReplica(r *Node) {
	for _, x := range n.replicas {
		if x == r {
			return
		}
	}
	n.replicas = append(n.replicas, r)
}

// maxEpoch is the highest configEpoch in the table.
func (st *State) maxEpoch() uint64 {
	var m uint64
	for _, n := range st.nodes {
		if n.ConfigEpoch > m {
			m = n.ConfigEpoch
		}
	}
	return m
}
