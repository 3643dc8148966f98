package replication

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redcluster/redcluster/internal/rdb"
	"github.com/redcluster/redcluster/internal/resp"
)

// Errors of Master.Serve.
var (
	// ErrNoSnapshot is returned when a full sync is needed but the Master
	// has no SnapshotFunc.
	ErrNoSnapshot = errors.New("replication: no snapshot producer")
	// ErrSnapshotNoBegin is returned when a SnapshotFunc returned without
	// calling Begin.
	ErrSnapshotNoBegin = errors.New("replication: snapshot did not call Begin")
)

// CheckSync validates a SYNC or PSYNC request (args[0] is the command name)
// before the connection is handed to Serve. A non-empty errMsg is the error
// to reply (without "-"); the connection then stays a normal client.
// failover is true for "PSYNC <our replid> <offset> FAILOVER" on a replica:
// the server must promote itself (Replica.UnsetMaster) before calling
// Serve (which ignores the FAILOVER argument). The server also refuses, itself, SYNC/PSYNC from a client with
// pending output ("ERR SYNC and PSYNC are invalid with pending output") and
// ignores them from a client that already is a replica.
func (m *Master) CheckSync(args [][]byte, lc *LinkConf) (errMsg string, failover bool) {
	psync := len(args) > 0 && equalFold(args[0], "psync")
	if psync && len(args) < 3 {
		return "ERR wrong number of arguments for 'psync' command", false
	}
	m.mu.Lock()
	replicaMode, linkUp, replid := m.replicaMode, m.linkUp, m.replid
	m.mu.Unlock()
	if psync && len(args) > 3 && equalFold(args[3], "failover") {
		if !replicaMode {
			return "ERR PSYNC FAILOVER can't be sent to a master.", false
		}
		if !strings.EqualFold(string(args[1]), replid) {
			return "ERR PSYNC FAILOVER replid must match my replid.", false
		}
		failover = true
	}
	if replicaMode && !linkUp && !failover {
		return "NOMASTERLINK Can't SYNC while not connected with my master", false
	}
	if (lc.ExcludeData || lc.ExcludeFunctions) && !lc.CapaEOF {
		return "ERR Filtered replica requires EOF capability", false
	}
	if psync {
		if _, ok := resp.ParseInt(args[2]); !ok {
			return "ERR value is not an integer or out of range", false
		}
	}
	return "", failover
}

// Serve takes over the connection of a client that sent SYNC or PSYNC
// (args) after CheckSync accepted it. pending holds input bytes the server
// already read past the command (normally none). It answers +CONTINUE and
// the backlog, or +FULLRESYNC and an RDB, then streams the replication
// stream and reads the replica's REPLCONF ACKs, until the link fails or is
// dropped. It closes conn and returns why the link ended.
func (m *Master) Serve(conn net.Conn, pending []byte, lc LinkConf, args [][]byte) error {
	if len(args) > 3 {
		// PSYNC ... FAILOVER: CheckSync already had the server promote.
		args = args[:3]
	}
	if msg, failover := m.CheckSync(args, &lc); msg != "" || failover {
		if msg == "" {
			msg = "ERR PSYNC FAILOVER needs a promotion first"
		}
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		conn.Write([]byte("-" + msg + "\r\n"))
		conn.Close()
		return errors.New(msg)
	}
	psync := equalFold(args[0], "psync")
	l := newLink(m, conn, lc, !psync)
	var in io.Reader = conn
	if len(pending) > 0 {
		in = io.MultiReader(bytes.NewReader(append([]byte(nil), pending...)), conn)
	}
	sr := newStreamReader(bufio.NewReaderSize(in, 16<<10))
	sr.inline = true

	m.mu.Lock()
	m.nextID++
	l.id = m.nextID
	m.log.Info().Msgf("Replica %s asks for synchronization", l.name())
	if psync {
		replid := string(args[1])
		off, _ := resp.ParseInt(args[2])
		d := DecidePSYNC(replid, off, lc.CapaPSYNC2, m.psyncStateLocked())
		if d.Partial {
			m.stats.PartialOK++
			l.state = linkOnline
			l.accumulate = true
			l.streaming = true
			l.ackTime = time.Now()
			l.out = append(l.out, d.Reply...)
			l.out, _ = m.backlog.AppendFrom(l.out, off)
			sent := int64(len(l.out) - len(d.Reply))
			m.links = append(m.links, l)
			m.mu.Unlock()
			m.log.Info().Msgf("Partial resynchronization request from %s accepted. Sending %d bytes of backlog starting from offset %d.",
				l.name(), sent, off)
			l.signal()
			return m.run(l, sr, nil)
		}
		m.log.Info().Msg(d.Reason)
		if !strings.HasPrefix(replid, "?") {
			m.stats.PartialErr++
		}
	}
	m.stats.Full++
	l.state = linkWaitBgsaveStart
	m.links = append(m.links, l)
	if len(m.links) == 1 && m.backlog == nil {
		// A new history: new ID, no secondary ID.
		m.replid = NewReplID()
		m.replid2 = ZeroReplID
		m.secondOffset = -1
		m.backlog = NewBacklog(m.cfg.BacklogSize, m.offset)
		m.updateFeeding()
		m.log.Info().Msgf("Replication backlog created, my new replication IDs are '%s' and '%s'", m.replid, m.replid2)
	}
	m.mu.Unlock()
	return m.run(l, sr, m.fullSync)
}

