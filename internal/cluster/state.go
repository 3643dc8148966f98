package cluster

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/redcluster/redcluster/internal/failover"
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
	// AllowReplicaMigration is cluster-allow-replica-migration.
	AllowReplicaMigration bool
	// AnnounceIP is cluster-announce-ip ("" unset).
	AnnounceIP string
	// AnnounceHostname is cluster-announce-hostname ("" unset).
	AnnounceHostname string
	// ReplicaValidityFactor is cluster-replica-validity-factor.
	ReplicaValidityFactor int
	// ReplPingReplicaPeriod is repl-ping-replica-period (seconds).
	ReplPingReplicaPeriod int
	// MigrationBarrier is cluster-migration-barrier.
	MigrationBarrier int
	// ReplicaNoFailover is cluster-replica-no-failover.
	ReplicaNoFailover bool
}

// DefaultSettings are Redis 7.0's defaults.
func DefaultSettings() Settings {
	return Settings{NodeTimeout: 15000, RequireFullCoverage: true, AllowPubsubshardWhenDown: true,
		AllowReplicaMigration: true, ReplicaValidityFactor: 10, ReplPingReplicaPeriod: 10, MigrationBarrier: 1}
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
	// ReplOffset returns this node's replication offset: a master's
	// master_repl_offset, a replica's processed offset. It goes in every
	// bus header and ranks replicas in elections (nil: 0).
	ReplOffset func() int64
	// ReplLink describes a replica's link to its master for the data-age
	// check of an election (cluster-behaviour.md §5.1). nil: the
	// replication layer is not wired in and the data counts as fresh.
	ReplLink func() failover.ReplLink
	// LoadText, when set, is used as the nodes.conf content instead of
	// reading ConfigFile (the simulator restarts nodes from what they
	// saved).
	LoadText string
	// Now returns the time in ms (nil: the wall clock).
	Now func() int64
	// Rand is the source of every random choice (gossip entries, pinged
	// node, handshake names); nil: seeded from crypto/rand. The simulated
	// network passes a seeded one.
	Rand *mrand.Rand
	// Notify, when set, is called (with the state locked) after a command
	// queued outputs for the edge; the edge then calls TakeOutputs.
	Notify func()
	// LazySaveText: the OutSave outputs of Step carry no Text; WriteConfig
	// renders the text when it writes. An edge that coalesces saves (the
	// Bus) then renders nodes.conf once per write instead of once per
	// event: a forming 120-node cluster spent a tenth of its CPU rendering
	// texts that a newer save replaced before they were written.
	LazySaveText bool
	// OnSaveFailed, when set, is called when a save of nodes.conf that
	// the state asked for (a change of persistent state, not CLUSTER
	// SAVECONFIG, which replies with the error) could not be written.
	// Redis 7.0 exits then (clusterSaveConfigOrDie: "Fatal: can't update
	// cluster config file."): a node that cannot record a vote or an
	// epoch must not go on as if it had. Unset, the failure is logged.
	OnSaveFailed func(err error)
	Log          zerolog.Logger
}

// State is this node's view of the cluster. Its methods are safe for
// concurrent use; Route reads a snapshot and takes no lock.
type State struct {
	mu            sync.Mutex
	opts          Options
	path          string
	myself        *Node
	nodes         map[string]*Node
	list          []*Node   // the nodes in insertion order (deterministic walks)
	cronList      []*Node   // the cron's copy of list, reused
	pubEndpoint   string    // the endpoint type of the published snapshot
	pubGen        uint64    // publish's pass counter (Node.pubGen)
	pubScratch    *Snapshot // publish's candidate, kept when it equalled the current one
	links         map[LinkID]*link
	nextLink      LinkID
	rnd           *mrand.Rand
	now           int64 // time of the event being handled, ms
	out           []Output
	todo          uint8
	iteration     uint64
	pfailCount    int              // PFAIL nodes seen by the last cron
	lastSpread    int64            // when spreadPFail last broadcast (ms)
	pingSerial    uint64           // PINGs built so far (gossip dedup)
	blacklist     map[string]int64 // FORGET blacklist: id -> expiry (ms)
	notClaiming   slots.Bitmap     // owner_not_claiming_slot
	saveGen       uint64
	saveMu        sync.Mutex
	savedGen      uint64
	owner         [slots.Count]*Node
	assigned      int // slots with an owner
	migrating     map[int]*Node
	importing     map[int]*Node
	currentEpoch  uint64
	lastVoteEpoch uint64
	ok            bool
	size          int
	firstCall     int64
	amongMinority int64
	updatePending bool
	// Failover (cluster-behaviour.md §5, §8, §9).
	cand        failover.Candidate
	mf          failover.Manual
	mfReplica   *Node // master side: the replica running a manual failover
	mfPaused    bool  // master side: client writes are paused for it
	cantReason  failover.Reason
	cantLogTime int64
	replicating bool // OutSetMaster was issued for my current master
	stats       Stats
	snap        atomic.Pointer[Snapshot]
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
	rnd := opts.Rand
	if rnd == nil {
		var seed [16]byte
		_, _ = rand.Read(seed[:])
		rnd = mrand.New(mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	}
	st := &State{
		opts:      opts,
		path:      opts.ConfigFile,
		nodes:     make(map[string]*Node),
		links:     make(map[LinkID]*link),
		rnd:       rnd,
		blacklist: make(map[string]int64),
		migrating: map[int]*Node{},
		importing: map[int]*Node{},
		size:      1,
		mf:        failover.NewManual(),
	}
	st.now = opts.Now()
	loaded, err := st.load()
	if err != nil {
		return nil, err
	}
	if !loaded {
		st.myself = &Node{ID: st.randomID(), Flags: FlagMyself | FlagMaster, ctime: st.now}
		st.addNode(st.myself)
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
		st.saveGen, st.savedGen = 1, 1
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

// randomID is a node name from the state's random source (cluster-bus.md
// §8: 40 random characters from [0-9a-f]).
func (st *State) randomID() string {
	var b [24]byte
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], st.rnd.Uint64())
	}
	return hex.EncodeToString(b[:IDLen/2])
}

