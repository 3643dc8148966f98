package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/redcluster/redcluster/internal/resp"
)

// Defaults of the replica-side settings.
const (
	DefaultAckPeriod  = time.Second
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = time.Second
)

// ReplicaConfig configures a Replica.
type ReplicaConfig struct {
	// Master is the node's replication state (required in a server: the
	// replica proxies the stream to it and switches it to replica mode).
	// When nil, the Replica makes a private one.
	Master *Master
	// Dataset receives the synchronized data.
	Dataset Dataset
	// Databases is the number of databases (16 when 0): RDBs and SELECTs
	// of a db beyond it are errors.
	Databases int
	// MasterUser and MasterAuth are masteruser and masterauth: when
	// MasterAuth is set the replica sends AUTH [MasterUser] MasterAuth.
	MasterUser string
	MasterAuth string
	// ListeningPort is sent with REPLCONF listening-port
	// (replica-announce-port, else the port).
	ListeningPort int
	// AnnounceIP, when set, is sent with REPLCONF ip-address
	// (replica-announce-ip).
	AnnounceIP string
	// Timeout is repl-timeout: the longest silence of the master during
	// the handshake, the transfer and the stream (60 s when 0).
	Timeout time.Duration
	// AckPeriod is the interval of REPLCONF ACK (1 s when 0).
	AckPeriod time.Duration
	// MinBackoff and MaxBackoff bound the delay between connection
	// attempts, doubled after each failure (100 ms and 1 s when 0). After
	// losing an established link the replica reconnects at once, as Redis.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Dial connects to the master (net.Dialer.DialContext when nil).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Log receives Redis-like log lines.
	Log zerolog.Logger
}

func (c *ReplicaConfig) normalize() {
	if c.Databases <= 0 {
		c.Databases = 16
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.AckPeriod <= 0 {
		c.AckPeriod = DefaultAckPeriod
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	if c.Dial == nil {
		d := &net.Dialer{}
		c.Dial = d.DialContext
	}
}

// LinkState is the state of a replica's link with its master.
type LinkState uint8

// Link states (Redis's REPL_STATE_*).
const (
	StateNone       LinkState = iota // not a replica
	StateConnect                     // waiting to connect
	StateConnecting                  // connecting
	StateHandshake                   // PING ... PSYNC
	StateTransfer                    // receiving the RDB
	StateConnected                   // streaming
)

// String returns the name ROLE uses.
func (s LinkState) String() string {
	switch s {
	case StateNone:
		return "none"
	case StateConnect:
		return "connect"
	case StateConnecting:
		return "connecting"
	case StateHandshake:
		return "handshake"
	case StateTransfer:
		return "sync"
	case StateConnected:
		return "connected"
	}
	return "unknown"
}

// cachedMaster is what a replica remembers of a master to PSYNC with it:
// its replication ID, the offset processed and the selected db.
type cachedMaster struct {
	replid   string
	reploff  int64
	db       int
	prePSYNC bool
}

// Replica replicates from a master into a Dataset. Its methods are safe for
// concurrent use.
type Replica struct {
	m *Master

	mu       sync.Mutex
	cfg      ReplicaConfig
	host     string
	port     int
	state    LinkState
	cached   *cachedMaster // master to PSYNC with (nil: PSYNC ? -1)
	cur      *cachedMaster // the connected master (state connected)
	conn     net.Conn
	cancel   context.CancelFunc
	done     chan struct{}
	downAt   time.Time // when the link went down (zero: never up)
	xferSize int64     // master_sync_total_bytes (-1 before the header)
	xferBase int64     // conn bytes read when the transfer started
	xferConn *countingConn

	// Offsets of the connected master, updated by the stream loop.
	reploff atomic.Int64
	readOff atomic.Int64
	lastIO  atomic.Int64 // unix ns of the last read from the master

	// Stream state (replica goroutine only).
	db    int
	inTx  bool
	txDB  int
	txOps []Op
	txRaw []byte
}

// NewReplica returns a replica with no master (state none).
func NewReplica(cfg ReplicaConfig) *Replica {
	cfg.normalize()
	m := cfg.Master
	if m == nil {
		m = NewMaster(DefaultMasterConfig(), nil, cfg.Log)
		cfg.Master = m
	}
	return &Replica{m: m, cfg: cfg}
}

// Master returns the node's replication state the replica feeds.
func (r *Replica) Master() *Master { return r.m }

// SetConfig replaces the settings; they apply from the next connection.
// Master and Dataset cannot change.
func (r *Replica) SetConfig(cfg ReplicaConfig) {
	cfg.normalize()
	r.mu.Lock()
	cfg.Master, cfg.Dataset = r.cfg.Master, r.cfg.Dataset
	r.cfg = cfg
	r.mu.Unlock()
}

func (r *Replica) config() ReplicaConfig {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}

// SetMaster starts replicating from host:port (REPLICAOF host port,
// CLUSTER REPLICATE), replacing any current master. When the node was a
// master, its own replication ID and offset become the cached master
// (it will try PSYNC <own replid> <offset+1>); when it was already a
// replica, the current or cached master is kept for PSYNC.
func (r *Replica) SetMaster(host string, port int) {
	r.stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.m.IsReplica() {
		replid, off, db := r.m.BecomeReplica()
		r.cached = &cachedMaster{replid: replid, reploff: off, db: db}
		r.cfg.Log.Info().Msg("Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.")
	}
	r.startLocked(host, port)
}

// SetCachedMaster replaces the master state used by the next PSYNC: replid
// and the offset processed (PSYNC sends offset+1); replid "" makes the
// next sync a full one (PSYNC ? -1). For tests and restarts.
func (r *Replica) SetCachedMaster(replid string, offset int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if replid == "" {
		r.cached = nil
		return
	}
	r.cached = &cachedMaster{replid: replid, reploff: offset}
}

func (r *Replica) startLocked(host string, port int) {
	ctx, cancel := context.WithCancel(context.Background())
	r.host, r.port = host, port
	r.state = StateConnect
	r.cancel = cancel
	r.done = make(chan struct{})
	r.cfg.Log.Info().Msgf("Connecting to MASTER %s:%d", host, port)
	go r.run(ctx, r.done)
}

// stop ends the replication goroutine, if any; the connected master
// becomes the cached one.
func (r *Replica) stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.cancel, r.done = nil, nil
	r.mu.Unlock()
	if cancel == nil {
		return
	}
	// Cancel first: a session that connects afterwards sees it before
	// publishing its connection, one that connected before is closed here.
	cancel()
	r.mu.Lock()
	conn := r.conn
	r.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	<-done
}

// UnsetMaster stops replicating and turns the node into a master
// (REPLICAOF NO ONE, failover promotion): the cached master is discarded
// and the Master shifts its replication ID (replid2 = old ID up to
// offset+1) so that the other replicas can continue with it.
func (r *Replica) UnsetMaster() {
	r.stop()
	r.mu.Lock()
	r.cached = nil
	r.cur = nil
	r.state = StateNone
	r.host, r.port = "", 0
	r.downAt = time.Time{}
	r.mu.Unlock()
	r.m.BecomeMaster()
}

// Close stops replicating without changing the role (shutdown).
func (r *Replica) Close() { r.stop() }

// Offset returns the replication offset processed (the connected or cached
// master's), 0 if none (replicationGetSlaveOffset; cluster bus offset).
func (r *Replica) Offset() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.cur != nil:
		return max(r.reploff.Load(), 0)
	case r.cached != nil:
		return max(r.cached.reploff, 0)
	}
	return 0
}

