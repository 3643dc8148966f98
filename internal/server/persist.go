package server

// RDB persistence: SAVE, BGSAVE, the save points of serverCron, the save
// of FLUSHALL and SHUTDOWN, and INFO persistence's figures (Redis 7.0's
// rdb.c and serverCron). There is no fork: a save is a point-in-time
// snapshot taken slot by slot under the slot locks (writeRDB, repl.go),
// written to a temporary file that is fsynced and renamed over
// dir/dbfilename. BGSAVE runs the same save in a goroutine.
//
// Saves can overlap (a SAVE still writing when FLUSHALL saves the empty
// dataset, say): each takes a sequence number at its snapshot point, under
// every slot lock, and a save only renames its file over dbfilename when
// no later snapshot was renamed already, so the file always holds the
// newest snapshot.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redcluster/redcluster/internal/fsutil"
	"github.com/redcluster/redcluster/internal/rdb"
	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/store"
)

// bgsaveRetryDelay is CONFIG_BGSAVE_RETRY_DELAY: after a failed BGSAVE,
// save points and scheduled saves wait this long (seconds) before trying
// again.
const bgsaveRetryDelay = 5

// errBgsaveInProgress is the reply to SAVE and BGSAVE while BGSAVE runs.
var errBgsaveInProgress = errors.New("ERR Background save already in progress")

// errSaveCancelled ends a BGSAVE that FLUSHALL or SHUTDOWN killed.
var errSaveCancelled = errors.New("background save cancelled")

// persistState is the RDB persistence state.
type persistState struct {
	// dir, when set, is where dbfilename and the temporary files go
	// (in-process tests); empty means the working directory, which the
	// configuration loader made "dir" like redis-server does.
	dir string

	// syncMu serializes SAVE and SHUTDOWN's save, which share a temporary
	// file name. It is taken before any slot lock.
	syncMu sync.Mutex
	// seq numbers the snapshot points (taken under every slot lock).
	seq atomic.Uint64

	mu sync.Mutex // guards what follows
	// renamed is the sequence number of the snapshot dbfilename holds.
	renamed uint64
	// Stats.Dirty counts the changes not saved yet: a save subtracts the
	// changes made before its snapshot point. subtracted is the sum of
	// what saves subtracted (Stats.Dirty+subtracted counts every change
	// ever made) and savedTotal that count at the point of the snapshot
	// on disk.
	subtracted, savedTotal int64
	// The running BGSAVE, if any.
	bgRunning bool
	bgStart   time.Time
	bgCancel  *atomic.Bool
	bgDone    chan struct{}
	bgKeys    atomic.Int64 // current_save_keys_total
	// scheduled is BGSAVE SCHEDULE (or BGSAVE inside MULTI) waiting for
	// the cron.
	scheduled bool
	// lastBgsaveFailed is rdb_last_bgsave_status "err"; lastBgsaveTry the
	// unix time of the last BGSAVE attempt; lastBgsaveSecs, when
	// bgsaveEnded, rdb_last_bgsave_time_sec.
	lastBgsaveFailed bool
	// bgsaveFailed mirrors lastBgsaveFailed for dispatch's lock-free
	// check (diskErrorRefusal).
	bgsaveFailed   atomic.Bool
	lastBgsaveTry  int64
	bgsaveEnded    bool
	lastBgsaveSecs int64
	saves          int64 // rdb_saves
	// Figures of the RDB loaded at startup.
	loadLoaded, loadExpired int64
}

// rdbPath is dbfilename, relative to the working directory (or to
// persist.dir).
func (s *Server) rdbPath() string {
	s.cfgMu.RLock()
	name := s.Cfg.DBFilename
	s.cfgMu.RUnlock()
	return filepath.Join(s.persist.dir, name)
}

// tempRDBPath is the temporary file of a save: Redis's temp-<pid>.rdb for
// SAVE and SHUTDOWN, with a suffix for the saves that may run alongside
// one (BGSAVE, FLUSHALL).
func (s *Server) tempRDBPath(suffix string) string {
	return filepath.Join(s.persist.dir, fmt.Sprintf("temp-%d%s.rdb", os.Getpid(), suffix))
}

// savePoints returns the configured save points.
func (s *Server) savePoints() []savePoint {
	s.cfgMu.RLock()
	pts := s.Cfg.SavePoints()
	s.cfgMu.RUnlock()
	out := make([]savePoint, len(pts))
	for i, sp := range pts {
		out[i] = savePoint{seconds: sp.Seconds, changes: int64(sp.Changes)}
	}
	return out
}

