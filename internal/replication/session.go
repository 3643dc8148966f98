package replication

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redcluster/redcluster/internal/rdb"
	"github.com/redcluster/redcluster/internal/resp"
)

// psync outcomes.
type psyncKind uint8

const (
	psyncFull     psyncKind = iota + 1 // +FULLRESYNC
	psyncContinue                      // +CONTINUE
	psyncSync                          // PSYNC refused: fell back to SYNC
)

type psyncResult struct {
	kind   psyncKind
	replid string // +FULLRESYNC id ("" if malformed), +CONTINUE new id
	offset int64  // +FULLRESYNC offset
}

// errTryLater is a transient refusal of PSYNC (-NOMASTERLINK, -LOADING).
var errTryLater = errors.New("master is currently unable to PSYNC but should be in the future")

// session runs one connection to the master: handshake, sync, stream. wasUp
// reports whether the link reached the connected state.
func (r *Replica) session(ctx context.Context) (wasUp bool, err error) {
	r.mu.Lock()
	cfg := r.cfg
	addr := net.JoinHostPort(r.host, strconv.Itoa(r.port))
	r.state = StateConnecting
	r.mu.Unlock()

	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	conn, err := cfg.Dial(dctx, "tcp", addr)
	cancel()
	if err != nil {
		return false, fmt.Errorf("unable to connect to MASTER: %w", err)
	}
	defer conn.Close()
	r.mu.Lock()
	if ctx.Err() != nil {
		r.mu.Unlock()
		return false, ctx.Err()
	}
	r.conn = conn
	r.state = StateHandshake
	cached := r.cached
	r.mu.Unlock()

	cc := &countingConn{Conn: conn, timeout: cfg.Timeout, shared: &r.lastIO}
	br := bufio.NewReaderSize(cc, 64<<10)
	w := &masterWriter{c: conn, timeout: cfg.Timeout}
	var mode atomic.Int32
	stopKeeper := r.startKeeper(w, cfg.AckPeriod, &mode)
	defer stopKeeper()

	res, err := r.handshake(br, w, &cfg, cached)
	if err != nil {
		return false, err
	}
	switch res.kind {
	case psyncContinue:
		r.continueSync(cached, res.replid, &cfg)
	default:
		if err := r.fullSync(br, w, cc, &cfg, res, &mode); err != nil {
			return false, err
		}
	}
	mode.Store(keepAck)
	r.mu.Lock()
	if r.cur.prePSYNC {
		mode.Store(keepIdle)
	}
	r.mu.Unlock()
	return true, r.stream(br, w, &cfg)
}