// ReplicaInfo is a snapshot of a replica's link for INFO replication and
// ROLE.
type ReplicaInfo struct {
	Host                 string
	Port                 int
	State                LinkState
	LinkUp               bool  // master_link_status
	LastIOSecondsAgo     int64 // master_last_io_seconds_ago (-1 without link)
	SyncInProgress       bool  // master_sync_in_progress
	ReadReplOffset       int64 // slave_read_repl_offset
	ReplOffset           int64 // slave_repl_offset
	SyncTotalBytes       int64 // master_sync_total_bytes (0 for EOF form, -1 before the header)
	SyncReadBytes        int64
	SyncLastIOSecondsAgo int64
	LinkDownSinceSeconds int64 // master_link_down_since_seconds (-1: never up)
	// RoleOffset is ROLE's offset: the processed offset while connected,
	// else -1.
	RoleOffset int64
	// MasterReplID is the connected (or cached) master's replication ID.
	MasterReplID string
}

// Info returns a snapshot of the link state.
func (r *Replica) Info() ReplicaInfo {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	ri := ReplicaInfo{
		Host:                 r.host,
		Port:                 r.port,
		State:                r.state,
		LinkUp:               r.state == StateConnected,
		LastIOSecondsAgo:     -1,
		SyncInProgress:       r.state == StateTransfer,
		ReadReplOffset:       1,
		ReplOffset:           1,
		RoleOffset:           -1,
		LinkDownSinceSeconds: -1,
	}
	if r.cur != nil {
		ri.ReplOffset = r.reploff.Load()
		ri.ReadReplOffset = r.readOff.Load()
		ri.LastIOSecondsAgo = int64(now.Sub(time.Unix(0, r.lastIO.Load())) / time.Second)
		ri.RoleOffset = ri.ReplOffset
		ri.MasterReplID = r.cur.replid
	} else if r.cached != nil {
		ri.ReplOffset = r.cached.reploff
		ri.ReadReplOffset = r.cached.reploff
		ri.MasterReplID = r.cached.replid
	}
	if ri.SyncInProgress && r.xferConn != nil {
		ri.SyncTotalBytes = r.xferSize
		ri.SyncReadBytes = r.xferConn.total.Load() - r.xferBase
		ri.SyncLastIOSecondsAgo = int64(now.Sub(time.Unix(0, r.xferConn.lastIO.Load())) / time.Second)
	}
	if !r.downAt.IsZero() {
		ri.LinkDownSinceSeconds = int64(now.Sub(r.downAt) / time.Second)
	}
	return ri
}

