package replication

import (
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/redcluster/redcluster/internal/rdb"
)

// Defaults of the master-side settings (Redis 7.0).
const (
	DefaultBacklogSize  = 1 << 20
	MinBacklogSize      = 16 << 10 // CONFIG_REPL_BACKLOG_MIN_SIZE
	DefaultBacklogTTL   = time.Hour
	DefaultPingPeriod   = 10 * time.Second
	DefaultTimeout      = 60 * time.Second
	DefaultHardLimit    = 256 << 20 // client-output-buffer-limit replica
	DefaultSoftLimit    = 64 << 20
	DefaultSoftDuration = 60 * time.Second
)

// SnapshotRequest is what a SnapshotFunc is asked to produce.
type SnapshotRequest struct {
	// ExcludeData and ExcludeFunctions come from REPLCONF rdb-filter-only:
	// leave out the keys, or the function libraries.
	ExcludeData      bool
	ExcludeFunctions bool
	// Begin must be called exactly once, before anything is written, at the
	// instant the snapshot is consistent: while no command can change the
	// dataset or feed the stream (e.g. holding every slot lock). Commands
	// fed before Begin must be in the snapshot, commands fed after it must
	// not. It returns the replication info to put in the RDB header
	// (rdb.Header.Repl: repl-stream-db, repl-id, repl-offset).
	Begin func() *rdb.ReplInfo
}

// SnapshotFunc writes a point-in-time RDB of the dataset to w (header with
// the ReplInfo returned by req.Begin, functions, keys, EOF and checksum).
type SnapshotFunc func(w io.Writer, req *SnapshotRequest) error

// MasterConfig holds the master-side settings.
type MasterConfig struct {
	BacklogSize int           // repl-backlog-size (min 16 KB)
	BacklogTTL  time.Duration // repl-backlog-ttl; 0 keeps the backlog forever
	Diskless    bool          // repl-diskless-sync
	PingPeriod  time.Duration // repl-ping-replica-period
	Timeout     time.Duration // repl-timeout
	// HardLimit, SoftLimit and SoftDuration are client-output-buffer-limit
	// replica (0 disables a limit).
	HardLimit    int64
	SoftLimit    int64
	SoftDuration time.Duration
	// TempDir is where disk-form RDBs are buffered ("" = os.TempDir()).
	TempDir string
	// PingPaused, when set and returning true, suppresses the periodic
	// PING (Redis skips it while clients are paused for a manual failover).
	PingPaused func() bool
}

// DefaultMasterConfig returns Redis 7.0's defaults.
func DefaultMasterConfig() MasterConfig {
	return MasterConfig{
		BacklogSize:  DefaultBacklogSize,
		BacklogTTL:   DefaultBacklogTTL,
		Diskless:     true,
		PingPeriod:   DefaultPingPeriod,
		Timeout:      DefaultTimeout,
		HardLimit:    DefaultHardLimit,
		SoftLimit:    DefaultSoftLimit,
		SoftDuration: DefaultSoftDuration,
	}
}

