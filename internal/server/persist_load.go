package server

// Loading dbfilename at startup (loadDataFromDisk, rdbLoad) and, in
// cluster mode, checking the loaded keys against the slot table
// (verifyClusterConfigWithData).

import (
	"github.com/redcluster/redcluster/internal/fsutil"

	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redcluster/redcluster/internal/rdb"
	"github.com/redcluster/redcluster/internal/slots"
)

// ErrLoad marks a fatal error loading the dataset at startup: the caller
// exits with status 1, as redis-server does (the reason is logged).
var ErrLoad = errors.New("fatal error loading the DB")

// loadInfo is what an RDB's aux fields say about replication
// (rdbSaveInfo); the fields hold -1 / "" until read.
type loadInfo struct {
	streamDB int
	replID   string
	offset   int64
}

// LoadDataFromDisk loads dbfilename, when it exists, before the server
// accepts clients (loadDataFromDisk), restores the replication ID and
// offset it recorded so that replicas (or this node, as a replica) can
// continue partially, and in cluster mode reconciles the slot table with
// the keys loaded. Errors wrap ErrLoad and were logged as Redis logs them.
func (s *Server) LoadDataFromDisk() error {
	start := time.Now()
	master := s.startsAsMaster()
	s.cfgMu.RLock()
	aof := s.Cfg.AppendOnly
	s.cfgMu.RUnlock()
	if aof {
		s.Log.Warn().Msg("appendonly is on but redcluster has no AOF: loading the RDB file instead")
	}
	f, err := os.Open(s.rdbPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		s.Log.Warn().Msgf("Fatal error loading the DB: %s. Exiting.", fsutil.Strerror(err))
		return fmt.Errorf("%w: %w", ErrLoad, err)
	default:
		gc := startLoadGC()
		info, expired, err := s.loadRDBFile(f, master, start.UnixMilli(), gc)
		gc.stop()
		f.Close()
		if err != nil {
			return err
		}
		s.Log.Info().Msgf("DB loaded from disk: %.3f seconds", time.Since(start).Seconds())
		if info.replID != "" && info.offset != -1 && info.streamDB != -1 {
			s.repl.master.RestoreReplInfo(&rdb.ReplInfo{StreamDB: info.streamDB, ID: info.replID, Offset: info.offset}, !master)
			// Like Redis (RDBFLAGS_FEED_REPL), a master puts the expired
			// keys it skipped in the backlog as DELs: restarted replicas
			// that continue partially hold them.
			if master && s.repl.master.ReplInfo() != nil {
				for _, k := range expired {
					s.repl.master.Feed(k.db, [][]byte{bDel, []byte(k.key)})
				}
			}
		}
	}
	if s.clusterMode() {
		return s.verifyClusterWithData()
	}
	return nil
}

// startsAsMaster is iAmMaster at startup: in cluster mode the role in
// nodes.conf, else whether replicaof is unset.
func (s *Server) startsAsMaster() bool {
	if st := s.clusterState(); st != nil {
		return !st.MyselfIsReplica()
	}
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return strings.TrimSpace(s.Cfg.ReplicaOf) == ""
}

// dbKey names a key of a database.
type dbKey struct {
	db  int
	key string
}

// loadRDBFile reads an RDB into the keyspace (rdbLoadRio). A master skips
// the keys already expired (returned, to be fed as DELs); a replica loads
// them, its master deleting them later.
func (s *Server) loadRDBFile(f *os.File, master bool, now int64, gc *loadGC) (loadInfo, []dbKey, error) {
	info := loadInfo{streamDB: -1, offset: -1}
	s.cfgMu.RLock()
	checksum := s.Cfg.RDBChecksum
	dbs := s.Cfg.Databases
	s.cfgMu.RUnlock()
	// The size is left unknown: a file cut short then reads as the short
	// read Redis reports, rather than as a length out of range.
	d := rdb.NewDecoder(bufio.NewReaderSize(f, 1<<20), &rdb.DecoderOptions{
		Databases: min(dbs, len(s.KS.DBs)), SkipChecksum: !checksum, ReuseStrings: true})
	var expired []dbKey
	var loaded, expiredN int64
	warned := map[string]bool{}
	// The RESIZEDB hints size the slots the file fills, not those created
	// later.
	defer func() {
		for _, db := range s.KS.DBs {
			db.SizeHint(0)
		}
	}()
	for {
		rec, err := d.NextRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			return info, nil, s.loadError(d, err)
		}
		switch rec.Kind {
		case rdb.RecordAux:
			s.loadAux(&info, string(rec.AuxKey), string(rec.AuxValue))
		case rdb.RecordResizeDB:
			if rec.DB < len(s.KS.DBs) {
				s.KS.DBs[rec.DB].SizeHint(rec.DBSize)
			}
		case rdb.RecordFunction:
			if !warned["function"] {
				warned["function"] = true
				s.Log.Warn().Msg("The RDB file holds function libraries: functions are not supported, skipped")
			}
		case rdb.RecordEntry:
			e := &rec.Entry
			if master && e.ExpireMs != 0 && e.ExpireMs < now {
				expiredN++
				expired = append(expired, dbKey{e.DB, string(e.Key)})
				continue
			}
			o, ok := s.entryToObject(e, now)
			if !ok {
				if t := e.Value.Kind.String(); !warned[t] {
					warned[t] = true
					s.Log.Warn().Msgf("The RDB file holds keys of type %s, which redcluster does not support: skipped", t)
				}
				continue
			}
			db := s.KS.DBs[e.DB]
			slot := slots.KeySlot(e.Key)
			s.KS.Lock(slot)
			n := db.Size()
			putEntry(db, slot, e, o) // copies the key
			dup := db.Size() == n    // replaced: the file is refused anyway
			s.KS.Unlock(slot)
			if dup {
				s.Log.Warn().Msgf("RDB has duplicated key '%s' in DB %d", e.Key, e.DB)
				s.Log.Warn().Msg("Duplicated key found in RDB file")
				return info, nil, fmt.Errorf("%w: duplicated key in RDB file", ErrLoad)
			}
			loaded++
			gc.loaded(&e.Value)
		}
	}
	if d.Version() >= 5 && d.Checksum() == 0 && checksum {
		s.Log.Warn().Msg("RDB file was saved with checksum disabled: no check performed.")
	}
	if n := d.EmptyKeysSkipped(); n > 0 {
		s.Log.Warn().Msgf("Done loading RDB, keys loaded: %d, keys expired: %d, empty keys skipped: %d.", loaded, expiredN, n)
	} else {
		s.Log.Info().Msgf("Done loading RDB, keys loaded: %d, keys expired: %d.", loaded, expiredN)
	}
	p := &s.persist
	p.mu.Lock()
	p.loadLoaded, p.loadExpired = loaded, expiredN
	p.mu.Unlock()
	return info, expired, nil
}

