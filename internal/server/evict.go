package server

import (
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/store"
)

// Memory accounting and maxmemory eviction.
//
// Used memory is what the Go heap holds for objects: the live bytes the
// last GC marked, plus what has been allocated since, minus what eviction
// has released since (an estimate, until the next GC measures it). The
// runtime is sampled at most every memSampleInterval. Allocations since the
// last GC may be garbage: eviction forgives a slice of them (see
// evictionUsed) and starts a GC to measure the truth instead of evicting
// keys to pay for garbage.
//
// Eviction follows Redis's performEvictions: while used memory is above
// maxmemory, sample maxmemory-samples keys per database from random slots,
// delete the best candidate for the policy (idlest for LRU/LFU, nearest
// expiry for volatile-ttl, any for random), and count it in evicted_keys.
const memSampleInterval = time.Millisecond

// evictState holds the memory sampler and the eviction bookkeeping.
type evictState struct {
	sampleMu  sync.Mutex
	samples   []metrics.Sample
	sampledAt atomic.Int64 // unix ns of the last runtime read
	gcCycles  uint64       // GC count at the last read (under sampleMu)
	allocBase uint64       // cumulative allocations when that GC was first seen

	live    atomic.Int64 // bytes marked live by the last GC
	sinceGC atomic.Int64 // bytes allocated since then
	freed   atomic.Int64 // estimated bytes evicted since then
	peak    atomic.Int64
	// freedAtSample is freed at the last read (under sampleMu): what a GC
	// completed after that read has surely measured.
	freedAtSample int64

	lastCronGC time.Time // used by the cron goroutine only

	mu        sync.Mutex   // one evictor at a time
	nextDB    atomic.Int64 // round robin of the random policies
	gcRunning atomic.Bool
}

// memoryLimits reads maxmemory and maxmemory-policy under the config lock.
func (s *Server) memoryLimits() (int64, string) {
	s.cfgMu.RLock()
	max, policy := s.Cfg.MaxMemory, s.Cfg.MaxMemoryPolicy
	s.cfgMu.RUnlock()
	return max, policy
}

// evictionSettings reads maxmemory-samples and, from
// maxmemory-eviction-tenacity, the time one eviction pass may take
// (negative: no limit), as Redis's evictionTimeLimitUs computes it.
func (s *Server) evictionSettings() (samples int, limit time.Duration) {
	s.cfgMu.RLock()
	samples, tenacity := s.Cfg.MaxMemorySamples, s.Cfg.MaxMemoryEvictionTenacity
	s.cfgMu.RUnlock()
	if samples <= 0 {
		samples = 5
	}
	switch {
	case tenacity <= 10:
		return samples, time.Duration(50*tenacity) * time.Microsecond
	case tenacity < 100:
		return samples, time.Duration(500*math.Pow(1.15, float64(tenacity-10))) * time.Microsecond
	}
	return samples, -1
}

// policyIsLFU reports whether a maxmemory-policy is an LFU one.
func policyIsLFU(p string) bool { return p == "allkeys-lfu" || p == "volatile-lfu" }

// policyTracksAccess reports whether a policy needs per-object access data
// (LRU or LFU), which disables Redis's shared integer objects.
func policyTracksAccess(p string) bool {
	switch p {
	case "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu":
		return true
	}
	return false
}

// UsedMemory returns the bytes redcluster counts as used (INFO
// used_memory), the figure maxmemory is compared with.
func (s *Server) UsedMemory() int64 {
	s.sampleMemory(false)
	return s.usedMemoryCached()
}

// UsedMemoryPeak returns the highest UsedMemory seen (used_memory_peak).
func (s *Server) UsedMemoryPeak() int64 {
	s.sampleMemory(false)
	return s.evict.peak.Load()
}

func (s *Server) usedMemoryCached() int64 {
	e := &s.evict
	u := e.live.Load() + e.sinceGC.Load() - e.freed.Load()
	if u < 0 {
		u = 0
	}
	return u
}

// sampleMemory refreshes the runtime figures when they are older than
// memSampleInterval (or always with force). Concurrent callers do not wait:
// they use the figures of the sample in progress' predecessor.
func (s *Server) sampleMemory(force bool) {
	e := &s.evict
	now := time.Now().UnixNano()
	if !force && now-e.sampledAt.Load() < int64(memSampleInterval) {
		return
	}
	if force {
		e.sampleMu.Lock()
	} else if !e.sampleMu.TryLock() {
		return
	}
	defer e.sampleMu.Unlock()
	if e.samples == nil {
		e.samples = []metrics.Sample{
			{Name: "/gc/cycles/total:gc-cycles"},
			{Name: "/gc/heap/live:bytes"},
			{Name: "/gc/heap/allocs:bytes"},
		}
	}
	metrics.Read(e.samples)
	cycles := sampleUint(e.samples[0])
	live := sampleUint(e.samples[1])
	allocs := sampleUint(e.samples[2])
	if cycles != e.gcCycles || e.sampledAt.Load() == 0 {
		// A GC finished: its live figure now accounts for every key
		// evicted before it.
		e.gcCycles = cycles
		e.allocBase = allocs
		e.live.Store(int64(live))
		e.freed.Add(-e.freedAtSample)
	}
	e.sinceGC.Store(int64(allocs - e.allocBase))
	e.freedAtSample = e.freed.Load()
	e.sampledAt.Store(now)
	if u := s.usedMemoryCached(); u > e.peak.Load() {
		e.peak.Store(u)
	}
}

