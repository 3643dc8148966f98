package server

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/store"
	"github.com/redcluster/redcluster/internal/testutil"
)

// startTestServer runs a Server and opens one connection to it.
func startTestServer(t *testing.T) (*Server, *testutil.Conn) {
	t.Helper()
	s := testServer(t, nil)
	return s, testDial(t, s)
}

func setMemoryConfig(s *Server, max int64, policy string) {
	s.cfgMu.Lock()
	s.Cfg.MaxMemory = max
	s.Cfg.MaxMemoryPolicy = policy
	s.cfgMu.Unlock()
}

func TestMaxMemoryNoEviction(t *testing.T) {
	s, c := startTestServer(t)
	require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "a", "1"))
	setMemoryConfig(s, 1, "noeviction")
	require.Equal(t, "-"+resp.ErrOOM+"\r\n", testDo(t, c, "SET", "b", "2"))
	// Commands without denyoom still run, and nothing was evicted.
	require.Equal(t, "$1\r\n1\r\n", testDo(t, c, "GET", "a"))
	require.Equal(t, ":1\r\n", testDo(t, c, "EXISTS", "a"))
	require.Equal(t, ":1\r\n", testDo(t, c, "DEL", "a"))
	require.Zero(t, s.Stats.EvictedKeys.Load())
	// Volatile policies with no volatile key have nothing to evict either.
	require.Equal(t, "+OK\r\n", testDo(t, c, "SELECT", "0"))
	setMemoryConfig(s, 1, "volatile-lru")
	require.Equal(t, "-"+resp.ErrOOM+"\r\n", testDo(t, c, "SET", "b", "2"))
	setMemoryConfig(s, 0, "noeviction")
	require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "b", "2"))
}

func fillUntilEvicting(t *testing.T, s *Server, c *testutil.Conn, n int) {
	t.Helper()
	val := strings.Repeat("x", 10000)
	for i := 0; i < n; i++ {
		require.Equal(t, "+OK\r\n", testDo(t, c, "SET", fmt.Sprintf("key:%d", i), val))
	}
}

func TestMaxMemoryAllKeysLRU(t *testing.T) {
	s, c := startTestServer(t)
	runtime.GC()
	limit := s.UsedMemory() + 4<<20
	setMemoryConfig(s, limit, "allkeys-lru")
	fillUntilEvicting(t, s, c, 2000) // ~20 MB of values
	require.Positive(t, s.Stats.EvictedKeys.Load())
	size := s.KS.DBs[0].Size()
	require.Less(t, size, int64(2000))
	require.Equal(t, int64(2000)-size, s.Stats.EvictedKeys.Load())
	runtime.GC()
	require.Less(t, s.UsedMemory(), limit+limit/2, "used memory stays near maxmemory")
}

func TestMaxMemoryRandomAndVolatile(t *testing.T) {
	for _, policy := range []string{"allkeys-random", "allkeys-lfu", "volatile-random", "volatile-ttl", "volatile-lru", "volatile-lfu"} {
		t.Run(policy, func(t *testing.T) {
			s, c := startTestServer(t)
			// Keys without TTL are safe from the volatile policies.
			require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "keep", "v"))
			runtime.GC()
			limit := s.UsedMemory() + 4<<20
			setMemoryConfig(s, limit, policy)
			val := strings.Repeat("y", 10000)
			for i := 0; i < 2000; i++ {
				k := fmt.Sprintf("key:%d", i)
				r := testDo(t, c, "SET", k, val)
				require.Equal(t, "+OK\r\n", r, "SET %s", k)
				r = testDo(t, c, "EXPIRE", k, fmt.Sprint(1000+i))
				if strings.HasPrefix(policy, "volatile-") {
					// A key without TTL cannot have been evicted yet.
					require.Equal(t, ":1\r\n", r)
				}
			}
			require.Positive(t, s.Stats.EvictedKeys.Load())
			if strings.HasPrefix(policy, "volatile-") {
				require.Equal(t, ":1\r\n", testDo(t, c, "EXISTS", "keep"))
			}
		})
	}
}