// psyncStateLocked returns the state DecidePSYNC needs. Called with mu held.
func (m *Master) psyncStateLocked() PsyncState {
	return PsyncState{ReplID: m.replid, ReplID2: m.replid2, SecondOffset: m.secondOffset, Backlog: m.backlog}
}

// run drives an attached link until it ends: its reader and writer
// goroutines, and the full sync when fullSync is not nil.
func (m *Master) run(l *link, sr *streamReader, fullSync func(*link) error) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); l.readLoop(sr) }()
	go func() { defer wg.Done(); l.writeLoop() }()
	if fullSync != nil {
		if err := fullSync(l); err != nil {
			m.log.Warn().Msgf("Full synchronization with replica %s failed: %v", l.name(), err)
			l.close(err)
		}
	}
	<-l.done
	wg.Wait()
	m.removeLink(l)
	if l.err != nil && !errors.Is(l.err, errRDBOnlyDone) {
		m.log.Info().Msgf("Connection with replica %s lost: %v", l.name(), l.err)
	}
	return l.err
}

// removeLink detaches a link.
func (m *Master) removeLink(l *link) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range m.links {
		if x == l {
			m.links = append(m.links[:i], m.links[i+1:]...)
			if len(m.links) == 0 {
				m.noReplicas = time.Now()
			}
			break
		}
	}
	l.out, l.spare = nil, nil
}

var errRDBOnlyDone = errString("RDB transfer completed, rdb only replica disconnected")

// fullSync produces the RDB for a link and puts it online.
func (m *Master) fullSync(l *link) error {
	if m.snapshot == nil {
		return ErrNoSnapshot
	}
	m.mu.Lock()
	diskless := (m.cfg.Diskless || l.conf.ExcludeData || l.conf.ExcludeFunctions) && l.conf.CapaEOF
	dir := m.cfg.TempDir
	m.mu.Unlock()
	m.log.Info().Msgf("Starting BGSAVE for SYNC with target: %s", map[bool]string{true: "replicas sockets", false: "disk"}[diskless])
	var err error
	if diskless {
		err = m.syncDiskless(l)
	} else {
		err = m.syncDisk(l, dir)
	}
	if err != nil {
		return err
	}
	m.putOnline(l, diskless)
	return nil
}

// takeSnapshot runs the SnapshotFunc writing to w. onBegin receives the
// +FULLRESYNC line at the snapshot point.
func (m *Master) takeSnapshot(l *link, w io.Writer, onBegin func(line string)) error {
	m.applyMu.Lock()
	var once sync.Once
	unlock := func() { once.Do(m.applyMu.Unlock) }
	defer unlock()
	began := false
	req := &SnapshotRequest{
		ExcludeData:      l.conf.ExcludeData,
		ExcludeFunctions: l.conf.ExcludeFunctions,
	}
	req.Begin = func() *rdb.ReplInfo {
		if began {
			panic("replication: SnapshotRequest.Begin called twice")
		}
		began = true
		m.mu.Lock()
		info := m.replInfoLocked()
		l.state = linkWaitBgsaveEnd
		l.accumulate = !l.conf.RDBOnly
		m.seldb = -1 // the new replica's stream starts with SELECT
		m.mu.Unlock()
		unlock()
		onBegin(FullResyncLine(info.ID, info.Offset))
		return info
	}
	err := m.snapshot(w, req)
	if err == nil && !began {
		err = ErrSnapshotNoBegin
	}
	return err
}

