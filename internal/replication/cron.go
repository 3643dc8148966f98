package replication

import "time"

// cronLoop runs the periodic replication tasks once per second
// (replicationCron).
func (m *Master) cronLoop() {
	defer m.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var loops int64
	for {
		select {
		case <-m.closed:
			return
		case now := <-t.C:
			m.cron(now, loops)
			loops++
		}
	}
}

// cron feeds the periodic PING, drops replicas that stopped acknowledging
// and frees an unused backlog after repl-backlog-ttl.
func (m *Master) cron(now time.Time, loops int64) {
	m.mu.Lock()
	// A safety net: writers left asleep by a FeedMultiDeferred whose
	// caller did not Flush are woken within a second.
	m.flushLocked()
	cfg := m.cfg
	period := max(int64(cfg.PingPeriod/time.Second), 1)
	if loops%period == 0 && len(m.links) > 0 && !m.replicaMode && m.backlog != nil &&
		(cfg.PingPaused == nil || !cfg.PingPaused()) {
		m.feedRawCmd(-1, pingCmd)
	}
	var timedOut []*link
	timeoutSecs := int64(cfg.Timeout / time.Second)
	for _, l := range m.links {
		if l.state == linkOnline && !l.prePSYNC && int64(now.Sub(l.ackTime)/time.Second) > timeoutSecs {
			timedOut = append(timedOut, l)
		}
	}
	if len(m.links) == 0 && !m.replicaMode && m.backlog != nil && cfg.BacklogTTL > 0 &&
		now.Sub(m.noReplicas) > cfg.BacklogTTL {
		m.replid = NewReplID()
		m.replid2 = ZeroReplID
		m.secondOffset = -1
		m.backlog = nil
		m.lastGetack = -1
		m.updateFeeding()
		m.log.Info().Msgf("Replication backlog freed after %d seconds without connected replicas.", int64(cfg.BacklogTTL/time.Second))
	}
	m.mu.Unlock()
	for _, l := range timedOut {
		m.log.Warn().Msgf("Disconnecting timedout replica (streaming sync): %s", l.name())
		l.close(errString("replica timed out"))
	}
}