type savePoint struct{ seconds, changes int64 }

// hasSavePoints reports whether "save" holds at least one point.
func (s *Server) hasSavePoints() bool {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return strings.TrimSpace(s.Cfg.Save) != ""
}

// saveWriter writes a save's bytes to its file; it fails once the save is
// cancelled or the server closes, which ends the snapshot early.
type saveWriter struct {
	f       *os.File
	cancel  *atomic.Bool
	closing <-chan struct{}
}

func (w *saveWriter) Write(p []byte) (int, error) {
	if w.cancel != nil && w.cancel.Load() {
		return 0, errSaveCancelled
	}
	select {
	case <-w.closing:
		return 0, errSaveCancelled
	default:
	}
	return w.f.Write(p)
}

// saveOptions says how rdbSave takes its snapshot.
type saveOptions struct {
	suffix string       // temporary file name suffix
	cancel *atomic.Bool // set to abandon the save (BGSAVE)
	// locked is set when the caller holds every slot lock (FLUSHALL):
	// the snapshot is then taken without locking.
	locked bool
	// keys, when set, receives the number of keys at the snapshot point.
	keys *atomic.Int64
}

// rdbSave writes a snapshot of the dataset to dbfilename: a temporary
// file, fsync, rename, fsync of the folder (rdbSave). On success the
// changes made before the snapshot point no longer count as unsaved and
// LASTSAVE moves.
func (s *Server) rdbSave(o saveOptions) error {
	p := &s.persist
	tmp := s.tempRDBPath(o.suffix)
	f, err := os.Create(tmp)
	if err != nil {
		wd, _ := os.Getwd()
		s.Log.Warn().Msgf("Failed opening the temp RDB file %s (in server root dir %s) for saving: %s",
			filepath.Base(tmp), wd, fsutil.Strerror(err))
		return err
	}
	var seq uint64
	var total int64
	begin := func() *rdb.ReplInfo {
		seq = p.seq.Add(1)
		p.mu.Lock()
		total = s.Stats.Dirty.Load() + p.subtracted
		p.mu.Unlock()
		if o.keys != nil {
			var n int64
			for _, db := range s.KS.DBs {
				n += db.Size()
			}
			o.keys.Store(n)
		}
		return s.repl.master.ReplInfo()
	}
	bw := bufio.NewWriterSize(&saveWriter{f: f, cancel: o.cancel, closing: s.closing}, 256<<10)
	op := "rdbSaveRio"
	if o.locked {
		err = s.writeRDBLocked(bw, begin)
	} else {
		err = s.writeRDB(bw, begin, false)
	}
	if err == nil {
		op = "fflush"
		err = bw.Flush()
	}
	if err == nil {
		op = "fsync"
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		op, err = "fclose", cerr
	}
	if err != nil {
		os.Remove(tmp)
		if !errors.Is(err, errSaveCancelled) {
			s.Log.Warn().Msgf("Write error saving DB on disk(%s): %s", op, fsutil.Strerror(err))
		}
		return err
	}
	path := s.rdbPath()
	stale := false
	p.mu.Lock()
	switch {
	case o.cancel != nil && o.cancel.Load():
		err = errSaveCancelled
	case seq < p.renamed:
		stale = true // a later snapshot is on disk already
	default:
		if err = os.Rename(tmp, path); err == nil {
			p.renamed = seq
		}
	}
	p.mu.Unlock()
	if err != nil {
		os.Remove(tmp)
		if !errors.Is(err, errSaveCancelled) {
			wd, _ := os.Getwd()
			s.Log.Warn().Msgf("Error moving temp DB file %s on the final destination %s (in server root dir %s): %s",
				filepath.Base(tmp), filepath.Base(path), wd, fsutil.Strerror(err))
		}
		return err
	}
	if stale {
		os.Remove(tmp)
		s.Log.Info().Msg("DB saved on disk")
		return nil
	}
	if err := fsutil.SyncDir(filepath.Dir(path)); err != nil {
		s.Log.Warn().Msgf("Write error saving DB on disk(fsyncFileDir): %s", fsutil.Strerror(err))
		return err
	}
	s.Log.Info().Msg("DB saved on disk")
	p.mu.Lock()
	if sub := total - p.savedTotal; sub > 0 {
		s.Stats.Dirty.Add(-sub)
		p.subtracted += sub
		p.savedTotal = total
	}
	p.lastBgsaveFailed = false
	p.bgsaveFailed.Store(false)
	p.mu.Unlock()
	s.SetLastSave(time.Now().Unix())
	return nil
}