func (c *MasterConfig) normalize() {
	if c.BacklogSize <= 0 {
		c.BacklogSize = DefaultBacklogSize
	}
	c.BacklogSize = max(c.BacklogSize, MinBacklogSize)
	if c.PingPeriod <= 0 {
		c.PingPeriod = DefaultPingPeriod
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
}

// Op is one command to propagate: its database and arguments.
type Op struct {
	DB   int
	Args [][]byte
}

// Master is a node's replication state: replication IDs, offset, backlog,
// attached replicas and WAIT bookkeeping. Its methods are safe for
// concurrent use. A node has one Master whatever its role; while the node
// is a replica (replica mode) Feed does nothing and the master's stream is
// proxied through FeedRaw instead.
type Master struct {
	log      zerolog.Logger
	snapshot SnapshotFunc

	mu           sync.Mutex
	cfg          MasterConfig
	replid       string
	replid2      string
	secondOffset int64
	offset       int64
	backlog      *Backlog
	seldb        int
	links        []*link
	replicaMode  bool
	linkUp       bool // replica mode: the link with our master is up
	noReplicas   time.Time
	lastGetack   int64 // offset just after the last GETACK fed, -1 if none
	ackCh        chan struct{}
	scratch      []byte
	nextID       uint64
	stats        SyncStats
	restoredDB   int // stream db restored by RestoreReplInfo (replica)

	// feeding is true when Feed has work to do (master mode with a
	// backlog): it lets Feed return without locking otherwise.
	feeding atomic.Bool
	// off mirrors offset for lock-free reads.
	off atomic.Int64
	// deferWake is set (with mu held) while FeedMultiDeferred appends: the
	// replica writers are not woken per command but by the next Flush.
	// wakePending records that some were left asleep (guarded by mu);
	// flushPending mirrors it so that Flush costs one atomic load when
	// nothing is pending.
	deferWake    bool
	wakePending  bool
	flushPending atomic.Bool
	// replicaDB is the db selected by our master's stream (replica mode),
	// written in the RDBs produced for sub-replicas (repl-stream-db).
	replicaDB atomic.Int64

	// applyMu orders the proxied stream (replica mode) with snapshot Begin
	// points: the replica holds it while applying a command and feeding
	// its bytes, full syncs hold it until Begin.
	applyMu sync.Mutex

	closeOnce sync.Once
	closed    chan struct{}
	wg        sync.WaitGroup
}

// SyncStats counts synchronizations served (INFO stats sync_full,
// sync_partial_ok, sync_partial_err).
type SyncStats struct {
	Full       int64
	PartialOK  int64
	PartialErr int64
}

// NewMaster returns the replication state of a node that starts as a
// master with a new random replication ID, offset 0 and no backlog.
// snapshot produces the RDBs of full synchronizations (nil refuses them).
// Close stops its periodic task.
func NewMaster(cfg MasterConfig, snapshot SnapshotFunc, log zerolog.Logger) *Master {
	cfg.normalize()
	m := &Master{
		log:          log,
		snapshot:     snapshot,
		cfg:          cfg,
		replid:       NewReplID(),
		replid2:      ZeroReplID,
		secondOffset: -1,
		seldb:        -1,
		noReplicas:   time.Now(),
		lastGetack:   -1,
		ackCh:        make(chan struct{}),
		closed:       make(chan struct{}),
	}
	m.wg.Add(1)
	go m.cronLoop()
	return m
}

// Close stops the periodic task and disconnects every replica.
func (m *Master) Close() {
	m.closeOnce.Do(func() {
		close(m.closed)
		m.DisconnectReplicas()
		m.wg.Wait()
	})
}

// Config returns the current settings.
func (m *Master) Config() MasterConfig {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg
}

// SetConfig changes the settings (CONFIG SET); a new backlog size resizes
// the backlog keeping its most recent history.
func (m *Master) SetConfig(cfg MasterConfig) {
	cfg.normalize()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg = cfg
	if m.backlog != nil && m.backlog.Size() != cfg.BacklogSize {
		m.backlog.Resize(cfg.BacklogSize)
	}
}

// ReplID returns the current replication ID (master_replid).
func (m *Master) ReplID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.replid
}

// Offset returns master_repl_offset.
func (m *Master) Offset() int64 { return m.off.Load() }

// SetReplicationID sets the replication ID and offset, e.g. from the
// repl-id and repl-offset aux fields of the RDB loaded at startup, so that
// a restarted replica can PSYNC. It drops the backlog and clears replid2.
func (m *Master) SetReplicationID(replid string, offset int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.replid = replid
	m.replid2 = ZeroReplID
	m.secondOffset = -1
	m.setOffset(offset)
	m.backlog = nil
	m.updateFeeding()
}