// readReplyLine reads one line from the master, without its terminator.
func readReplyLine(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		chunk, err := br.ReadSlice('\n')
		sb.Write(chunk)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) && sb.Len() <= maxLineLen {
			continue
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			return "", protocolErrorf("too long reply line")
		}
		return "", err
	}
	s := strings.TrimSuffix(sb.String(), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// handshake runs PING, AUTH, REPLCONF and PSYNC.
func (r *Replica) handshake(br *bufio.Reader, w *masterWriter, cfg *ReplicaConfig, cached *cachedMaster) (psyncResult, error) {
	log := &cfg.Log
	if err := w.write(appendCommandStrings(nil, "PING")); err != nil {
		return psyncResult{}, wrapf(err, "sending PING to master")
	}
	reply, err := readReplyLine(br)
	if err != nil {
		return psyncResult{}, wrapf(err, "master did not respond to PING")
	}
	if !strings.HasPrefix(reply, "+") && !strings.HasPrefix(reply, "-NOAUTH") &&
		!strings.HasPrefix(reply, "-NOPERM") && !strings.HasPrefix(reply, "-ERR operation not permitted") {
		return psyncResult{}, fmt.Errorf("error reply to PING from master: '%s'", reply)
	}
	log.Info().Msg("Master replied to PING, replication can continue...")

	var burst []byte
	if cfg.MasterAuth != "" {
		if cfg.MasterUser != "" {
			burst = appendCommandStrings(burst, "AUTH", cfg.MasterUser, cfg.MasterAuth)
		} else {
			burst = appendCommandStrings(burst, "AUTH", cfg.MasterAuth)
		}
	}
	burst = appendCommandStrings(burst, "REPLCONF", "listening-port", itoa(cfg.ListeningPort))
	if cfg.AnnounceIP != "" {
		burst = appendCommandStrings(burst, "REPLCONF", "ip-address", cfg.AnnounceIP)
	}
	burst = appendCommandStrings(burst, "REPLCONF", "capa", "eof", "capa", "psync2")
	if err := w.write(burst); err != nil {
		return psyncResult{}, wrapf(err, "sending the handshake to master")
	}
	if cfg.MasterAuth != "" {
		reply, err := readReplyLine(br)
		if err != nil {
			return psyncResult{}, wrapf(err, "master did not respond to AUTH")
		}
		if strings.HasPrefix(reply, "-") {
			return psyncResult{}, fmt.Errorf("unable to AUTH to MASTER: %s", reply)
		}
	}
	what := []string{"REPLCONF listening-port"}
	if cfg.AnnounceIP != "" {
		what = append(what, "REPLCONF ip-address")
	}
	what = append(what, "REPLCONF capa")
	for _, cmd := range what {
		reply, err := readReplyLine(br)
		if err != nil {
			return psyncResult{}, wrapf(err, "master did not respond to %s", cmd)
		}
		if strings.HasPrefix(reply, "-") {
			log.Info().Msgf("(Non critical) Master does not understand %s: %s", cmd, reply)
		}
	}

	replid, off := "?", "-1"
	if cached != nil {
		replid, off = cached.replid, formatOffset(cached.reploff+1)
		log.Info().Msgf("Trying a partial resynchronization (request %s:%s).", replid, off)
	} else {
		log.Info().Msg("Partial resynchronization not possible (no cached master)")
	}
	if err := w.write(appendCommandStrings(nil, "PSYNC", replid, off)); err != nil {
		return psyncResult{}, wrapf(err, "sending PSYNC to master")
	}
	for {
		reply, err = readReplyLine(br)
		if err != nil {
			return psyncResult{}, wrapf(err, "master did not reply to PSYNC")
		}
		if reply != "" {
			break
		}
		// Newlines keep the link alive while the master prepares.
	}
	switch {
	case strings.HasPrefix(reply, "+FULLRESYNC"):
		f := strings.Fields(reply)
		res := psyncResult{kind: psyncFull, offset: -1}
		if len(f) >= 3 && len(f[1]) == ReplIDLen {
			res.replid = f[1]
			res.offset, _ = strconv.ParseInt(f[2], 10, 64)
			log.Info().Msgf("Full resync from master: %s:%d", res.replid, res.offset)
		} else {
			log.Warn().Msg("Master replied with wrong +FULLRESYNC syntax.")
		}
		return res, nil
	case strings.HasPrefix(reply, "+CONTINUE"):
		log.Info().Msg("Successful partial resynchronization with master.")
		if cached == nil {
			return psyncResult{}, protocolErrorf("+CONTINUE without a cached master")
		}
		res := psyncResult{kind: psyncContinue}
		if id := strings.TrimSpace(reply[len("+CONTINUE"):]); len(id) == ReplIDLen {
			res.replid = id
		}
		return res, nil
	case strings.HasPrefix(reply, "-NOMASTERLINK"), strings.HasPrefix(reply, "-LOADING"):
		return psyncResult{}, fmt.Errorf("%w: %s", errTryLater, reply)
	}
	if strings.HasPrefix(reply, "-ERR") {
		log.Info().Msgf("Master does not support PSYNC or is in error state (reply: %s)", reply)
	} else {
		log.Warn().Msgf("Unexpected reply to PSYNC from master: %s", reply)
	}
	log.Info().Msg("Retrying with SYNC...")
	if err := w.write([]byte("SYNC\r\n")); err != nil {
		return psyncResult{}, wrapf(err, "sending SYNC to master")
	}
	return psyncResult{kind: psyncSync, offset: -1}, nil
}

// continueSync resurrects the cached master after +CONTINUE [newid].
func (r *Replica) continueSync(cached *cachedMaster, newID string, cfg *ReplicaConfig) {
	cur := *cached
	if newID != "" && !strings.EqualFold(newID, cached.replid) {
		cfg.Log.Warn().Msgf("Master replication ID changed to %s", newID)
		cur.replid = newID
	}
	r.m.continueWithMaster(cached.replid, newID, cached.reploff)
	r.m.replicaDB.Store(int64(cur.db))
	r.m.setLinkUp(true)
	r.mu.Lock()
	r.db = cur.db
	r.reploff.Store(cur.reploff)
	r.readOff.Store(cur.reploff)
	r.cur = &cur
	r.cached = nil
	r.state = StateConnected
	r.downAt = time.Time{}
	r.mu.Unlock()
	cfg.Log.Info().Msg("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
}

// fullSync receives the RDB and loads it into the dataset.
func (r *Replica) fullSync(br *bufio.Reader, w *masterWriter, cc *countingConn, cfg *ReplicaConfig, res psyncResult, mode *atomic.Int32) error {
	log := &cfg.Log
	r.mu.Lock()
	r.state = StateTransfer
	r.xferConn = cc
	r.xferBase = cc.total.Load() - int64(br.Buffered())
	r.xferSize = -1
	r.mu.Unlock()

	var header string
	for {
		line, err := readReplyLine(br)
		if err != nil {
			return wrapf(err, "I/O error reading bulk count from MASTER")
		}
		if line == "" {
			continue // keepalive
		}
		if line[0] == '-' {
			return fmt.Errorf("MASTER aborted replication with an error: %s", line[1:])
		}
		if line[0] != '$' {
			return protocolErrorf("Bad protocol from MASTER, the first byte is not '$' (we received '%s'), are you sure the host and port are right?", truncate([]byte(line)))
		}
		header = line
		break
	}
	var mark string
	var size int64
	if strings.HasPrefix(header[1:], "EOF:") && len(header) >= 5+ReplIDLen {
		mark = header[5 : 5+ReplIDLen]
		log.Info().Msg("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser")
	} else {
		n, ok := resp.ParseInt(header[1:])
		if !ok || n <= 0 {
			return protocolErrorf("invalid RDB bulk length %q", truncate([]byte(header)))
		}
		size = n
		log.Info().Msgf("MASTER <-> REPLICA sync: receiving %d bytes from master to parser", size)
	}
	r.mu.Lock()
	r.xferSize = size
	r.xferBase = cc.total.Load() - int64(br.Buffered())
	r.mu.Unlock()

	ds := cfg.Dataset
	mode.Store(keepNewline)
	if err := ds.BeginFullSync(); err != nil {
		return wrapf(err, "starting the load of the master's data")
	}
	loaded := false
	defer func() {
		if !loaded {
			if err := ds.EndFullSync(false); err != nil {
				log.Warn().Msgf("Discarding the partially loaded data: %v", err)
			}
		}
	}()
	dec := rdb.NewDecoder(br, &rdb.DecoderOptions{Size: size, Databases: cfg.Databases, ReuseStrings: true})
	streamDB := 0
	hinter, _ := ds.(SizeHinter)
	for {
		rec, err := dec.NextRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			if isIOError(err) {
				return wrapf(err, "I/O error trying to sync with MASTER")
			}
			return &corruptError{wrapf(err, "failed trying to load the MASTER synchronization DB from socket")}
		}
		switch rec.Kind {
		case rdb.RecordAux:
			if string(rec.AuxKey) == "repl-stream-db" {
				if db, ok := parseDB(rec.AuxValue, cfg.Databases); ok {
					streamDB = db
				}
			}
		case rdb.RecordResizeDB:
			if hinter != nil {
				hinter.ResizeDB(rec.DB, rec.DBSize, rec.ExpiresSize)
			}
		case rdb.RecordFunction:
			if err := ds.LoadFunction(rec.Function); err != nil {
				return &corruptError{wrapf(err, "loading a function library from the MASTER")}
			}
		case rdb.RecordEntry:
			if err := ds.LoadEntry(&rec.Entry); err != nil {
				return &corruptError{wrapf(err, "loading key %q from the MASTER", truncate(rec.Entry.Key))}
			}
		}
	}
	if mark == "" {
		if left := size - dec.Offset(); left > 0 {
			if _, err := io.CopyN(io.Discard, br, left); err != nil {
				return wrapf(err, "I/O error trying to sync with MASTER")
			}
		}
	} else {
		got := make([]byte, ReplIDLen)
		if _, err := io.ReadFull(br, got); err != nil {
			return wrapf(err, "I/O error reading the EOF mark")
		}
		if string(got) != mark {
			return &corruptError{errors.New("replication stream EOF marker is broken")}
		}
	}
	log.Info().Msg("MASTER <-> REPLICA sync: Swapping active DB with loaded DB")
	if err := ds.EndFullSync(true); err != nil {
		loaded = true
		return &corruptError{wrapf(err, "swapping in the MASTER's data")}
	}
	loaded = true

	cur := &cachedMaster{replid: res.replid, reploff: res.offset, db: streamDB}
	if res.kind == psyncSync || res.replid == "" || res.offset < 0 {
		// No usable replication ID/offset: this master cannot be
		// PSYNCed with later, and gets no ACKs (old SYNC protocol).
		cur.prePSYNC = res.kind == psyncSync || res.offset < 0
		if cur.replid == "" {
			cur.replid = NewReplID()
		}
		cur.reploff = max(cur.reploff, 0)
	}
	r.m.attachToNewMaster(cur.replid, cur.reploff)
	r.m.replicaDB.Store(int64(streamDB))
	r.m.setLinkUp(true)
	r.mu.Lock()
	r.db = streamDB
	r.reploff.Store(cur.reploff)
	r.readOff.Store(cur.reploff + int64(br.Buffered()))
	r.cur = cur
	r.cached = nil
	r.state = StateConnected
	r.downAt = time.Time{}
	r.xferConn = nil
	r.mu.Unlock()
	log.Info().Msg("MASTER <-> REPLICA sync: Finished with success")
	if mark != "" {
		// The master starts the stream at our first ACK.
		if err := w.write(ackCommand(cur.reploff)); err != nil {
			return wrapf(err, "sending the first ACK")
		}
	}
	return nil
}

// stream applies the command stream until an error.
//
// Commands whole in the read buffer are applied as one batch (Redis's
// processInputBuffer runs everything one read brought): applyMu is taken
// once for the batch, their bytes are fed to the backlog and sub-replicas
// at once, and the processed offset moves at the end of the batch. A batch
// ends before any read that could block, before an ACK is sent, and when
// the buffer holds no whole command.
func (r *Replica) stream(br *bufio.Reader, w *masterWriter, cfg *ReplicaConfig) error {
	sr := newStreamReader(br)
	b := &applyBatch{r: r}
	b.ender, _ = cfg.Dataset.(BatchEnder)
	defer b.end()
	for {
		kind, ok := itemKind(0), false
		if b.open {
			ok = sr.tryNextBuffered()
			if ok {
				kind = itemCommand
			}
		}
		if !ok {
			b.end()
			r.readOff.Store(r.reploff.Load() + int64(br.Buffered()))
			var err error
			kind, err = sr.next()
			if err != nil {
				var pe *ProtocolError
				if errors.As(err, &pe) {
					cfg.Log.Warn().Msgf("Protocol error from MASTER, closing the connection and discarding the cached master: %v", err)
				}
				return err
			}
		}
		switch kind {
		case itemKeepalive:
			continue
		case itemEmpty:
			b.begin()
			b.raw = append(b.raw, sr.raw...)
		case itemCommand:
			if err := r.process(sr, w, cfg, b); err != nil {
				return err
			}
		}
	}
}

// BatchEnder is an optional interface of a Dataset: EndBatch is called
// after a run of Apply/ApplyTx calls made back to back (the commands one
// read of the stream brought), e.g. to drop a clock reading cached for
// the batch.
type BatchEnder interface {
	EndBatch()
}

// applyBatch is the run of stream commands being applied (see stream).
type applyBatch struct {
	r     *Replica
	ender BatchEnder
	open  bool   // applyMu is held
	raw   []byte // bytes processed in the batch, not yet fed nor counted
}

// begin opens the batch (takes applyMu) if it is not open.
func (b *applyBatch) begin() {
	if !b.open {
		b.r.m.applyMu.Lock()
		b.open = true
	}
}

// end feeds the batch's bytes, advances the processed offset and releases
// applyMu.
func (b *applyBatch) end() {
	if !b.open {
		return
	}
	if b.ender != nil {
		b.ender.EndBatch()
	}
	if len(b.raw) > 0 {
		b.r.m.FeedRaw(b.raw)
		b.r.reploff.Add(int64(len(b.raw)))
	}
	if cap(b.raw) > 1<<20 {
		b.raw = nil
	} else {
		b.raw = b.raw[:0]
	}
	b.open = false
	b.r.m.applyMu.Unlock()
}

// process handles one command of the stream.
func (r *Replica) process(sr *streamReader, w *masterWriter, cfg *ReplicaConfig, b *applyBatch) error {
	args, raw := sr.args, sr.raw
	name := args[0]
	if r.inTx {
		r.txRaw = append(r.txRaw, raw...)
		switch {
		case equalFold(name, "exec"):
			b.begin()
			if len(r.txOps) > 0 {
				cfg.Dataset.ApplyTx(r.txOps)
			}
			b.raw = append(b.raw, r.txRaw...)
			r.setDB(r.txDB)
			r.endTx()
		case equalFold(name, "discard"):
			b.begin()
			b.raw = append(b.raw, r.txRaw...)
			r.endTx()
		case equalFold(name, "select"):
			if len(args) == 2 {
				if db, ok := parseDB(args[1], cfg.Databases); ok {
					r.txDB = db
				}
			}
		case equalFold(name, "multi"), equalFold(name, "ping"), equalFold(name, "replconf"):
			// Nested MULTI is an error in Redis; the others do nothing.
		default:
			cp := make([][]byte, len(args))
			for i, a := range args {
				cp[i] = append([]byte(nil), a...)
			}
			r.txOps = append(r.txOps, Op{DB: r.txDB, Args: cp})
		}
		return nil
	}
	apply := false
	switch {
	case equalFold(name, "multi"):
		r.inTx = true
		r.txDB = r.db
		r.txRaw = append(r.txRaw[:0], raw...)
		return nil
	case equalFold(name, "replconf"):
		if len(args) >= 2 && equalFold(args[1], "getack") {
			// The ACK reports the offset before this command: what the
			// batch processed is counted first.
			b.end()
			if err := w.write(ackCommand(r.reploff.Load())); err != nil {
				return wrapf(err, "sending ACK to master")
			}
		}
	case equalFold(name, "select"):
		if len(args) == 2 {
			if db, ok := parseDB(args[1], cfg.Databases); ok {
				r.setDB(db)
			} else {
				cfg.Log.Warn().Msgf("Invalid SELECT from MASTER: %q", truncate(args[1]))
			}
		}
	case equalFold(name, "ping"), equalFold(name, "exec"), equalFold(name, "discard"):
	default:
		apply = true
	}
	b.begin()
	if apply {
		cfg.Dataset.Apply(r.db, args)
	}
	b.raw = append(b.raw, raw...)
	return nil
}

func (r *Replica) setDB(db int) {
	if db != r.db {
		r.db = db
		r.m.replicaDB.Store(int64(db))
	}
}

func (r *Replica) endTx() {
	r.inTx = false
	r.txOps = nil
	if cap(r.txRaw) > 1<<20 {
		r.txRaw = nil
	} else {
		r.txRaw = r.txRaw[:0]
	}
}
