package server

import (
	"time"

	"github.com/redcluster/redcluster/internal/pollclock"
)

// afterCommand runs after every command, with the slot locks released:
// it serves clients blocked on keys that became ready.
func (s *Server) afterCommand(c *Ctx) {
	s.handleBlockedOnKeys(c)
}

// onClientClose releases what a closing client holds: subscriptions,
// blocked waits, watched keys.
func (s *Server) onClientClose(c *Client) {
	s.dropBlocked(c)
	s.unsubscribeAll(c)
}

// memoryOK reports whether a command flagged denyoom may run (maxmemory,
// after eviction has had its chance).
func (s *Server) memoryOK(c *Client) bool { return s.checkMemory() }

// startCron starts the periodic tasks (active expiry, stats sampling) and,
// in cluster mode, the cluster bus's cron after them, as serverCron runs
// clusterCron: one pollclock wakes an idle process once per tick instead
// of one timer per cron (pollclock's comment has the figures).
func (s *Server) startCron() {
	clock := pollclock.New(100 * time.Millisecond)
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		<-s.closing
		clock.Close()
	}()
	go func() {
		defer s.wg.Done()
		for clock.Wait() {
			s.cron()
			if r, ok := s.Router.(*clusterRouter); ok {
				r.bus.Cron() // no lock held here: the bus's callbacks take the server's
			}
		}
	}()
}

// cron is one 100 ms tick (Redis's serverCron at hz 10).
func (s *Server) cron() {
	// CLIENT PAUSE WRITE stops active expiry and eviction, as in Redis;
	// DEBUG SET-ACTIVE-EXPIRE 0 stops active expiry.
	paused := s.WritesPaused()
	// A replica leaves expiry to its master, which sends DELs.
	if s.ActiveExpireEnabled() && !paused && !s.IsReplica() {
		s.activeExpireCycle()
	}
	if !paused {
		s.memoryCron()
	}
	s.sampleStats()
	// BGSAVE at the save points, or when one was scheduled.
	s.persistCron()
	// Keys made ready outside a command (none today; replication and
	// migration later) still wake their blocked clients.
	if s.blocking.readyN.Load() > 0 {
		s.serveReadyKeys()
	}
}