// RestoreReplInfo restores the replication info saved in the RDB loaded at
// startup (repl-stream-db, repl-id, repl-offset aux fields), as Redis's
// loadDataFromDisk does. asReplica is true when the node starts as a
// replica: the ID and offset become ours, so that the next SetMaster PSYNCs
// with them (and the stream's db). On a master, the saved ID becomes the
// secondary one valid up to offset+1 and the offset continues from it, so
// that restarted replicas can continue with a restarted master.
func (m *Master) RestoreReplInfo(info *rdb.ReplInfo, asReplica bool) {
	if info == nil || info.Offset < 0 || info.StreamDB < 0 || info.ID == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if asReplica {
		m.replid = info.ID
		m.setOffset(info.Offset)
		m.backlog = nil
		m.restoredDB = info.StreamDB
	} else {
		m.replid2 = info.ID
		m.secondOffset = info.Offset + 1
		m.setOffset(m.offset + info.Offset)
		m.backlog = NewBacklog(m.cfg.BacklogSize, m.offset)
		m.noReplicas = time.Now()
	}
	m.updateFeeding()
}

// ChangeReplicationID switches to a new random replication ID and clears
// replid2 (changeReplicationId + clearReplicationId2: the dataset's history
// changed, e.g. a FLUSHALL on a replica-less master, DEBUG RELOAD).
func (m *Master) ChangeReplicationID() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.replid = NewReplID()
	m.replid2 = ZeroReplID
	m.secondOffset = -1
}

// shiftReplicationID makes the current ID the secondary one, valid up to
// the current offset + 1, and picks a new ID (shiftReplicationId). Called
// with mu held.
func (m *Master) shiftReplicationID() {
	m.replid2 = m.replid
	m.secondOffset = m.offset + 1
	m.replid = NewReplID()
	m.log.Warn().Msgf("Setting secondary replication ID to %s, valid up to offset: %d. New replication ID is %s",
		m.replid2, m.secondOffset, m.replid)
}

func (m *Master) setOffset(off int64) {
	m.offset = off
	m.off.Store(off)
}

// Feeding reports whether Feed has work to do: the node is a master and a
// replication backlog exists. A command may skip building its propagated
// form when it is false (it cannot change while the caller holds a slot
// lock: the backlog is created at a snapshot's Begin, under every lock).
func (m *Master) Feeding() bool { return m.feeding.Load() }

func (m *Master) updateFeeding() {
	m.feeding.Store(!m.replicaMode && m.backlog != nil)
}

