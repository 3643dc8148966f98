package failover

// Manual is the manual failover state shared by both sides
// (cluster-behaviour.md §8): mf_end, mf_can_start and mf_master_offset.
// The master side also remembers the replica (kept by the caller).
type Manual struct {
	// End is when the manual failover is aborted (ms), 0 when none runs.
	End int64
	// CanStart: the replica may start its election (offset reached, or
	// FORCE).
	CanStart bool
	// MasterOffset is the paused master's replication offset, -1 until a
	// PAUSED packet from the master told it.
	MasterOffset int64
}

// NewManual returns the idle state.
func NewManual() Manual { return Manual{MasterOffset: -1} }

// Reset is resetManualFailover's state part: no manual failover.
func (m *Manual) Reset() { *m = NewManual() }

// Begin starts a manual failover at now (both sides): it must end within
// MFTimeout.
func (m *Manual) Begin(now int64) {
	m.Reset()
	m.End = now + MFTimeout
}

// Active reports whether a manual failover is in progress.
func (m *Manual) Active() bool { return m.End != 0 }

// Expired reports whether the running manual failover timed out
// (manualFailoverCheckTimeout).
func (m *Manual) Expired(now int64) bool { return m.End != 0 && m.End < now }

// PausedOffset takes the offset of the first PAUSED packet from my master
// during a manual failover; it reports whether it took it.
func (m *Manual) PausedOffset(offset int64) bool {
	if m.End == 0 || m.MasterOffset != -1 {
		return false
	}
	m.MasterOffset = offset
	return true
}

// Progress is clusterHandleManualFailover on the replica: once my processed
// replication offset equals the paused master's, the election may start.
// It reports whether it just became startable.
func (m *Manual) Progress(myOffset int64) bool {
	if m.End == 0 || m.CanStart || m.MasterOffset == -1 {
		return false
	}
	if m.MasterOffset == myOffset {
		m.CanStart = true
		return true
	}
	return false
}