func (r *Replica) setState(s LinkState) {
	r.mu.Lock()
	r.state = s
	r.mu.Unlock()
}

// run connects and replicates until ctx ends.
func (r *Replica) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	var backoff time.Duration
	for {
		wasUp, err := r.session(ctx)
		r.linkLost(err)
		if ctx.Err() != nil {
			return
		}
		cfg := r.config()
		if err != nil {
			cfg.Log.Warn().Msgf("MASTER <-> REPLICA sync: %v", err)
		}
		switch {
		case wasUp:
			backoff = 0
		case backoff == 0:
			backoff = cfg.MinBackoff
		default:
			backoff = min(2*backoff, cfg.MaxBackoff)
		}
		r.setState(StateConnect)
		if backoff > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// linkLost updates the state after a session ended: the connected master
// becomes the cached one unless the stream was corrupt.
func (r *Replica) linkLost(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil {
		r.downAt = time.Now()
		if discardsCachedMaster(err) || r.cur.prePSYNC {
			r.cfg.Log.Warn().Msg("Discarding the master state: the next synchronization will be a full one")
			r.cached = nil
		} else {
			c := *r.cur
			c.reploff = r.reploff.Load()
			c.db = r.db // the stream's db is kept, as Redis's master client keeps it
			r.cached = &c
			r.cfg.Log.Info().Msg("Caching the disconnected master state.")
		}
		r.cur = nil
		r.m.setLinkUp(false)
	} else if discardsCachedMaster(err) {
		r.cached = nil
	}
	r.conn = nil
	r.xferConn = nil
	r.state = StateConnect
	r.inTx, r.txOps, r.txRaw = false, nil, nil
}

// corruptError marks a failure after which the master state is discarded
// (the next sync is a full one): a corrupt RDB or stream.
type corruptError struct{ err error }

func (e *corruptError) Error() string { return e.err.Error() }
func (e *corruptError) Unwrap() error { return e.err }

func discardsCachedMaster(err error) bool {
	var ce *corruptError
	var pe *ProtocolError
	return errors.As(err, &ce) || errors.As(err, &pe)
}

// isIOError reports whether err comes from the connection rather than from
// the data.
func isIOError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &ne)
}

// countingConn counts the bytes read, records the time of the last read
// and applies the read timeout.
type countingConn struct {
	net.Conn
	timeout time.Duration
	total   atomic.Int64
	lastIO  atomic.Int64 // unix ns
	shared  *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	n, err := c.Conn.Read(p)
	if n > 0 {
		now := time.Now().UnixNano()
		c.total.Add(int64(n))
		c.lastIO.Store(now)
		c.shared.Store(now)
	}
	return n, err
}

// masterWriter serializes writes to the master.
type masterWriter struct {
	mu      sync.Mutex
	c       net.Conn
	timeout time.Duration
}

func (w *masterWriter) write(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.c.SetWriteDeadline(time.Now().Add(w.timeout))
	_, err := w.c.Write(p)
	return err
}

// keeper modes.
const (
	keepIdle    int32 = iota
	keepNewline       // loading: a newline per period
	keepAck           // streaming: REPLCONF ACK per period
)

// startKeeper sends newlines while loading and ACKs while streaming.
func (r *Replica) startKeeper(w *masterWriter, period time.Duration, mode *atomic.Int32) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				switch mode.Load() {
				case keepNewline:
					w.write([]byte{'\n'})
				case keepAck:
					w.write(ackCommand(r.reploff.Load()))
				}
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}

// parseDB parses a SELECT argument.
func parseDB(b []byte, dbs int) (int, bool) {
	n, ok := resp.ParseInt(b)
	if !ok || n < 0 || n >= int64(dbs) {
		return 0, false
	}
	return int(n), true
}

func itoa(n int) string { return strconv.Itoa(n) }

func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