// Feed appends a command executed on db to the replication stream (the
// backlog and every attached replica), preceded by SELECT when db differs
// from the last db of the stream, as Redis's propagation does. It returns
// master_repl_offset after the command (the client's write offset for
// WAIT). It does nothing while the node is a replica, or when there is no
// backlog (no replica ever attached).
//
// Feed must be called in execution order for conflicting commands (e.g.
// while still holding the command's slot locks), and never while a
// snapshot's Begin could run concurrently with the change being visible
// but not fed.
func (m *Master) Feed(db int, args [][]byte) int64 {
	if !m.feeding.Load() {
		return m.off.Load()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.replicaMode || m.backlog == nil {
		return m.offset
	}
	m.feedLocked(db, args)
	return m.offset
}

// FeedMulti appends ops wrapped in MULTI ... EXEC as one unit (a command
// that propagates several commands, a transaction, a script). MULTI is
// emitted in the db of the first op and EXEC in the db of the last, like
// Redis. A single op is fed without the wrapping.
func (m *Master) FeedMulti(ops []Op) int64 {
	if !m.feeding.Load() || len(ops) == 0 {
		return m.off.Load()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.feedMultiLocked(ops)
}

// FeedMultiDeferred is FeedMulti for a caller that calls Flush soon
// after (an event loop, at the end of its iteration): the replica writers
// are woken once for all the commands fed meanwhile, so that they send
// the stream in large writes (Redis writes to its replicas once per event
// loop iteration too) instead of waking up and writing per command.
func (m *Master) FeedMultiDeferred(ops []Op) int64 {
	if !m.feeding.Load() || len(ops) == 0 {
		return m.off.Load()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deferWake = true
	off := m.feedMultiLocked(ops)
	m.deferWake = false
	return off
}

// Flush sends what FeedMultiDeferred left for the replicas: it writes to
// each idle replica's socket itself, without blocking, and wakes the
// writers of the others (and of those whose socket did not take it all).
// It costs one atomic load when nothing is pending.
func (m *Master) Flush() {
	if !m.flushPending.Load() {
		return
	}
	var one [1]*link
	direct := one[:0]
	var bufs [1][]byte
	out := bufs[:0]
	m.mu.Lock()
	if m.wakePending {
		m.wakePending = false
		m.flushPending.Store(false)
		for _, l := range m.links {
			if !l.streaming || len(l.out) == 0 || l.dead {
				continue
			}
			if l.writing || l.raw == nil {
				l.signal()
				continue
			}
			direct = append(direct, l)
			out = append(out, l.takeOut())
		}
	}
	m.mu.Unlock()
	for i, l := range direct {
		l.writeDirect(out[i])
	}
}

// flushLocked wakes the writers of the streaming links with pending
// output. Called with mu held.
func (m *Master) flushLocked() {
	if !m.wakePending {
		return
	}
	m.wakePending = false
	m.flushPending.Store(false)
	for _, l := range m.links {
		if l.streaming && len(l.out) > 0 && !l.dead {
			l.signal()
		}
	}
}

// feedMultiLocked is FeedMulti with mu held.
func (m *Master) feedMultiLocked(ops []Op) int64 {
	if m.replicaMode || m.backlog == nil {
		return m.offset
	}
	if len(ops) == 1 {
		m.feedLocked(ops[0].DB, ops[0].Args)
		return m.offset
	}
	m.feedRawCmd(ops[0].DB, multiCmd)
	for _, op := range ops {
		m.feedLocked(op.DB, op.Args)
	}
	m.feedRawCmd(ops[len(ops)-1].DB, execCmd)
	return m.offset
}

// feedLocked encodes and appends one command. Called with mu held.
func (m *Master) feedLocked(db int, args [][]byte) {
	m.scratch = AppendCommand(m.scratch[:0], args)
	m.feedRawCmd(db, m.scratch)
}

// feedRawCmd appends an encoded command, with SELECT first if needed.
// db < 0 means "the current db of the stream" (PING, GETACK).
func (m *Master) feedRawCmd(db int, cmd []byte) {
	if db >= 0 && db != m.seldb {
		var sel [32]byte
		m.appendStream(appendSelect(sel[:0], db))
		m.seldb = db
	}
	m.appendStream(cmd)
	if len(m.scratch) > 1<<20 {
		m.scratch = nil
	}
}

// appendStream appends bytes to the backlog and to the output of every
// replica that accumulates the stream. Called with mu held.
func (m *Master) appendStream(p []byte) {
	if m.backlog != nil {
		m.backlog.Write(p)
	}
	m.setOffset(m.offset + int64(len(p)))
	for _, l := range m.links {
		if l.accumulate {
			l.enqueue(p)
		}
	}
}

// FeedRaw appends bytes of the master's stream, already applied by this
// replica, to the backlog and to the sub-replicas (replica mode only).
func (m *Master) FeedRaw(p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.replicaMode || m.backlog == nil || len(p) == 0 {
		return
	}
	m.appendStream(p)
}

// RequestAck feeds "REPLCONF GETACK *" so that the replicas report their
// offsets at once (WAIT). Several requests with nothing fed in between
// produce a single GETACK, as Redis sends one per event loop iteration.
func (m *Master) RequestAck() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.replicaMode || m.backlog == nil || len(m.links) == 0 {
		return
	}
	if m.lastGetack == m.offset {
		return
	}
	m.feedRawCmd(-1, getackCmd)
	m.lastGetack = m.offset
}

// BecomeReplica switches to replica mode (REPLICAOF host port,
// CLUSTER REPLICATE) and returns the replication ID and offset to
// synthesize the cached master from (replicationCacheMasterUsingMyself):
// the replica will PSYNC with them; db is the stream's db restored by
// RestoreReplInfo, else 0. Attached replicas stay connected: they
// may be able to continue with us.
func (m *Master) BecomeReplica() (replid string, offset int64, db int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.replicaMode = true
	m.linkUp = false
	m.updateFeeding()
	db, m.restoredDB = m.restoredDB, 0
	return m.replid, m.offset, db
}

// BecomeMaster switches back to master mode (REPLICAOF NO ONE, failover):
// the current ID becomes the secondary ID valid up to offset+1, a new ID is
// picked, sub-replicas are disconnected (they will PSYNC again, with the
// old ID, and continue), and the next command emits SELECT.
func (m *Master) BecomeMaster() {
	m.mu.Lock()
	if !m.replicaMode {
		m.mu.Unlock()
		return
	}
	m.replicaMode = false
	m.linkUp = false
	m.shiftReplicationID()
	m.seldb = -1
	m.noReplicas = time.Now()
	links := m.dropLinksLocked()
	m.updateFeeding()
	m.mu.Unlock()
	closeLinks(links, "replication ID changed")
}

// IsReplica reports whether the node is in replica mode.
func (m *Master) IsReplica() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.replicaMode
}

// setLinkUp records whether a replica node's link with its master is up
// (sub-replicas can sync only then).
func (m *Master) setLinkUp(up bool) {
	m.mu.Lock()
	m.linkUp = up
	m.mu.Unlock()
}

// attachToNewMaster is called by a replica after it loaded a full sync: it
// adopts the master's ID and offset, clears replid2, disconnects the
// sub-replicas and starts a new backlog.
func (m *Master) attachToNewMaster(replid string, offset int64) {
	m.mu.Lock()
	m.replid = replid
	m.replid2 = ZeroReplID
	m.secondOffset = -1
	m.setOffset(offset)
	m.backlog = NewBacklog(m.cfg.BacklogSize, offset)
	m.lastGetack = -1
	links := m.dropLinksLocked()
	m.updateFeeding()
	m.mu.Unlock()
	closeLinks(links, "full resynchronization with our master")
}

// continueWithMaster is called by a replica after +CONTINUE: cachedID is
// the ID it sent in PSYNC, newID the one the master announced ("" if
// none), offset its processed offset. When the ID changed, the old one
// becomes replid2 (valid up to offset+1) and sub-replicas are disconnected.
func (m *Master) continueWithMaster(cachedID, newID string, offset int64) {
	m.mu.Lock()
	var links []*link
	if m.offset != offset {
		// Our backlog does not match the stream we continue: restart it.
		m.setOffset(offset)
		m.backlog = nil
	}
	if newID != "" && !strings.EqualFold(newID, cachedID) {
		m.replid2 = cachedID
		m.secondOffset = m.offset + 1
		m.replid = newID
		links = m.dropLinksLocked()
	} else if !strings.EqualFold(m.replid, cachedID) {
		m.replid = cachedID
	}
	if m.backlog == nil {
		m.backlog = NewBacklog(m.cfg.BacklogSize, m.offset)
	}
	m.updateFeeding()
	m.mu.Unlock()
	closeLinks(links, "master replication ID changed")
}

// DisconnectReplicas closes every replica link (disconnectSlaves).
func (m *Master) DisconnectReplicas() {
	m.mu.Lock()
	links := m.dropLinksLocked()
	m.mu.Unlock()
	closeLinks(links, "disconnected")
}

// dropLinksLocked detaches every link and returns them for closing.
func (m *Master) dropLinksLocked() []*link {
	links := m.links
	m.links = nil
	if len(links) > 0 {
		m.noReplicas = time.Now()
	}
	return links
}

func closeLinks(links []*link, why string) {
	for _, l := range links {
		l.close(errString(why))
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// Stats returns the synchronization counters.
func (m *Master) Stats() SyncStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// ResetStats zeroes the synchronization counters (CONFIG RESETSTAT).
func (m *Master) ResetStats() {
	m.mu.Lock()
	m.stats = SyncStats{}
	m.mu.Unlock()
}