// ReplInfo returns the replication info to save in an RDB (BGSAVE, SAVE,
// full syncs): repl-stream-db, repl-id and repl-offset, or nil when the
// node has none (a master without backlog, rdbPopulateSaveInfo).
func (m *Master) ReplInfo() *rdb.ReplInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.replicaMode && m.backlog == nil {
		return nil
	}
	return m.replInfoLocked()
}

func (m *Master) replInfoLocked() *rdb.ReplInfo {
	db := max(m.seldb, 0)
	if m.replicaMode {
		db = int(m.replicaDB.Load())
	}
	return &rdb.ReplInfo{StreamDB: db, ID: m.replid, Offset: m.offset}
}

// deadlineWriter sets a write deadline before every write.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.c.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.c.Write(p)
}

// syncDiskless streams the RDB to the replica in the EOF form:
// [+FULLRESYNC line] "$EOF:<mark>\r\n" RDB <mark>.
func (m *Master) syncDiskless(l *link) error {
	mark := newEOFMark()
	bw := bufio.NewWriterSize(deadlineWriter{l.conn, m.Config().Timeout}, 64<<10)
	header := ""
	err := m.takeSnapshot(l, &prefixWriter{w: bw, prefix: &header}, func(line string) {
		if l.prePSYNC {
			line = ""
		}
		header = line + "$EOF:" + mark + "\r\n"
	})
	if err != nil {
		return err
	}
	if header != "" { // nothing written (impossible for a valid RDB)
		bw.WriteString(header)
	}
	bw.WriteString(mark)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing RDB to replica: %w", err)
	}
	return nil
}

// prefixWriter writes *prefix before the first byte.
type prefixWriter struct {
	w      *bufio.Writer
	prefix *string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if *p.prefix != "" {
		if _, err := p.w.WriteString(*p.prefix); err != nil {
			return 0, err
		}
		*p.prefix = ""
	}
	return p.w.Write(b)
}

// newEOFMark returns 40 random hex characters.
func newEOFMark() string {
	var b [ReplIDLen / 2]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// syncDisk buffers the RDB in a temporary file, sending newlines to the
// replica while it is produced, then sends [+FULLRESYNC line] "$<len>\r\n"
// and the file.
func (m *Master) syncDisk(l *link, dir string) error {
	f, err := os.CreateTemp(dir, "redcluster-sync-*.rdb")
	if err != nil {
		return fmt.Errorf("creating the RDB file for SYNC: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	timeout := m.Config().Timeout
	dw := deadlineWriter{l.conn, timeout}
	begun := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(f, 256<<10)
		err := m.takeSnapshot(l, bw, func(line string) { begun <- line })
		if err == nil {
			err = bw.Flush()
		}
		done <- err
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var snapErr error
wait:
	for {
		select {
		case line := <-begun:
			if !l.prePSYNC {
				if _, err := io.WriteString(dw, line); err != nil {
					<-done
					return err
				}
			}
		case <-tick.C:
			// Keepalive while the replica waits for the RDB.
			if _, err := dw.Write([]byte{'\n'}); err != nil {
				<-done
				return err
			}
		case snapErr = <-done:
			break wait
		}
	}
	if snapErr != nil {
		return snapErr
	}
	// The +FULLRESYNC line may still be in the channel.
	select {
	case line := <-begun:
		if !l.prePSYNC {
			if _, err := io.WriteString(dw, line); err != nil {
				return err
			}
		}
	default:
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	m.mu.Lock()
	l.state = linkSendBulk
	m.mu.Unlock()
	if _, err := fmt.Fprintf(dw, "$%d\r\n", size); err != nil {
		return err
	}
	if _, err := io.CopyBuffer(dw, io.LimitReader(f, size), make([]byte, 64<<10)); err != nil {
		return fmt.Errorf("sending RDB to replica: %w", err)
	}
	return nil
}

// putOnline marks a link online after its RDB was sent (replicaPutOnline):
// disk form replicas start streaming at once, EOF form ones at their first
// ACK; rdb-only replicas are disconnected.
func (m *Master) putOnline(l *link, eofForm bool) {
	m.mu.Lock()
	if l.conf.RDBOnly {
		l.state = linkRDBTransmitted
		m.mu.Unlock()
		m.log.Info().Msgf("RDB transfer completed, rdb only replica (%s) should be disconnected asap", l.name())
		l.close(errRDBOnlyDone)
		return
	}
	l.state = linkOnline
	l.ackTime = time.Now()
	if eofForm && !l.acked {
		l.startOnAck = true
	} else {
		l.streaming = true
		l.signal()
	}
	m.mu.Unlock()
	m.log.Info().Msgf("Synchronization with replica %s succeeded", l.name())
}