// loadAux handles an aux field as rdbLoadRio does: the replication info,
// and log lines about the file's origin.
func (s *Server) loadAux(info *loadInfo, key, val string) {
	switch key {
	case "repl-stream-db":
		if n, err := strconv.Atoi(val); err == nil {
			info.streamDB = n
		}
	case "repl-id":
		if len(val) == 40 {
			info.replID = val
		}
	case "repl-offset":
		if n, err := strconv.ParseInt(val, 10, 64); err == nil {
			info.offset = n
		}
	case "redis-ver":
		s.Log.Info().Msgf("Loading RDB produced by version %s", val)
	case "ctime":
		if t, err := strconv.ParseInt(val, 10, 64); err == nil {
			age := max(time.Now().Unix()-t, 0)
			s.Log.Info().Msgf("RDB age %d seconds", age)
		}
	case "used-mem":
		if n, err := strconv.ParseInt(val, 10, 64); err == nil {
			s.Log.Info().Msgf("RDB memory usage when created %.2f Mb", float64(n)/(1024*1024))
		}
	}
}

// loadError logs a decoding error with Redis's words and wraps it in
// ErrLoad.
func (s *Server) loadError(d *rdb.Decoder, err error) error {
	var ve *rdb.VersionError
	switch {
	case errors.Is(err, rdb.ErrSignature):
		s.Log.Warn().Msg("Wrong signature trying to load DB from file")
		s.Log.Warn().Msg("Fatal error loading the DB: Invalid argument. Exiting.")
	case errors.As(err, &ve):
		s.Log.Warn().Msg(ve.Error())
		s.Log.Warn().Msg("Fatal error loading the DB: Invalid argument. Exiting.")
	case errors.Is(err, rdb.ErrChecksum):
		// the decoder says "expected <crc>, file has <crc>"
		_, nums, _ := strings.Cut(err.Error(), "expected ")
		exp, got, _ := strings.Cut(nums, ", file has ")
		s.Log.Warn().Msgf("Wrong RDB checksum expected: (%s) but got (%s). Aborting now.",
			strings.TrimLeft(exp, "0"), strings.TrimLeft(got, "0"))
		s.Log.Warn().Msgf("Internal error in RDB reading offset %d -> RDB CRC error", d.Offset())
	case errors.Is(err, rdb.ErrLimit) && strings.Contains(err.Error(), "SELECTDB"):
		s.Log.Warn().Msgf("FATAL: Data file was created with a Redis server configured to handle more than %d databases. Exiting", len(s.KS.DBs))
	case errors.Is(err, io.ErrUnexpectedEOF) || !isDataError(err):
		s.Log.Warn().Msg("Short read or OOM loading DB. Unrecoverable error, aborting now.")
		s.Log.Warn().Msgf("Internal error in RDB reading offset %d -> Unexpected EOF reading RDB file", d.Offset())
	default:
		s.Log.Warn().Msgf("Internal error in RDB reading offset %d -> %v", d.Offset(), err)
	}
	return fmt.Errorf("%w: %w", ErrLoad, err)
}

// isDataError reports whether err is about the file's content rather
// than reading it.
func isDataError(err error) bool {
	return errors.Is(err, rdb.ErrCorrupt) || errors.Is(err, rdb.ErrLimit) || errors.Is(err, rdb.ErrUnsupported)
}

// verifyClusterWithData is verifyClusterConfigWithData: a master whose
// loaded keys lie outside db 0 cannot start; keys in slots it does not
// own make it take unassigned slots and import the others.
func (s *Server) verifyClusterWithData() error {
	st := s.clusterState()
	if st == nil {
		return nil
	}
	other := false
	for _, db := range s.KS.DBs[1:] {
		if db.Size() > 0 {
			other = true
		}
	}
	db0 := s.KS.DBs[0]
	err := st.VerifyData(func(slot int) bool { return db0.SlotSize(slot) > 0 }, other)
	if err != nil {
		s.Log.Warn().Msg(err.Error())
		return fmt.Errorf("%w: %w", ErrLoad, err)
	}
	return nil
}
