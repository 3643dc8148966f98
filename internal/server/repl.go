package server

// Replication wiring: the node's replication.Master (its replication IDs,
// offset, backlog and attached replicas) and replication.Replica (the link
// to its own master), the snapshot that feeds full synchronizations, and
// the Dataset through which a replica loads and applies its master's data.
// The protocol itself lives in internal/replication; see its doc.go and
// ../shared/docs/replication.md.

import (
	"io"
	"net"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/redcluster/redcluster/internal/failover"
	"github.com/redcluster/redcluster/internal/rdb"
	"github.com/redcluster/redcluster/internal/replication"
	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/store"
)

// replState is the server's replication state.
type replState struct {
	master  *replication.Master
	replica *replication.Replica
	// mclient executes the master's command stream on a replica.
	mclient *Client
	// staging is the keyspace a full synchronization loads into.
	staging *store.Keyspace
	// mu orders role changes (REPLICAOF, CLUSTER REPLICATE, failover).
	mu         sync.Mutex
	masterHost string
	masterPort int
	// warnedTypes are the RDB types a replica could not load (streams,
	// modules): logged once each.
	warnedTypes map[rdb.Kind]bool
	// loadGC is the collector's mode during a full sync (stopped at its
	// end); loadNow is the time the loaded keys' LRU clocks start from.
	loadGC  *loadGC
	loadNow int64
	// snapMu lets one RDB snapshot run at a time (writeRDB).
	snapMu sync.Mutex
	// isReplica mirrors the role and minReplicas min-replicas-to-write for
	// the per-command checks of dispatch.
	isReplica   atomic.Bool
	minReplicas atomic.Int64
	// denyStale is replica-serve-stale-data no.
	denyStale atomic.Bool
}

// initReplication builds the Master and Replica from the configuration.
func (s *Server) initReplication() {
	s.repl.master = replication.NewMaster(s.masterConfig(), s.snapshot, s.Log)
	s.repl.replica = replication.NewReplica(s.replicaConfig())
	s.repl.minReplicas.Store(int64(s.Cfg.MinReplicasToWrite))
	s.repl.denyStale.Store(!s.Cfg.ReplicaServeStaleData)
	s.repl.mclient = &Client{ID: -1, W: resp.NewWriter(), Authed: true, srv: s, Created: time.Now()}
	s.repl.mclient.rc.fromMaster = true
}

// masterConfig maps the configuration to the master-side settings. The
// caller holds cfgMu or runs before the server starts.
func (s *Server) masterConfig() replication.MasterConfig {
	cfg := s.Cfg
	mc := replication.DefaultMasterConfig()
	mc.BacklogSize = int(cfg.ReplBacklogSize)
	mc.BacklogTTL = time.Duration(cfg.ReplBacklogTTL) * time.Second
	mc.Diskless = cfg.ReplDisklessSync
	mc.PingPeriod = time.Duration(cfg.ReplPingReplicaPeriod) * time.Second
	mc.Timeout = time.Duration(cfg.ReplTimeout) * time.Second
	lim := cfg.ClientOutputBufferLimit[1]
	mc.HardLimit, mc.SoftLimit = int64(lim.Hard), int64(lim.Soft)
	mc.SoftDuration = time.Duration(lim.SoftSeconds) * time.Second
	mc.TempDir = "."
	mc.PingPaused = s.WritesPaused
	return mc
}

// refreshReplSettings applies CONFIG SET changes of the replication
// options. The caller holds cfgMu for writing.
func (s *Server) refreshReplSettings() {
	s.repl.minReplicas.Store(int64(s.Cfg.MinReplicasToWrite))
	s.repl.denyStale.Store(!s.Cfg.ReplicaServeStaleData)
	s.repl.master.SetConfig(s.masterConfig())
}

// replicaConfig maps the configuration to the replica-side settings.
func (s *Server) replicaConfig() replication.ReplicaConfig {
	cfg := s.Cfg
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	port := cfg.Port
	if cfg.ReplicaAnnouncePort != 0 {
		port = cfg.ReplicaAnnouncePort
	}
	return replication.ReplicaConfig{
		Master:        s.repl.master,
		Dataset:       (*serverDataset)(s),
		Databases:     cfg.Databases,
		MasterUser:    cfg.MasterUser,
		MasterAuth:    cfg.MasterAuth,
		ListeningPort: port,
		AnnounceIP:    cfg.ReplicaAnnounceIP,
		Timeout:       time.Duration(cfg.ReplTimeout) * time.Second,
		Log:           s.Log,
	}
}

