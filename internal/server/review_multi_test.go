package server

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/resp"
)

// Tests of the rules processCommand applies before a command runs, inside
// and around MULTI (EXEC refusals, OOM) and of WATCH at EXEC time.

const oomErr = "-" + resp.ErrOOM + "\r\n"

func TestExecRefusedByDispatchAbortsTransaction(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	// Wrong arity: the transaction is discarded with EXECABORT.
	require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, c, "SET", "k", "v"))
	require.Equal(t, "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n",
		testDo(t, c, "EXEC", "extra"))
	require.Equal(t, "-ERR EXEC without MULTI\r\n", testDo(t, c, "EXEC"))
	require.Equal(t, "$-1\r\n", testDo(t, c, "GET", "k"), "the queued SET never ran")
	// Outside MULTI too, as Redis's rejectCommand does for EXEC.
	require.Equal(t, "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n",
		testDo(t, c, "EXEC", "extra"))

	// RESP2 subscribed context.
	require.Equal(t, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", testDo(t, c, "SUBSCRIBE", "ch"))
	require.Equal(t, "-EXECABORT Transaction discarded because of: Can't execute 'exec': only (P|S)SUBSCRIBE / "+
		"(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n", testDo(t, c, "EXEC"))
	require.Equal(t, "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "+
		"allowed in this context\r\n", testDo(t, c, "GET", "k"))
}

func TestExecRefusedWithoutAuthAbortsTransaction(t *testing.T) {
	s := testServer(t, func(cfg *config.Config) { cfg.RequirePass = "pw" })
	c := testDial(t, s)
	require.Equal(t, "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n",
		testDo(t, c, "EXEC"))
}

// oomServer returns a server and a control connection that switches the
// server in and out of the out-of-memory state with maxmemory.
func oomServer(t *testing.T) (*Server, func(bool)) {
	s := testServer(t, nil)
	ctl := testDial(t, s)
	return s, func(oom bool) {
		max := "0"
		if oom {
			max = "1"
		}
		require.Equal(t, "+OK\r\n", testDo(t, ctl, "CONFIG", "SET", "maxmemory", max))
	}
}

func TestMultiRefusesEveryCommandWhenOOM(t *testing.T) {
	s, setOOM := oomServer(t)
	c := testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "x", "1"))
	setOOM(true)
	// Outside MULTI only denyoom commands are refused.
	require.Equal(t, "$1\r\n1\r\n", testDo(t, c, "GET", "x"))
	require.Equal(t, oomErr, testDo(t, c, "SET", "x", "2"))
	// Inside MULTI every command is, except EXEC, DISCARD, QUIT and RESET.
	require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
	require.Equal(t, oomErr, testDo(t, c, "GET", "x"))
	require.Equal(t, oomErr, testDo(t, c, "PING"))
	require.Equal(t, oomErr, testDo(t, c, "WATCH", "x"))
	require.Equal(t, oomErr, testDo(t, c, "MULTI"))
	require.Equal(t, "-EXECABORT Transaction discarded because of previous errors.\r\n", testDo(t, c, "EXEC"))
	require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
	require.Equal(t, "+OK\r\n", testDo(t, c, "DISCARD"))
	require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
	require.Equal(t, "+RESET\r\n", testDo(t, c, "RESET"))
	setOOM(false)
}

func TestExecOfDenyOOMCommandWhenOOM(t *testing.T) {
	s, setOOM := oomServer(t)
	c := testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "x", "1"))

	// A read-only transaction still runs.
	require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, c, "GET", "x"))
	setOOM(true)
	require.Equal(t, "*1\r\n$1\r\n1\r\n", testDo(t, c, "EXEC"))
	setOOM(false)

	// One with a denyoom command is discarded.
	require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, c, "SET", "x", "2"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, c, "GET", "x"))
	setOOM(true)
	require.Equal(t, "-EXECABORT Transaction discarded because of: "+resp.ErrOOM+"\r\n", testDo(t, c, "EXEC"))
	require.Equal(t, "-ERR EXEC without MULTI\r\n", testDo(t, c, "EXEC"))
	setOOM(false)
	require.Equal(t, "$1\r\n1\r\n", testDo(t, c, "GET", "x"))
}

// multiField reads the multi= field of client id in CLIENT LIST.
func multiField(t *testing.T, c interface {
	DoStrings(...string) ([]byte, error)
}, id int64) string {
	t.Helper()
	r, err := c.DoStrings("CLIENT", "LIST", "ID", strconv.FormatInt(id, 10))
	require.NoError(t, err)
	m := regexp.MustCompile(` multi=(-?\d+) `).FindStringSubmatch(string(r))
	require.NotNil(t, m, "%q", r)
	return m[1]
}

func TestDirtyTransactionKeepsNoQueue(t *testing.T) {
	s := testServer(t, nil)
	c, other := testDial(t, s), testDial(t, s)
	id := connID(t, c)
	require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, c, "SET", "a", "1"))
	require.Equal(t, "1", multiField(t, other, id))
	require.Contains(t, testDo(t, c, "NOSUCHCMD"), "-ERR unknown command")
	// Queued after the error: acknowledged but not kept (as Redis).
	require.Equal(t, "+QUEUED\r\n", testDo(t, c, "SET", "b", "1"))
	require.Equal(t, "1", multiField(t, other, id))
	require.Equal(t, "-EXECABORT Transaction discarded because of previous errors.\r\n", testDo(t, c, "EXEC"))
	require.Equal(t, "-1", multiField(t, other, id))
}

func TestWatchedKeyExpiringBeforeExecFailsIt(t *testing.T) {
	s := testServer(t, func(cfg *config.Config) { cfg.EnableDebugCommand = "yes" })
	c := testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, c, "DEBUG", "SET-ACTIVE-EXPIRE", "0"))

	// A key that expires between WATCH and EXEC fails EXEC even though
	// nothing deleted it (Redis 7.0's isWatchedKeyExpired), whether or
	// not the transaction touches it.
	for _, touch := range []bool{false, true} {
		at := time.Now().Add(40 * time.Millisecond).UnixMilli()
		require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "k", "v", "PXAT", strconv.FormatInt(at, 10)))
		require.Equal(t, "+OK\r\n", testDo(t, c, "WATCH", "k"))
		require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
		if touch {
			require.Equal(t, "+QUEUED\r\n", testDo(t, c, "GET", "k"))
		} else {
			require.Equal(t, "+QUEUED\r\n", testDo(t, c, "PING"))
		}
		for time.Now().UnixMilli() <= at+1 {
			time.Sleep(5 * time.Millisecond)
		}
		require.Equal(t, "*-1\r\n", testDo(t, c, "EXEC"), "touch=%v", touch)
	}

	// A key already expired at WATCH time does not fail EXEC.
	at := time.Now().Add(10 * time.Millisecond).UnixMilli()
	require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "k", "v", "PXAT", strconv.FormatInt(at, 10)))
	for time.Now().UnixMilli() <= at+1 {
		time.Sleep(5 * time.Millisecond)
	}
	require.Equal(t, "+OK\r\n", testDo(t, c, "WATCH", "k"))
	require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, c, "PING"))
	require.Equal(t, "*1\r\n+PONG\r\n", testDo(t, c, "EXEC"))

	// A key with a TTL still in the future does not either.
	require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "k", "v", "EX", "100"))
	require.Equal(t, "+OK\r\n", testDo(t, c, "WATCH", "k"))
	require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, c, "PING"))
	require.Equal(t, "*1\r\n+PONG\r\n", testDo(t, c, "EXEC"))
}