func TestVolatileTTLEvictsNearestExpiry(t *testing.T) {
	s, c := startTestServer(t)
	db := s.KS.DBs[0]
	now := s.KS.Now()
	for i := 0; i < 50; i++ {
		k := []byte(fmt.Sprintf("k%d", i))
		o := store.NewString([]byte("v"))
		o.Expire = now + 100000 + int64(i)*1000
		s.KS.Lock(slots.KeySlot(k))
		db.Set(k, o)
		s.KS.Unlock(slots.KeySlot(k))
	}
	require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "keep", "v"))
	setMemoryConfig(s, 1, "volatile-ttl")
	// Far over the limit, each command evicts for its time budget; the
	// furthest expiry is never the best victim of a sample of several.
	testDo(t, c, "SET", "x", "y")
	require.Positive(t, s.Stats.EvictedKeys.Load())
	require.Equal(t, ":1\r\n", testDo(t, c, "EXISTS", "k49"))
	// The cron keeps evicting until no volatile key is left; then the
	// server refuses writes, keeping the key without TTL.
	deadline := time.Now().Add(5 * time.Second)
	for db.ExpiresCount() > 0 {
		require.True(t, time.Now().Before(deadline), "eviction did not go on")
		time.Sleep(5 * time.Millisecond)
	}
	require.Equal(t, "-"+resp.ErrOOM+"\r\n", testDo(t, c, "SET", "x", "y"))
	require.Equal(t, int64(50), s.Stats.EvictedKeys.Load())
	require.Equal(t, ":1\r\n", testDo(t, c, "EXISTS", "keep"))
}

func TestActiveExpireCycle(t *testing.T) {
	cfg := config.Default()
	s := New(cfg, zerolog.Nop())
	now := s.KS.Now()
	for dbi := 0; dbi < 3; dbi++ {
		db := s.KS.DBs[dbi]
		for i := 0; i < 1000; i++ {
			k := []byte(fmt.Sprintf("k%d", i))
			o := store.NewString([]byte("v"))
			if i%10 != 0 {
				o.Expire = now - 1 // already expired, never read
			} else {
				o.Expire = now + 1000000
			}
			s.KS.Lock(slots.KeySlot(k))
			db.Set(k, o)
			s.KS.Unlock(slots.KeySlot(k))
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.KS.DBs[0].Size()+s.KS.DBs[1].Size()+s.KS.DBs[2].Size() > 300 {
		require.True(t, time.Now().Before(deadline), "active expiry did not converge")
		s.activeExpireCycle()
	}
	require.Equal(t, int64(2700), s.Stats.ExpiredKeys.Load())
	require.Equal(t, int64(100), s.KS.DBs[1].ExpiresCount())
}

func TestActiveExpiryThroughCron(t *testing.T) {
	s, c := startTestServer(t)
	for i := 0; i < 100; i++ {
		k := fmt.Sprintf("t%d", i)
		require.Equal(t, "+OK\r\n", testDo(t, c, "SET", k, "v"))
		require.Equal(t, ":1\r\n", testDo(t, c, "PEXPIRE", k, "20"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.KS.DBs[0].Size() > 0 {
		require.True(t, time.Now().Before(deadline), "keys were not actively expired")
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, int64(100), s.Stats.ExpiredKeys.Load())
}

func TestScanCursorCoversEveryKeyOnce(t *testing.T) {
	s, c := startTestServer(t)
	const n = 500
	for i := 0; i < n; i++ {
		require.Equal(t, "+OK\r\n", testDo(t, c, "SET", fmt.Sprintf("s%d", i), "v"))
	}
	seen := map[string]int{}
	cursor := "0"
	calls := 0
	for {
		r, err := c.DoStrings("SCAN", cursor, "COUNT", "7")
		require.NoError(t, err)
		next, keys := parseScanReply(t, r)
		for _, k := range keys {
			seen[k]++
		}
		calls++
		cursor = next
		if cursor == "0" {
			break
		}
	}
	require.Len(t, seen, n)
	for k, v := range seen {
		require.Equal(t, 1, v, k)
	}
	require.Greater(t, calls, 10)
	_ = s
}

// parseScanReply splits *2 $cursor *n $key... into its parts.
func parseScanReply(t *testing.T, r []byte) (string, []string) {
	t.Helper()
	lines := bytes.Split(bytes.TrimSuffix(r, []byte("\r\n")), []byte("\r\n"))
	require.Equal(t, "*2", string(lines[0]))
	cursor := string(lines[2])
	var keys []string
	for i := 4; i+1 < len(lines); i += 2 {
		keys = append(keys, string(lines[i+1]))
	}
	return cursor, keys
}