// closeReplication stops the replication goroutines (shutdown).
func (s *Server) closeReplication() {
	if s.repl.replica != nil {
		s.repl.replica.Close()
	}
	if s.repl.master != nil {
		s.repl.master.Close()
	}
}

// IsReplica reports whether the node replicates from a master.
func (s *Server) IsReplica() bool { return s.repl.isReplica.Load() }

// ReplOffset is the replication offset the cluster bus announces: the
// processed offset on a replica, master_repl_offset on a master.
func (s *Server) ReplOffset() int64 {
	if s.IsReplica() {
		return s.repl.replica.Offset()
	}
	return s.repl.master.Offset()
}

// replLink describes the link to the master for the cluster's data-age
// check (cluster-behaviour.md §5.1).
func (s *Server) replLink() failover.ReplLink {
	ri := s.repl.replica.Info()
	now := time.Now().UnixMilli()
	l := failover.ReplLink{Up: ri.LinkUp}
	if ri.LinkUp {
		l.LastInteraction = now - ri.LastIOSecondsAgo*1000
	} else if ri.LinkDownSinceSeconds >= 0 {
		l.DownSince = now - ri.LinkDownSinceSeconds*1000
	}
	return l
}

// replicaOf makes the node a replica of host:port (REPLICAOF, CLUSTER
// REPLICATE, a failover that demotes it). It reports false when it
// already replicates from that master.
func (s *Server) replicaOf(host string, port int) bool {
	s.repl.mu.Lock()
	defer s.repl.mu.Unlock()
	if s.IsReplica() && s.repl.masterHost == host && s.repl.masterPort == port {
		return false
	}
	s.repl.masterHost, s.repl.masterPort = host, port
	s.KS.SetKeepExpired(true)
	s.repl.isReplica.Store(true)
	s.repl.replica.SetConfig(s.replicaConfig())
	s.repl.replica.SetMaster(host, port)
	return true
}

// replicaOfNoOne promotes the node to a master (REPLICAOF NO ONE, a won
// election): the replication ID moves to replid2 so that the other
// replicas of the old master can continue partially from this node.
func (s *Server) replicaOfNoOne() {
	s.repl.mu.Lock()
	defer s.repl.mu.Unlock()
	if !s.IsReplica() {
		return
	}
	s.repl.replica.UnsetMaster()
	s.repl.isReplica.Store(false)
	s.repl.masterHost, s.repl.masterPort = "", 0
	s.KS.SetKeepExpired(false)
	s.Log.Info().Msg("MASTER MODE enabled")
}

// rdbOptions is the encoding configuration of our RDBs and DUMP payloads:
// the encoding thresholds, rdbcompression, rdbchecksum, and the LRU idle
// time or LFU counter that Redis saves under an LRU or LFU policy.
func (s *Server) rdbOptions() *rdb.EncoderOptions {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	cfg := s.Cfg
	c := rdb.DefaultConfig()
	c.HashMaxListpackEntries = int(min(cfg.HashMaxListpackEntries, 1<<30))
	c.HashMaxListpackValue = int(min(cfg.HashMaxListpackValue, 1<<30))
	c.ZSetMaxListpackEntries = int(min(cfg.ZsetMaxListpackEntries, 1<<30))
	c.ZSetMaxListpackValue = int(min(cfg.ZsetMaxListpackValue, 1<<30))
	c.SetMaxIntsetEntries = int(min(cfg.SetMaxIntsetEntries, 1<<30))
	c.ListMaxListpackSize = cfg.ListMaxListpackSize
	policy := cfg.MaxMemoryPolicy
	return &rdb.EncoderOptions{Config: &c, NoCompression: !cfg.RDBCompression, NoChecksum: !cfg.RDBChecksum,
		SaveIdle: strings.Contains(policy, "lru"), SaveFreq: strings.Contains(policy, "lfu")}
}

// snapshot writes an RDB of the whole dataset (replication.SnapshotFunc).
func (s *Server) snapshot(w io.Writer, req *replication.SnapshotRequest) error {
	return s.writeRDB(w, req.Begin, req.ExcludeData)
}