// writeRDBLocked is writeRDB for a caller that holds every slot lock.
func (s *Server) writeRDBLocked(w io.Writer, begin func() *rdb.ReplInfo) error {
	enc := rdb.NewEncoder(w, s.rdbOptions())
	if err := enc.WriteHeader(&rdb.Header{Repl: begin()}); err != nil {
		return err
	}
	var ent rdb.Entry
	now := nowMs()
	for i, db := range s.KS.DBs {
		if db.Size() == 0 {
			continue
		}
		if err := enc.SelectDB(i, uint64(db.Size()), uint64(db.ExpiresCount())); err != nil {
			return err
		}
		var err error
		for slot := 0; slot < slots.Count && err == nil; slot++ {
			db.ForEachInSlotWarm(slot, func(key string, o *store.Object) bool {
				if objectToEntry(o, key, now, &ent) {
					err = enc.WriteEntry(&ent)
				}
				return err == nil
			})
		}
		if err != nil {
			return err
		}
	}
	return enc.Close()
}

// saveSync is SAVE: a save in the caller's goroutine, refused while
// BGSAVE runs.
func (s *Server) saveSync() error {
	p := &s.persist
	p.mu.Lock()
	if p.bgRunning {
		p.mu.Unlock()
		return errBgsaveInProgress
	}
	p.saves++
	p.mu.Unlock()
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	return s.rdbSave(saveOptions{})
}

// bgsave starts a background save (rdbSaveBackground).
func (s *Server) bgsave() error {
	p := &s.persist
	p.mu.Lock()
	if p.bgRunning {
		p.mu.Unlock()
		return errBgsaveInProgress
	}
	now := time.Now()
	p.saves++
	p.bgRunning = true
	p.bgStart = now
	p.lastBgsaveTry = now.Unix()
	p.bgKeys.Store(0)
	cancel := &atomic.Bool{}
	done := make(chan struct{})
	p.bgCancel, p.bgDone = cancel, done
	p.mu.Unlock()
	s.Log.Info().Msgf("Background saving started by pid %d", os.Getpid())
	go func() {
		defer close(done)
		err := s.rdbSave(saveOptions{suffix: "-bg", cancel: cancel, keys: &p.bgKeys})
		p.mu.Lock()
		p.bgRunning = false
		p.bgCancel = nil
		p.bgsaveEnded = true
		p.lastBgsaveSecs = int64(time.Since(now) / time.Second)
		switch {
		case err == nil:
			p.lastBgsaveFailed = false
			p.bgsaveFailed.Store(false)
		case errors.Is(err, errSaveCancelled):
			// killed by FLUSHALL or SHUTDOWN: not an error (SIGUSR1)
		default:
			p.lastBgsaveFailed = true
			p.bgsaveFailed.Store(true)
		}
		p.mu.Unlock()
		switch {
		case err == nil:
			s.Log.Info().Msg("Background saving terminated with success")
		case errors.Is(err, errSaveCancelled):
			s.Log.Warn().Msg("Background saving terminated by signal 10")
		default:
			s.Log.Warn().Msg("Background saving error")
		}
	}()
	return nil
}

// killBgsave abandons a running BGSAVE (killRDBChild) and returns a
// channel closed when its goroutine has ended (nil when none ran). The
// goroutine may still need slot locks to end: a caller holding them
// must not wait.
func (s *Server) killBgsave() <-chan struct{} {
	p := &s.persist
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.bgRunning {
		return nil
	}
	p.bgCancel.Store(true)
	return p.bgDone
}

// waitBgsave waits for a running BGSAVE to end (tests).
func (s *Server) waitBgsave() {
	p := &s.persist
	p.mu.Lock()
	done := p.bgDone
	p.mu.Unlock()
	if done != nil {
		<-done
	}
}

// scheduleBgsave records BGSAVE SCHEDULE for the cron.
func (s *Server) scheduleBgsave() {
	p := &s.persist
	p.mu.Lock()
	p.scheduled = true
	p.mu.Unlock()
}