// lock takes the state's mutex for a command and sets the command's time.
func (st *State) lock() {
	st.mu.Lock()
	st.now = st.opts.Now()
}

func (st *State) settings() Settings {
	if st.opts.Settings != nil {
		return st.opts.Settings()
	}
	return DefaultSettings()
}

// Tick is one cron step without an edge (tests of a lone node): its
// network outputs wait in the queue TakeOutputs drains.
func (st *State) Tick() {
	st.lock()
	defer st.mu.Unlock()
	st.cron()
	st.endCommand()
}

// MyID returns this node's ID.
func (st *State) MyID() string {
	st.lock()
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
	st.assigned++
	n.slots.Set(slot)
	n.numSlots++
	// clusterNodeSetSlotBit (cluster-behaviour.md §9): a master getting its
	// first slot is a replica-migration target if some master has replicas.
	if n.numSlots == 1 && st.mastersHaveReplicas() {
		n.Flags |= FlagMigrateTo
	}
	return true
}

// mastersHaveReplicas is clusterMastersHaveSlaves.
func (st *State) mastersHaveReplicas() bool {
	for _, n := range st.list {
		if !n.IsReplica() && len(n.replicas) > 0 {
			return true
		}
	}
	return false
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
	st.assigned--
	return true, mine
}

// changed runs after a command changed the persistent view: it evaluates
// the state, saves nodes.conf and publishes a new routing snapshot (Redis
// does the same in beforeSleep, before the command's reply is written).
func (st *State) changed() {
	st.todo |= todoSave | todoUpdateState | todoPublish
	st.endCommand()
}

// updateState is clusterUpdateState (cluster-behaviour.md §4): it sets
// ok/fail and the cluster size.
func (st *State) updateState() {
	st.updatePending = false
	now := st.now
	if st.firstCall == 0 {
		st.firstCall = now
	}
	me := st.myself
	if me.IsMaster() && !st.ok && now-st.firstCall < writableDelay {
		return
	}
	set := st.settings()
	newOK := true
	// Full coverage: every slot assigned, none to a FAIL node.
	if set.RequireFullCoverage && st.assigned < slots.Count {
		newOK = false
	}
	size, reachable := 0, 0
	for _, n := range st.list {
		if n.numSlots > 0 && n.Flags&FlagFail != 0 && set.RequireFullCoverage {
			newOK = false
		}
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
	out := make(map[*Node][]slots.Range, len(st.list))
	for i := 0; i < slots.Count; {
		n := st.owner[i]
		j := i + 1
		for j < slots.Count && st.owner[j] == n {
			j++
		}
		if n != nil {
			out[n] = append(out[n], slots.Range{Start: i, End: j - 1})
		}
		i = j
	}
	return out
}

// addNode puts n in the table (clusterAddNode).
func (st *State) addNode(n *Node) {
	st.nodes[n.ID] = n
	st.list = append(st.list, n)
}

// renameNode gives a handshake node its real name (clusterRenameNode).
func (st *State) renameNode(n *Node, id string) {
	delete(st.nodes, n.ID)
	n.ID = id
	st.nodes[id] = n
}

// deleteNode removes n from the table with its slots, failure reports and
// links (clusterDelNode).
func (st *State) deleteNode(n *Node) {
	// The routing snapshot names slot owners, open slots' nodes and my
	// master; finish republishes it only on todoPublish/todoUpdateState,
	// not on a save alone (the bus deletes handshake nodes, which hold
	// none of these, many times while a cluster forms).
	if n.numSlots > 0 || n == st.myself.Master || len(st.migrating)+len(st.importing) > 0 {
		st.todo |= todoUpdateState | todoPublish
	}
	for s := 0; s < slots.Count && n.numSlots > 0; s++ {
		if st.owner[s] == n {
			st.delSlot(s)
		}
	}
	for _, o := range st.list {
		if o != n {
			o.delFailureReport(n)
		}
	}
	for i, o := range st.list {
		if o == n {
			st.list = append(st.list[:i:i], st.list[i+1:]...)
			break
		}
	}
	st.freeLink(n.link)
	st.freeLink(n.inLink)
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
	n.replicas = nil
	if st.mfReplica == n {
		st.mfReplica = nil
	}
	delete(st.nodes, n.ID)
}

// removeReplica is clusterNodeRemoveSlave: a master without replicas is
// no longer a replica-migration target.
func (n *Node) removeReplica(r *Node) {
	for i, x := range n.replicas {
		if x == r {
			n.replicas = append(n.replicas[:i:i], n.replicas[i+1:]...)
			if len(n.replicas) == 0 {
				n.Flags &^= FlagMigrateTo
			}
			return
		}
	}
}

// addReplica is clusterNodeAddSlave: a master with a replica becomes a
// replica-migration target.
func (n *Node) addReplica(r *Node) {
	for _, x := range n.replicas {
		if x == r {
			return
		}
	}
	n.replicas = append(n.replicas, r)
	n.Flags |= FlagMigrateTo
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