// writeRDB writes a point-in-time RDB of the dataset to w; replication
// full syncs and SAVE/BGSAVE share it. begin runs at the snapshot point,
// under every slot lock, and returns the replication info of the header
// (nil for none). Without fork, the point is kept by a copy-on-write at
// slot granularity (store.Keyspace.StartSnapshot): after the point every
// slot is encoded, with its lock held, either by this goroutine walking
// the slots in order or, first, by a command about to use it; the encoded
// slots are written out in order, each when its turn comes. No command
// waits for more than the encoding of the slots it locks.
func (s *Server) writeRDB(w io.Writer, begin func() *rdb.ReplInfo, noData bool) error {
	s.repl.snapMu.Lock()
	defer s.repl.snapMu.Unlock()
	opts := s.rdbOptions()
	// frags[slot] is the encoded slot: written under the slot's lock by
	// whoever encodes it, read by this goroutine under the same lock.
	frags := make([][]byte, slots.Count)
	var fragErr atomic.Pointer[error]
	dbs := s.KS.DBs
	now := nowMs()
	encodeSlot := func(slot int) {
		if noData {
			return
		}
		var fe *rdb.Encoder
		var ent rdb.Entry
		var err error
		for i, db := range dbs {
			if db.SlotSize(slot) == 0 {
				continue
			}
			if fe == nil {
				fe = rdb.NewFragmentEncoder(opts)
			}
			if err = fe.SwitchDB(i); err != nil {
				break
			}
			db.ForEachInSlotWarm(slot, func(key string, o *store.Object) bool {
				if objectToEntry(o, key, now, &ent) {
					err = fe.WriteEntry(&ent)
				}
				return err == nil
			})
			if err != nil {
				break
			}
		}
		if err != nil {
			fragErr.CompareAndSwap(nil, &err)
		}
		if fe != nil {
			frags[slot] = fe.Bytes()
		}
	}

	s.KS.LockAll()
	info := begin()
	keys := make([]uint64, len(dbs))
	expires := make([]uint64, len(dbs))
	for i, db := range dbs {
		keys[i], expires[i] = uint64(db.Size()), uint64(db.ExpiresCount())
	}
	s.KS.StartSnapshot(encodeSlot)
	s.KS.UnlockAll()
	defer s.KS.EndSnapshot()

	enc := rdb.NewEncoder(w, opts)
	if err := enc.WriteHeader(&rdb.Header{Repl: info, UsedMem: s.UsedMemory()}); err != nil {
		return err
	}
	// The RESIZEDB hints of every database, then the slots, each starting
	// with the SELECTDB of its databases.
	if !noData {
		for i := range dbs {
			if keys[i] > 0 {
				if err := enc.SelectDB(i, keys[i], expires[i]); err != nil {
					return err
				}
			}
		}
	}
	for slot := 0; slot < slots.Count; slot++ {
		s.KS.Lock(slot) // encodes the slot unless a command did
		frag := frags[slot]
		frags[slot] = nil
		s.KS.Unlock(slot)
		if len(frag) > 0 {
			if err := enc.WriteRaw(frag); err != nil {
				return err
			}
		}
	}
	if e := fragErr.Load(); e != nil {
		return *e
	}
	return enc.Close()
}

// objectToEntry fills ent with the RDB form of o (false for a type RDB
// cannot hold). The slices alias o's memory: ent is valid while the slot
// lock is held.
func objectToEntry(o *store.Object, key string, now int64, ent *rdb.Entry) bool {
	// The encoder only reads the key: no copy.
	*ent = rdb.Entry{Key: unsafe.Slice(unsafe.StringData(key), len(key)), ExpireMs: o.Expire, Idle: -1, Freq: -1}
	if o.LRU != 0 {
		ent.Idle = max(0, now/1000-int64(o.LRU))
	}
	v := &ent.Value
	switch o.Type {
	case store.TypeString:
		v.Kind = rdb.KindString
		v.Str = o.Bytes()
		return true
	case store.TypeList:
		l := o.Val.(*store.List)
		v.Kind = rdb.KindList
		v.List = make([][]byte, 0, l.Len())
		it := l.Iter(0, false)
		for e, ok := it.Next(); ok; e, ok = it.Next() {
			v.List = append(v.List, e)
		}
	case store.TypeHash:
		h := o.Val.(*store.Hash)
		v.Kind = rdb.KindHash
		v.Hash = make([]rdb.FieldValue, 0, h.Len())
		h.ForEach(func(f, val []byte) bool {
			v.Hash = append(v.Hash, rdb.FieldValue{Field: f, Value: val})
			return true
		})
	case store.TypeSet:
		st := o.Val.(*store.Set)
		v.Kind = rdb.KindSet
		v.Set = make([][]byte, 0, st.Len())
		st.ForEach(func(m store.SetMember) bool {
			v.Set = append(v.Set, m.AppendTo(nil))
			return true
		})
	case store.TypeZSet:
		z := o.Val.(*store.ZSet)
		v.Kind = rdb.KindZSet
		v.ZSet = make([]rdb.ScoredMember, 0, z.Len())
		z.ForEach(func(m []byte, score float64) bool {
			v.ZSet = append(v.ZSet, rdb.ScoredMember{Member: m, Score: score})
			return true
		})
	default:
		return false
	}
	pinEncoding(o, v)
	return true
}

