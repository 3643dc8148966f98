package replication

import (
	"strconv"
	"time"
)

// AttachedReplica describes an attached replica (INFO's slave<i> line,
// ROLE).
type AttachedReplica struct {
	ID     uint64
	IP     string // announced ip-address, else the connection's address
	Port   int    // REPLCONF listening-port
	State  string // wait_bgsave, send_bulk, online; "" when done (rdb-only)
	Offset int64  // last acknowledged offset
	Lag    int64  // seconds since the last ACK (online replicas), else 0
}

// MasterInfo is a snapshot of the master-side state for INFO replication.
type MasterInfo struct {
	ReplicaMode      bool
	ReplID           string
	ReplID2          string
	Offset           int64 // master_repl_offset
	SecondOffset     int64 // second_repl_offset
	BacklogActive    bool
	BacklogSize      int64
	BacklogFirstByte int64 // 0 without backlog
	BacklogHistLen   int64
	Replicas         []AttachedReplica
}

// Info returns a snapshot of the state.
func (m *Master) Info() MasterInfo {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	mi := MasterInfo{
		ReplicaMode:  m.replicaMode,
		ReplID:       m.replid,
		ReplID2:      m.replid2,
		Offset:       m.offset,
		SecondOffset: m.secondOffset,
		BacklogSize:  int64(m.cfg.BacklogSize),
	}
	if b := m.backlog; b != nil {
		mi.BacklogActive = true
		mi.BacklogSize = int64(b.Size())
		mi.BacklogFirstByte = b.FirstByteOffset()
		mi.BacklogHistLen = b.HistLen()
	}
	for _, l := range m.links {
		r := AttachedReplica{ID: l.id, IP: l.addr(), Port: l.conf.ListeningPort, State: l.state.String(), Offset: l.ackOff}
		if l.state == linkOnline {
			r.Lag = int64(now.Sub(l.ackTime) / time.Second)
		}
		mi.Replicas = append(mi.Replicas, r)
	}
	return mi
}

// InfoOptions are the settings INFO replication shows that this package
// does not own.
type InfoOptions struct {
	ReplicaPriority    int  // replica-priority (slave_priority)
	ReplicaReadOnly    bool // replica-read-only
	ReplicaAnnounced   bool // replica-announced
	MinReplicasToWrite int  // min-replicas-to-write
	MinReplicasMaxLag  int  // min-replicas-max-lag (seconds)
	// FailoverState is master_failover_state ("" = no-failover).
	FailoverState string
}

// AppendInfo appends the "# Replication" section of INFO, field for field
// as Redis 7.0 writes it. ri is nil on a master.
func AppendInfo(dst []byte, mi *MasterInfo, ri *ReplicaInfo, opts InfoOptions) []byte {
	kv := func(k string, v string) {
		dst = append(dst, k...)
		dst = append(dst, ':')
		dst = append(dst, v...)
		dst = append(dst, '\r', '\n')
	}
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	b01 := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	dst = append(dst, "# Replication\r\n"...)
	if ri == nil {
		kv("role", "master")
	} else {
		kv("role", "slave")
		kv("master_host", ri.Host)
		kv("master_port", strconv.Itoa(ri.Port))
		kv("master_link_status", map[bool]string{true: "up", false: "down"}[ri.LinkUp])
		kv("master_last_io_seconds_ago", itoa(ri.LastIOSecondsAgo))
		kv("master_sync_in_progress", b01(ri.SyncInProgress))
		kv("slave_read_repl_offset", itoa(ri.ReadReplOffset))
		kv("slave_repl_offset", itoa(ri.ReplOffset))
		if ri.SyncInProgress {
			perc := 0.0
			if ri.SyncTotalBytes != 0 {
				perc = float64(ri.SyncReadBytes) / float64(ri.SyncTotalBytes) * 100
			}
			kv("master_sync_total_bytes", itoa(ri.SyncTotalBytes))
			kv("master_sync_read_bytes", itoa(ri.SyncReadBytes))
			kv("master_sync_left_bytes", itoa(ri.SyncTotalBytes-ri.SyncReadBytes))
			kv("master_sync_perc", strconv.FormatFloat(perc, 'f', 2, 64))
			kv("master_sync_last_io_seconds_ago", itoa(ri.SyncLastIOSecondsAgo))
		}
		if !ri.LinkUp {
			kv("master_link_down_since_seconds", itoa(ri.LinkDownSinceSeconds))
		}
		kv("slave_priority", strconv.Itoa(opts.ReplicaPriority))
		kv("slave_read_only", b01(opts.ReplicaReadOnly))
		kv("replica_announced", b01(opts.ReplicaAnnounced))
	}
	kv("connected_slaves", strconv.Itoa(len(mi.Replicas)))
	if opts.MinReplicasToWrite > 0 && opts.MinReplicasMaxLag > 0 {
		good := 0
		for _, r := range mi.Replicas {
			if r.State == "online" && r.Lag <= int64(opts.MinReplicasMaxLag) {
				good++
			}
		}
		kv("min_slaves_good_slaves", strconv.Itoa(good))
	}
	i := 0
	for _, r := range mi.Replicas {
		if r.State == "" {
			continue
		}
		dst = append(dst, "slave"...)
		dst = strconv.AppendInt(dst, int64(i), 10)
		i++
		dst = append(dst, ":ip="...)
		dst = append(dst, r.IP...)
		dst = append(dst, ",port="...)
		dst = strconv.AppendInt(dst, int64(r.Port), 10)
		dst = append(dst, ",state="...)
		dst = append(dst, r.State...)
		dst = append(dst, ",offset="...)
		dst = strconv.AppendInt(dst, r.Offset, 10)
		dst = append(dst, ",lag="...)
		dst = strconv.AppendInt(dst, r.Lag, 10)
		dst = append(dst, '\r', '\n')
	}
	fs := opts.FailoverState
	if fs == "" {
		fs = "no-failover"
	}
	kv("master_failover_state", fs)
	kv("master_replid", mi.ReplID)
	kv("master_replid2", mi.ReplID2)
	kv("master_repl_offset", itoa(mi.Offset))
	kv("second_repl_offset", itoa(mi.SecondOffset))
	kv("repl_backlog_active", b01(mi.BacklogActive))
	kv("repl_backlog_size", itoa(mi.BacklogSize))
	kv("repl_backlog_first_byte_offset", itoa(mi.BacklogFirstByte))
	kv("repl_backlog_histlen", itoa(mi.BacklogHistLen))
	return dst
}
