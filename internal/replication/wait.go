package replication

import (
	"context"
	"time"
)

// AckCount returns how many online replicas acknowledged offset
// (replicationCountAcksByOffset): WAIT's reply when it does not block.
func (m *Master) AckCount(offset int64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ackCountLocked(offset)
}

func (m *Master) ackCountLocked(offset int64) int {
	n := 0
	for _, l := range m.links {
		if l.state == linkOnline && l.ackOff >= offset {
			n++
		}
	}
	return n
}

// WaitAcks implements a blocking WAIT: it returns as soon as numreplicas
// online replicas acknowledged offset (the client's last write offset, as
// returned by Feed), or when ctx ends (WAIT's timeout, client gone), with
// the count reached. It asks the replicas for an ACK (REPLCONF GETACK) if
// the count is not reached at once.
func (m *Master) WaitAcks(ctx context.Context, offset int64, numreplicas int) int {
	m.mu.Lock()
	n := m.ackCountLocked(offset)
	m.mu.Unlock()
	if n >= numreplicas {
		return n
	}
	m.RequestAck()
	for {
		m.mu.Lock()
		ch := m.ackCh
		n = m.ackCountLocked(offset)
		m.mu.Unlock()
		if n >= numreplicas {
			return n
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return m.AckCount(offset)
		}
	}
}

// AckNotify returns a channel closed at the next ACK received from any
// replica, for callers that multiplex WAIT with other events.
func (m *Master) AckNotify() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ackCh
}

// GoodReplicas returns the number of online replicas whose last ACK is at
// most maxLag seconds old (min-replicas-to-write / min-replicas-max-lag).
func (m *Master) GoodReplicas(maxLag int64) int {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, l := range m.links {
		if l.state == linkOnline && int64(now.Sub(l.ackTime)/time.Second) <= maxLag {
			n++
		}
	}
	return n
}