// entryToObject builds a keyspace object from a decoded RDB value; ok is
// false for a type redcluster does not hold (streams, modules).
func (s *Server) entryToObject(e *rdb.Entry, now int64) (o *store.Object, ok bool) {
	v := &e.Value
	switch v.Kind {
	case rdb.KindString:
		o = store.NewString(v.Str)
	case rdb.KindList:
		l := store.NewList()
		l.PushMany(v.List, false)
		o = &store.Object{Type: store.TypeList, Val: l}
	case rdb.KindHash:
		lim := s.collLimits()
		h := store.NewHash()
		for _, fv := range v.Hash {
			h.Set(fv.Field, fv.Value, lim)
		}
		o = &store.Object{Type: store.TypeHash, Val: h}
	case rdb.KindSet:
		lim := s.collLimits()
		st := store.NewSet()
		for _, m := range v.Set {
			st.Add(m, lim)
		}
		o = &store.Object{Type: store.TypeSet, Val: st}
	case rdb.KindZSet:
		lim := s.zsetLimits()
		z := store.NewZSetFor(len(v.ZSet), lim)
		for _, m := range v.ZSet {
			z.Add(m.Member, m.Score, 0, lim)
		}
		o = &store.Object{Type: store.TypeZSet, Val: z}
	default:
		return nil, false
	}
	o.Expire = e.ExpireMs
	o.LRU = store.LRUClock(now)
	if e.Idle > 0 {
		o.LRU = uint32(max(0, now/1000-e.Idle))
	}
	return o, true
}

// collLimits returns the hash and set encoding thresholds.
func (s *Server) collLimits() store.Limits {
	if l := s.encLimits.Load(); l != nil {
		return *l
	}
	return store.DefaultLimits()
}

// zsetLimits returns zset-max-listpack-entries and -value.
func (s *Server) zsetLimits() store.ZSetLimits {
	s.cfgMu.RLock()
	e, v := s.Cfg.ZsetMaxListpackEntries, s.Cfg.ZsetMaxListpackValue
	s.cfgMu.RUnlock()
	const maxInt = int64(^uint(0) >> 1)
	return store.ZSetLimits{MaxListpackEntries: int(min(e, maxInt)), MaxListpackValue: int(min(v, maxInt))}
}

// serverDataset is the Server seen as a replication.Dataset.
type serverDataset Server

// BeginFullSync starts a staging keyspace.
func (d *serverDataset) BeginFullSync() error {
	s := (*Server)(d)
	s.repl.staging = store.NewKeyspace(len(s.KS.DBs), nowMs)
	s.repl.loadGC = startLoadGC()
	s.repl.loadNow = nowMs()
	return nil
}

// loadGC keeps the collector off while a dataset loads (a full sync, the
// RDB at start). Loading only adds live data: a collection during the
// load marks what was loaded so far and frees next to nothing (the
// dictionaries' tables left behind by their growth, the decoded values of
// aggregates: together at most about the size of the data loaded). With
// the default GOGC the heap was marked again at every doubling, about half
// of the CPU of a 1M-key load; at GOGC 400 still a fifth of its time.
// The heap is checked every loadGCCheckEvery units of data loaded (a key,
// plus one per element of an aggregate or per 64 bytes of a string): past
// loadGCBudget plus four times the heap at the start (the garbage of the
// clients served meanwhile counts too), collection resumes at GOGC 400
// for the rest of the load. stop restores the previous setting.
type loadGC struct {
	old    int
	limit  uint64 // heap bytes from which the collector runs again
	units  int    // loaded since the last check
	off    bool
	sample [1]metrics.Sample
}