func sampleUint(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}

// gcSlackDiv sets the share of maxmemory (1/gcSlackDiv) allocated since the
// last GC that eviction treats as possible garbage: beyond it a background
// GC is started to measure the truth, and only the excess over it is
// evicted, so that garbage does not make eviction empty the keyspace.
const gcSlackDiv = 4

// evictionUsed is the used memory eviction works against: UsedMemory with
// up to max/gcSlackDiv of the allocations since the last GC forgiven, or
// up to max/2 while a GC that will measure them is running.
func (s *Server) evictionUsed(max int64) int64 {
	e := &s.evict
	slack := max / gcSlackDiv
	if e.gcRunning.Load() {
		slack = max / 2
	}
	since := e.sinceGC.Load() - slack
	if since < 0 {
		since = 0
	}
	return e.live.Load() + since - e.freed.Load()
}

// checkMemory is memoryOK: false when used memory is over maxmemory and
// eviction cannot bring it back under.
func (s *Server) checkMemory() bool {
	max, policy := s.memoryLimits()
	if max <= 0 || s.replicaIgnoresMaxmemory() {
		return true
	}
	s.sampleMemory(false)
	if s.usedMemoryCached() <= max {
		return true
	}
	if s.evict.sinceGC.Load() > max/gcSlackDiv {
		s.startGC()
	}
	if s.evictionUsed(max) <= max || s.performEvictions(max, policy) {
		return true
	}
	// About to refuse the command: first make sure the figures are not
	// inflated by garbage or by evictions no GC has measured yet.
	e := &s.evict
	if e.freed.Load() == 0 && e.sinceGC.Load() <= max/64 {
		return false
	}
	s.collectNow()
	return s.evictionUsed(max) <= max || s.performEvictions(max, policy)
}

// performEvictions deletes keys chosen by policy until the eviction figure
// is at most max. It returns false when nothing more can be evicted (or
// the policy is noeviction); true when under the limit or when its time
// budget ran out while it was still making progress (the cron goes on).
func (s *Server) performEvictions(max int64, policy string) bool {
	if policy == "noeviction" || policy == "" {
		return false
	}
	e := &s.evict
	e.mu.Lock()
	defer e.mu.Unlock()
	samples, limit := s.evictionSettings()
	deadline := time.Now().Add(limit)
	evicted := 0
	for s.evictionUsed(max) > max {
		if !s.evictOne(policy, samples) {
			return false
		}
		evicted++
		if evicted%16 == 0 {
			if limit >= 0 && time.Now().After(deadline) {
				break // still over: commands go on, the cron keeps evicting
			}
			s.sampleMemory(false)
		}
	}
	if e.freed.Load() > e.live.Load()/gcSlackDiv {
		s.startGC() // replace the estimate of what was freed by a measurement
	}
	return true
}

// startGC runs a GC in the background, one at a time, and resamples the
// memory figures when it is done.
func (s *Server) startGC() {
	e := &s.evict
	if !e.gcRunning.CompareAndSwap(false, true) {
		return
	}
	go func() {
		s.collectNow()
		e.gcRunning.Store(false)
	}()
}

// collectNow runs a GC and resamples the memory figures around it.
func (s *Server) collectNow() {
	s.sampleMemory(true)
	runtime.GC()
	s.sampleMemory(true)
}

// evictCandidate is a sampled key: where it is and how good a victim it is
// (higher is better).
type evictCandidate struct {
	db    *store.DB
	slot  int
	key   string
	score int64
}

// evictOne picks and deletes one victim. It returns false when no database
// holds a key the policy may evict.
func (s *Server) evictOne(policy string, samples int) bool {
	volatile := len(policy) > 9 && policy[:9] == "volatile-"
	byTTL := policy == "volatile-ttl"
	random := policy == "allkeys-random" || policy == "volatile-random"
	dbs := s.KS.DBs
	var best evictCandidate
	found := false
	keep := func(c evictCandidate) {
		if !found || c.score > best.score {
			best, found = c, true
		}
	}
	if random {
		start := int(s.evict.nextDB.Add(1))
		for i := 0; i < len(dbs) && !found; i++ {
			if db := dbs[(start+i)%len(dbs)]; evictPoolSize(db, volatile) > 0 {
				s.sampleDB(db, volatile, byTTL, 1, keep)
			}
		}
	} else {
		for _, db := range dbs {
			if evictPoolSize(db, volatile) > 0 {
				s.sampleDB(db, volatile, byTTL, samples, keep)
			}
		}
	}
	if !found {
		return false
	}
	s.evictKey(best, volatile)
	return true
}