// persistCron is serverCron's part: BGSAVE when a save point is reached
// ("save <seconds> <changes>"), or when one was scheduled.
func (s *Server) persistCron() {
	p := &s.persist
	p.mu.Lock()
	running, ok, try, scheduled := p.bgRunning, !p.lastBgsaveFailed, p.lastBgsaveTry, p.scheduled
	p.mu.Unlock()
	if running {
		return
	}
	now := time.Now().Unix()
	retryOK := ok || now-try > bgsaveRetryDelay
	if !retryOK {
		return
	}
	if s.hasSavePoints() {
		dirty, last := s.Stats.Dirty.Load(), s.LastSave()
		for _, sp := range s.savePoints() {
			if dirty >= sp.changes && now-last > sp.seconds {
				s.Log.Info().Msgf("%d changes in %d seconds. Saving...", sp.changes, sp.seconds)
				_ = s.bgsave()
				return
			}
		}
	}
	if scheduled && s.bgsave() == nil {
		p.mu.Lock()
		p.scheduled = false
		p.mu.Unlock()
	}
}

// shutdownSave is SHUTDOWN's persistence step (finishShutdown): a running
// BGSAVE is killed, then the dataset is saved when save is set. The caller
// holds no slot lock.
func (s *Server) shutdownSave(save bool) error {
	if done := s.killBgsave(); done != nil {
		s.Log.Warn().Msg("There is a child saving an .rdb. Killing it!")
		<-done
	}
	if !save {
		return nil
	}
	s.Log.Info().Msg("Saving the final RDB snapshot before exiting.")
	p := &s.persist
	p.syncMu.Lock()
	err := s.rdbSave(saveOptions{})
	p.syncMu.Unlock()
	if err != nil {
		s.Log.Warn().Msg("Error trying to save the DB, can't exit.")
		return fmt.Errorf("saving the final RDB snapshot: %w", err)
	}
	return nil
}

// flushAllSave is FLUSHALL's part (flushAllDataAndResetRDB): a running
// BGSAVE is killed and, with save points, the now empty dataset is saved.
// The caller holds every slot lock. It reports whether it saved.
func (s *Server) flushAllSave() bool {
	s.killBgsave() // not waited for: it may need the locks held here
	if !s.hasSavePoints() {
		return false
	}
	return s.rdbSave(saveOptions{suffix: "-flush", locked: true}) == nil
}

// diskErrorRefusal is the MISCONF error that refuses writes (and PING)
// on a master after a failed BGSAVE, with stop-writes-on-bgsave-error
// and save points set (writeCommandsDeniedByDiskError); "" when writes
// are allowed.
func (s *Server) diskErrorRefusal() string {
	if !s.persist.bgsaveFailed.Load() {
		return ""
	}
	s.cfgMu.RLock()
	stop := s.Cfg.StopWritesOnBgsaveError
	s.cfgMu.RUnlock()
	if !stop || !s.hasSavePoints() || s.IsReplica() {
		return ""
	}
	p := &s.persist
	p.mu.Lock()
	failed := p.lastBgsaveFailed
	p.mu.Unlock()
	if !failed {
		return ""
	}
	return "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. " +
		"Commands that may modify the data set are disabled, because this instance is configured to report errors " +
		"during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). " +
		"Please check the Redis logs for details about the RDB error."
}

// persistInfo holds INFO persistence's RDB figures.
type persistInfo struct {
	bgInProgress   bool
	keysTotal      int64
	lastOK         bool
	lastBgsaveSecs int64
	curBgsaveSecs  int64
	saves          int64
	loadLoaded     int64
	loadExpired    int64
}

// persistInfo returns INFO persistence's RDB figures.
func (s *Server) persistInfo() persistInfo {
	p := &s.persist
	p.mu.Lock()
	defer p.mu.Unlock()
	pi := persistInfo{bgInProgress: p.bgRunning, lastOK: !p.lastBgsaveFailed, lastBgsaveSecs: -1,
		curBgsaveSecs: -1, saves: p.saves, loadLoaded: p.loadLoaded, loadExpired: p.loadExpired}
	if p.bgsaveEnded {
		pi.lastBgsaveSecs = p.lastBgsaveSecs
	}
	if p.bgRunning {
		pi.curBgsaveSecs = int64(time.Since(p.bgStart) / time.Second)
		pi.keysTotal = p.bgKeys.Load()
	}
	return pi
}