const (
	loadGCCheckEvery = 1 << 16
	loadGCBudget     = 1 << 30
	loadGCFallback   = 400 // GOGC once the budget is spent
)

// startLoadGC switches the collector off for a load.
func startLoadGC() *loadGC {
	g := &loadGC{}
	g.sample[0].Name = "/memory/classes/heap/objects:bytes"
	g.limit = 4*g.heap() + loadGCBudget
	g.old = debug.SetGCPercent(-1)
	g.off = true
	return g
}

// heap returns the bytes of the heap objects, live or not yet swept.
func (g *loadGC) heap() uint64 {
	metrics.Read(g.sample[:])
	if g.sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return g.sample[0].Value.Uint64()
}

// loaded counts a loaded key of value v and checks the heap against the
// budget every loadGCCheckEvery units.
func (g *loadGC) loaded(v *rdb.Value) {
	if g == nil || !g.off {
		return
	}
	g.units++
	if v.Kind == rdb.KindString {
		g.units += len(v.Str) >> 6
	} else {
		g.units += v.Len()
	}
	if g.units < loadGCCheckEvery {
		return
	}
	g.units = 0
	if g.heap() > g.limit {
		debug.SetGCPercent(loadGCFallback)
		g.off = false
	}
}

// stop restores the collector's previous setting.
func (g *loadGC) stop() {
	if g != nil {
		debug.SetGCPercent(g.old)
	}
}

// ResizeDB sizes the staging database's new slot dictionaries for the
// RDB's hint (replication.SizeHinter).
func (d *serverDataset) ResizeDB(db int, keys, _ uint64) {
	s := (*Server)(d)
	if s.repl.staging != nil && db >= 0 && db < len(s.repl.staging.DBs) {
		s.repl.staging.DBs[db].SizeHint(keys)
	}
}

// LoadFunction ignores function libraries: redcluster has no scripting.
func (d *serverDataset) LoadFunction(code []byte) error {
	(*Server)(d).Log.Warn().Msg("MASTER sent a function library: functions are not supported, skipped")
	return nil
}

// LoadEntry adds one key to the staging keyspace.
func (d *serverDataset) LoadEntry(e *rdb.Entry) error {
	s := (*Server)(d)
	if e.DB < 0 || e.DB >= len(s.repl.staging.DBs) {
		return errString("DB index out of range in RDB: " + strconv.Itoa(e.DB))
	}
	o, ok := s.entryToObject(e, s.repl.loadNow)
	if !ok {
		s.warnType(e.Value.Kind)
		return nil
	}
	putEntry(s.repl.staging.DBs[e.DB], slots.KeySlot(e.Key), e, o)
	s.repl.loadGC.loaded(&e.Value)
	return nil
}

// putEntry stores a loaded key in its slot. A string's key and bytes
// share one allocation (store.DB.SetStringCopy), as when a client SETs it,
// so a loaded dataset takes no more memory than a written one. The caller
// holds the slot's lock when db is in use.
func putEntry(db *store.DB, slot int, e *rdb.Entry, o *store.Object) {
	if o.Type == store.TypeString {
		o.SetBytes(nil)
		db.SetStringCopyIn(slot, e.Key, e.Value.Str, o)
		return
	}
	db.SetIn(slot, e.Key, o)
}

func (s *Server) warnType(k rdb.Kind) {
	if s.repl.warnedTypes == nil {
		s.repl.warnedTypes = map[rdb.Kind]bool{}
	}
	if !s.repl.warnedTypes[k] {
		s.repl.warnedTypes[k] = true
		s.Log.Warn().Msgf("RDB holds keys of type %s, which redcluster does not support: skipped", k)
	}
}

// EndFullSync swaps the loaded keyspace in (ok) or drops it.
func (d *serverDataset) EndFullSync(ok bool) error {
	s := (*Server)(d)
	staging := s.repl.staging
	s.repl.staging = nil
	s.repl.loadGC.stop()
	s.repl.loadGC = nil
	if !ok || staging == nil {
		return nil
	}
	s.KS.LockAll()
	for i := range s.KS.DBs {
		s.touchWatchedOnSwap(i, -1, nowMs())
	}
	s.KS.SwapContents(staging)
	s.KS.UnlockAll()
	// Clients blocked on keys are tried again: the new data may hold them.
	s.wakeAllBlocked()
	// Like a Redis replica, which loads the transfer from dbfilename, keep
	// the synchronized data on disk: a restart then starts from it and
	// can continue partially.
	if err := s.bgsave(); err != nil {
		s.Log.Info().Err(err).Msg("saving the synchronized dataset")
	}
	return nil
}