func evictPoolSize(db *store.DB, volatile bool) int64 {
	if volatile {
		return db.ExpiresCount()
	}
	return db.Size()
}

// sampleDB calls fn with up to n keys taken from the non-empty slots that
// follow a random one in
// db (keys with a TTL only when volatile), scored under the slot lock: the
// idle time (LRU, and LFU which redcluster approximates with LRU) or, with
// byTTL, the negated expire time (the nearest expiry is the best victim).
func (s *Server) sampleDB(db *store.DB, volatile, byTTL bool, n int, fn func(evictCandidate)) {
	clock := int64(store.LRUClock(s.KS.Now()))
	got := 0
	start := rand.IntN(slots.Count)
	for i := 0; i < slots.Count && got < n; i++ {
		sl := (start + i) % slots.Count
		take := func(k string, o *store.Object) bool {
			c := evictCandidate{db: db, slot: sl, key: k, score: clock - int64(o.LRU)}
			if byTTL {
				c.score = -o.Expire
			}
			fn(c)
			got++
			return got < n
		}
		s.KS.Lock(sl)
		if volatile {
			db.ForEachVolatileInSlot(sl, func(k string) bool {
				if o := db.Peek(keyStringBytes(k)); o != nil {
					return take(k, o)
				}
				return true
			})
		} else if db.SlotSize(sl) > 0 {
			db.ForEachInSlot(sl, take)
		}
		s.KS.Unlock(sl)
	}
}

// evictKey deletes a chosen victim if it is still there, estimating the
// memory it frees.
func (s *Server) evictKey(c evictCandidate, volatile bool) {
	s.KS.Lock(c.slot)
	o := c.db.Peek(keyStringBytes(c.key))
	if o == nil || (volatile && o.Expire == 0) {
		s.KS.Unlock(c.slot)
		return
	}
	size := estimateObjectSize(c.key, o)
	c.db.DeleteSlot(c.slot, c.key)
	s.touchWatchedString(c.db.ID, c.key)
	s.feedDeletion(c.db.ID, c.key)
	s.KS.Unlock(c.slot)
	s.evict.freed.Add(size)
	s.Stats.EvictedKeys.Add(1)
}

// evictSizer is implemented by value types that can tell their own size.
type evictSizer interface{ MemoryUsage() int64 }

// evictLenner is implemented by the collection types (element count).
type evictLenner interface{ Len() int }

// estimateObjectSize guesses the heap bytes a key and its value occupy:
// the Object, the dictionary entry, the key and the payload.
func estimateObjectSize(key string, o *store.Object) int64 {
	// Object allocation + slot dictionary entry (16 bytes and a control
	// byte at ~70% fill) + the key's length prefix
	const objectOverhead = 48 + 24 + 1
	n := int64(objectOverhead + len(key))
	if o.Expire != 0 {
		n += 12 // entry in the volatile set
	}
	switch v := o.Val.(type) {
	case evictSizer:
		n += v.MemoryUsage()
	case evictLenner:
		n += int64(v.Len()) * 48
	}
	return n + int64(cap(o.Bytes()))
}

// memoryCron refreshes the memory figures and, like Redis's eviction timer,
// goes on evicting when the last command-time pass ran out of time.
// When the figures stay over maxmemory only because of allocations no GC
// has looked at yet, it starts a GC (at most every cronGCInterval) so that
// an idle server reports what it really uses.
func (s *Server) memoryCron() {
	s.sampleMemory(true)
	max, policy := s.memoryLimits()
	if max <= 0 || s.replicaIgnoresMaxmemory() {
		return
	}
	// Like Redis's eviction timer, keep going in passes while they make
	// progress, within the cron's budget.
	for deadline := time.Now().Add(evictCronBudget); s.evictionUsed(max) > max && time.Now().Before(deadline); {
		if !s.performEvictions(max, policy) {
			break
		}
	}
	e := &s.evict
	if now := time.Now(); s.usedMemoryCached() > max && e.sinceGC.Load() > max/16 && now.Sub(e.lastCronGC) >= cronGCInterval {
		e.lastCronGC = now
		s.startGC()
	}
}

const (
	cronGCInterval  = time.Second           // spaces the GCs memoryCron starts
	evictCronBudget = 25 * time.Millisecond // eviction time per cron tick
)
