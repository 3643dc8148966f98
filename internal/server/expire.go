package server

import (
	"sync"
	"time"

	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/store"
)

// Active expiry, after Redis's activeExpireCycle: every cron tick walks
// the slots holding keys with a TTL, from a cursor kept per database, and
// deletes the expired keys it meets. It repeats while more than
// expireAcceptableStale percent of a sample had expired, within a time
// budget of expireCycleBudget per tick (25% of the 100 ms period).
const (
	expireKeysPerLoop     = 20  // ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP
	expireAcceptableStale = 10  // percent; Redis 7.0 with active-expire-effort 1
	expireMaxPerSlotVisit = 512 // bounds the work under one slot lock
	expireCycleBudget     = 25 * time.Millisecond
)

// expireState is the active expiry's position: the next slot to visit in
// each database.
type expireState struct {
	mu     sync.Mutex
	cursor []int
	nextDB int      // where the next tick starts, so every database gets its turn
	keys   []string // reused buffer of the keys of one slot visit
}

// activeExpireCycle runs one tick's worth of active expiry.
func (s *Server) activeExpireCycle() {
	st := &s.activeExpire
	st.mu.Lock()
	defer st.mu.Unlock()
	dbs := s.KS.DBs
	if len(st.cursor) != len(dbs) {
		st.cursor = make([]int, len(dbs))
	}
	deadline := time.Now().Add(expireCycleBudget)
	for n := 0; n < len(dbs); n++ {
		i := (st.nextDB + n) % len(dbs)
		if dbs[i].ExpiresCount() == 0 {
			continue
		}
		if !s.expireDB(dbs[i], &st.cursor[i], deadline) {
			st.nextDB = i + 1 // out of time: the next database goes first next tick
			return
		}
	}
	st.nextDB = 0
}

// expireDB samples the volatile keys of one database from *cursor on,
// repeating while the sample was stale enough. It returns false when the
// time budget ran out.
func (s *Server) expireDB(db *store.DB, cursor *int, deadline time.Time) bool {
	for db.ExpiresCount() > 0 {
		sampled, expired, visited := 0, 0, 0
		for sampled < expireKeysPerLoop && visited < slots.Count {
			// Jump to the next slot holding volatile keys; visited counts
			// the slots passed, so one call covers the ring at most once.
			slot, ok := db.NextVolatileSlot(*cursor)
			if !ok {
				break
			}
			visited += (slot-*cursor+slots.Count)%slots.Count + 1
			*cursor = (slot + 1) % slots.Count
			n, e := s.expireSlot(db, slot)
			sampled += n
			expired += e
			if (n > 0 || visited%64 == 0) && time.Now().After(deadline) {
				return false
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		if sampled == 0 || expired*100 <= sampled*expireAcceptableStale {
			return true
		}
	}
	return true
}

// expireSlot checks up to expireMaxPerSlotVisit volatile keys of one slot
// under its lock, deleting the expired ones through the same path as lazy
// expiry (the Expired hook counts them and touches WATCHed keys).
func (s *Server) expireSlot(db *store.DB, slot int) (sampled, expired int) {
	st := &s.activeExpire
	s.KS.Lock(slot)
	defer s.KS.Unlock(slot)
	keys := st.keys[:0]
	db.ForEachVolatileInSlot(slot, func(k string) bool {
		keys = append(keys, k)
		return len(keys) < expireMaxPerSlotVisit
	})
	if len(keys) == 0 {
		return 0, 0
	}
	now := s.KS.Now()
	for _, k := range keys {
		if db.LookupSlot(slot, k, now) == nil {
			expired++
		}
	}
	clear(keys)
	st.keys = keys[:0]
	return len(keys), expired
}