// wakeAllBlocked marks every key a client waits on as ready (serving
// checks that it exists and has the right type), after the keyspace was
// replaced wholesale.
func (s *Server) wakeAllBlocked() {
	r := &s.blocking
	if r.count.Load() == 0 {
		return
	}
	r.mu.Lock()
	for bk := range r.byKey {
		if _, queued := r.readySet[bk]; !queued {
			r.readySet[bk] = struct{}{}
			r.ready = append(r.ready, bk)
		}
	}
	r.readyN.Store(int64(len(r.ready)))
	r.mu.Unlock()
}

// Apply runs one command of the master's stream.
func (d *serverDataset) Apply(db int, args [][]byte) {
	(*Server)(d).applyFromMaster(db, args)
}

// ApplyTx runs a MULTI/EXEC block of the stream.
func (d *serverDataset) ApplyTx(ops []replication.Op) {
	s := (*Server)(d)
	s.KS.LockAll()
	mc := s.repl.mclient
	if mc.batchNow == 0 {
		mc.batchNow = nowMs()
	}
	for _, op := range ops {
		cmd := s.lookupStreamCommand(op.Args)
		if cmd == nil {
			continue
		}
		mc.DB = op.DB
		s.callLocked(mc, cmd, op.Args, true, mc.batchNow)
		mc.W.Reset()
	}
	s.KS.UnlockAll()
	s.afterCommand(&mc.ctx)
}

// EndBatch ends a run of stream commands: the next one reads the clock
// again (the commands of a batch share one reading, as a client's
// pipelined requests do).
func (d *serverDataset) EndBatch() {
	(*Server)(d).repl.mclient.batchNow = 0
}

// lookupStreamCommand resolves a command of the stream; nil (logged) when
// unknown or with a wrong number of arguments.
func (s *Server) lookupStreamCommand(args [][]byte) *Command {
	if len(args) == 0 {
		return nil
	}
	cmd := s.Cmds.Lookup(args[0])
	if cmd != nil && cmd.Subs != nil && len(args) >= 2 {
		cmd = cmd.Subs[lowerASCII(args[1])]
	}
	if cmd == nil || (cmd.Arity > 0 && cmd.Arity != len(args)) || len(args) < -cmd.Arity {
		s.Log.Warn().Str("command", truncate(string(args[0]), 64)).Msg("command from MASTER unknown or with a wrong number of arguments: skipped")
		return nil
	}
	return cmd
}

// applyFromMaster executes a command of the stream: no reply, no checks of
// replica-read-only, memory or cluster routing, keys never seen as
// expired (the master sends DEL).
func (s *Server) applyFromMaster(db int, args [][]byte) {
	cmd := s.lookupStreamCommand(args)
	if cmd == nil {
		return
	}
	mc := s.repl.mclient
	if db >= 0 && db < len(s.KS.DBs) {
		mc.DB = db
	}
	slotList, _ := keySlots(cmd, args, mc.posBuf[:], mc.slotBuf[:])
	s.Stats.Commands.Add(1)
	if mc.batchNow == 0 {
		mc.batchNow = nowMs()
	}
	s.call(mc, cmd, args, slotList, mc.batchNow)
	mc.W.Reset()
}

func lowerASCII(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}

type errString string

func (e errString) Error() string { return string(e) }

// takeOver hands the connection to a replication goroutine (SYNC/PSYNC):
// the client loop calls it after writing the pending replies, with the
// input not yet processed, and ends when it returns.
type takeOver func(nc net.Conn, pending []byte)

// replicaIgnoresMaxmemory reports whether maxmemory is not enforced: on a
// replica with replica-ignore-maxmemory yes (the default), eviction is the
// master's business (its DELs arrive through the stream).
func (s *Server) replicaIgnoresMaxmemory() bool {
	if !s.IsReplica() {
		return false
	}
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return s.Cfg.ReplicaIgnoreMaxmemory
}
