package server

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/testutil"
)

// connID returns the CLIENT ID of c.
func connID(t *testing.T, c *testutil.Conn) int64 {
	t.Helper()
	r := testDo(t, c, "CLIENT", "ID")
	require.True(t, strings.HasPrefix(r, ":"), r)
	id, err := strconv.ParseInt(strings.TrimSpace(r[1:]), 10, 64)
	require.NoError(t, err)
	return id
}

// bulkText extracts the text of a bulk or verbatim string reply.
func bulkText(t *testing.T, r string) string {
	t.Helper()
	i := strings.Index(r, "\r\n")
	require.True(t, i > 0 && (r[0] == '$' || r[0] == '='), "not a string reply: %q", r)
	body := r[i+2 : len(r)-2]
	if r[0] == '=' {
		require.True(t, strings.HasPrefix(body, "txt:"), r)
		body = body[4:]
	}
	return body
}

func helloMap(proto int, id int64, mode string) string {
	head := "*14\r\n"
	if proto == 3 {
		head = "%7\r\n"
	}
	return head + "$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n" +
		"$5\r\nproto\r\n:" + strconv.Itoa(proto) + "\r\n$2\r\nid\r\n:" + strconv.FormatInt(id, 10) + "\r\n" +
		"$4\r\nmode\r\n$" + strconv.Itoa(len(mode)) + "\r\n" + mode + "\r\n" +
		"$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
}

func TestHelloResp3(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	id := connID(t, c)

	require.Equal(t, helloMap(2, id, "standalone"), testDo(t, c, "HELLO"))
	require.Equal(t, helloMap(3, id, "standalone"), testDo(t, c, "HELLO", "3", "SETNAME", "r3"))
	require.Equal(t, "$2\r\nr3\r\n", testDo(t, c, "CLIENT", "GETNAME"))
	require.Equal(t, helloMap(3, id, "standalone"), testDo(t, c, "HELLO"))

	// RESP3 reply types of the CONNECTION and SERVER commands.
	require.Equal(t, "+OK\r\n", testDo(t, c, "CLIENT", "SETNAME", ""))
	require.Equal(t, "_\r\n", testDo(t, c, "CLIENT", "GETNAME"))
	require.Equal(t, "%3\r\n$5\r\nflags\r\n~1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n",
		testDo(t, c, "CLIENT", "TRACKINGINFO"))
	info := testDo(t, c, "CLIENT", "INFO")
	require.True(t, strings.HasPrefix(info, "="), info)
	require.Contains(t, bulkText(t, info), " resp=3\n")
	require.Equal(t, "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n", testDo(t, c, "INFO", "cluster"))
	require.Equal(t, "*1\r\n_\r\n", testDo(t, c, "COMMAND", "INFO", "nosuch"))
	require.True(t, strings.HasPrefix(testDo(t, c, "COMMAND", "INFO", "get"), "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n"))
	require.Equal(t, "%0\r\n", testDo(t, c, "COMMAND", "DOCS", "nosuch"))
	require.True(t, strings.HasPrefix(testDo(t, c, "COMMAND", "DOCS", "get"), "%1\r\n$3\r\nget\r\n%"))
	require.Equal(t, "*1\r\n*2\r\n$1\r\na\r\n~2\r\n+OW\r\n+update\r\n", testDo(t, c, "COMMAND", "GETKEYSANDFLAGS", "set", "a", "b"))

	// Errors leave the protocol as it was.
	require.Equal(t, "-NOPROTO unsupported protocol version\r\n", testDo(t, c, "HELLO", "4"))
	require.Equal(t, "-ERR Protocol version is not an integer or out of range\r\n", testDo(t, c, "HELLO", "x"))
	require.Equal(t, "_\r\n", testDo(t, c, "CLIENT", "GETNAME"))

	// RESET goes back to RESP2.
	require.Equal(t, "+RESET\r\n", testDo(t, c, "RESET"))
	require.Equal(t, "$-1\r\n", testDo(t, c, "CLIENT", "GETNAME"))
	require.Equal(t, "$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n", testDo(t, c, "INFO", "cluster"))
}

func TestHelloAuth(t *testing.T) {
	s := testServer(t, func(c *config.Config) { c.RequirePass = "secret" })
	c := testDial(t, s)
	require.Equal(t, "-NOAUTH Authentication required.\r\n", testDo(t, c, "PING"))
	require.Equal(t, "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n",
		testDo(t, c, "HELLO", "3"))
	require.Equal(t, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", testDo(t, c, "AUTH", "nope"))
	require.Equal(t, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", testDo(t, c, "AUTH", "bob", "secret"))
	require.Equal(t, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", testDo(t, c, "HELLO", "3", "AUTH", "default", "nope"))
	r := testDo(t, c, "HELLO", "3", "AUTH", "default", "secret", "SETNAME", "me")
	require.True(t, strings.HasPrefix(r, "%7\r\n"), r)
	require.Equal(t, "+PONG\r\n", testDo(t, c, "PING"))
	require.Equal(t, "$2\r\nme\r\n", testDo(t, c, "CLIENT", "GETNAME"))
	// A failed AUTH does not log an authenticated client out.
	require.Equal(t, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", testDo(t, c, "AUTH", "nope"))
	require.Equal(t, "+PONG\r\n", testDo(t, c, "PING"))
	// RESET logs out.
	require.Equal(t, "+RESET\r\n", testDo(t, c, "RESET"))
	require.Equal(t, "-NOAUTH Authentication required.\r\n", testDo(t, c, "PING"))
	require.Equal(t, "+OK\r\n", testDo(t, c, "AUTH", "default", "secret"))
	require.Equal(t, "+OK\r\n", testDo(t, c, "AUTH", "secret"))
	require.Equal(t, "+PONG\r\n", testDo(t, c, "PING"))
}

// clientLine matches one CLIENT LIST line with Redis 7.0's fields in order.
var clientLine = regexp.MustCompile(`^id=(\d+) addr=(\S+) laddr=(\S+) fd=\d+ name=(\S*) age=\d+ idle=\d+ flags=([A-Za-z]+) db=(\d+) sub=(\d+) psub=(\d+) ssub=(\d+) multi=(-?\d+) qbuf=\d+ qbuf-free=\d+ argv-mem=\d+ multi-mem=\d+ rbs=\d+ rbp=\d+ obl=\d+ oll=\d+ omem=\d+ tot-mem=\d+ events=r cmd=(\S+) user=default redir=-1 resp=([23])$`)

// clientInfo parses CLIENT LIST output into field maps keyed by id.
func clientInfo(t *testing.T, text string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "" {
			continue
		}
		require.Regexp(t, clientLine, line)
		fields := map[string]string{}
		for _, kv := range strings.Split(line, " ") {
			k, v, _ := strings.Cut(kv, "=")
			fields[k] = v
		}
		out[fields["id"]] = fields
	}
	return out
}

func TestClientListAndInfo(t *testing.T) {
	s := testServer(t, nil)
	a, b := testDial(t, s), testDial(t, s)
	idA, idB := connID(t, a), connID(t, b)
	require.Equal(t, "+OK\r\n", testDo(t, b, "CLIENT", "SETNAME", "bee"))
	require.Equal(t, "+OK\r\n", testDo(t, b, "SELECT", "4"))
	require.Equal(t, "+OK\r\n", testDo(t, b, "MULTI"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, b, "SET", "k", "v"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, b, "GET", "k"))

	list := clientInfo(t, bulkText(t, testDo(t, a, "CLIENT", "LIST")))
	require.Len(t, list, 2)
	la, lb := list[strconv.FormatInt(idA, 10)], list[strconv.FormatInt(idB, 10)]
	require.Equal(t, "N", la["flags"])
	require.Equal(t, "client|list", la["cmd"])
	require.Equal(t, "-1", la["multi"])
	require.Equal(t, "26", la["qbuf"])
	require.Equal(t, "10", la["argv-mem"])
	require.Equal(t, s.Addr().String(), la["laddr"])
	require.Equal(t, "bee", lb["name"])
	require.Equal(t, "x", lb["flags"])
	require.Equal(t, "4", lb["db"])
	require.Equal(t, "2", lb["multi"])
	require.Equal(t, strconv.Itoa(5+8*3+4+8*2), lb["multi-mem"])
	require.Equal(t, "get", lb["cmd"]) // the last command run (queued ones are not)

	// CLIENT INFO describes only the caller; LIST ID filters.
	info := clientInfo(t, bulkText(t, testDo(t, a, "CLIENT", "INFO")))
	require.Len(t, info, 1)
	require.Equal(t, "client|info", info[strconv.FormatInt(idA, 10)]["cmd"])
	byID := clientInfo(t, bulkText(t, testDo(t, a, "CLIENT", "LIST", "ID", strconv.FormatInt(idB, 10), "999")))
	require.Len(t, byID, 1)
	require.Contains(t, byID, strconv.FormatInt(idB, 10))
	require.Equal(t, "$0\r\n\r\n", testDo(t, a, "CLIENT", "LIST", "TYPE", "pubsub"))
	require.Len(t, clientInfo(t, bulkText(t, testDo(t, a, "CLIENT", "LIST", "TYPE", "normal"))), 2)

	// EXEC ends MULTI; a touched WATCH shows the 'd' flag.
	require.Equal(t, "*2\r\n+OK\r\n$1\r\nv\r\n", testDo(t, b, "EXEC"))
	require.Equal(t, "+OK\r\n", testDo(t, b, "WATCH", "k"))
	require.Equal(t, "+OK\r\n", testDo(t, a, "SELECT", "4"))
	require.Equal(t, "+OK\r\n", testDo(t, a, "SET", "k", "v2"))
	lb = clientInfo(t, bulkText(t, testDo(t, a, "CLIENT", "LIST")))[strconv.FormatInt(idB, 10)]
	require.Equal(t, "d", lb["flags"])
	require.Equal(t, "-1", lb["multi"])
	require.Equal(t, "watch", lb["cmd"])
	require.Equal(t, "+OK\r\n", testDo(t, b, "CLIENT", "NO-EVICT", "on"))
	lb = clientInfo(t, bulkText(t, testDo(t, a, "CLIENT", "LIST")))[strconv.FormatInt(idB, 10)]
	require.Equal(t, "de", lb["flags"])
}

// waitGone polls until id is no longer in CLIENT LIST.
func waitGone(t *testing.T, s *Server, id int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		found := false
		for _, c := range s.Clients() {
			if c.ID == id {
				found = true
			}
		}
		if !found {
			return
		}
		require.True(t, time.Now().Before(deadline), "client %d still connected", id)
		time.Sleep(time.Millisecond)
	}
}

func requireClosed(t *testing.T, c *testutil.Conn) {
	t.Helper()
	r, err := c.ReadReply(5 * time.Second)
	require.Error(t, err, "connection still open, got %q", r)
}

func TestClientKill(t *testing.T) {
	s := testServer(t, nil)
	a := testDial(t, s)
	connID(t, a)

	// New form, by ID.
	b := testDial(t, s)
	idB := connID(t, b)
	require.Equal(t, ":1\r\n", testDo(t, a, "CLIENT", "KILL", "ID", strconv.FormatInt(idB, 10)))
	requireClosed(t, b)
	waitGone(t, s, idB)
	require.Equal(t, ":0\r\n", testDo(t, a, "CLIENT", "KILL", "ID", strconv.FormatInt(idB, 10)))
	require.NotContains(t, bulkText(t, testDo(t, a, "CLIENT", "LIST")), fmt.Sprintf("id=%d ", idB))

	// Old form, by address: +OK, or an error when nothing matched.
	c := testDial(t, s)
	idC := connID(t, c)
	addrC := clientInfo(t, bulkText(t, testDo(t, c, "CLIENT", "INFO")))[strconv.FormatInt(idC, 10)]["addr"]
	require.Equal(t, "+OK\r\n", testDo(t, a, "CLIENT", "KILL", addrC))
	requireClosed(t, c)
	waitGone(t, s, idC)
	require.Equal(t, "-ERR No such client\r\n", testDo(t, a, "CLIENT", "KILL", addrC))

	// ADDR, LADDR, TYPE and SKIPME filters.
	d := testDial(t, s)
	idD := connID(t, d)
	addrD := clientInfo(t, bulkText(t, testDo(t, d, "CLIENT", "INFO")))[strconv.FormatInt(idD, 10)]["addr"]
	require.Equal(t, ":0\r\n", testDo(t, a, "CLIENT", "KILL", "ADDR", addrD, "TYPE", "pubsub"))
	require.Equal(t, ":0\r\n", testDo(t, a, "CLIENT", "KILL", "LADDR", "1.2.3.4:5"))
	require.Equal(t, ":1\r\n", testDo(t, a, "CLIENT", "KILL", "ADDR", addrD, "LADDR", s.Addr().String(), "USER", "default"))
	requireClosed(t, d)
	waitGone(t, s, idD)

	e := testDial(t, s)
	connID(t, e)
	require.Equal(t, ":1\r\n", testDo(t, a, "CLIENT", "KILL", "TYPE", "normal")) // e; SKIPME yes spares a
	requireClosed(t, e)
	require.Equal(t, "+PONG\r\n", testDo(t, a, "PING"))

	// SKIPME no kills the caller after its reply.
	require.Equal(t, ":1\r\n", testDo(t, a, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"))
	requireClosed(t, a)

	// The old form may kill the caller itself.
	f := testDial(t, s)
	idF := connID(t, f)
	addrF := clientInfo(t, bulkText(t, testDo(t, f, "CLIENT", "INFO")))[strconv.FormatInt(idF, 10)]["addr"]
	require.Equal(t, "+OK\r\n", testDo(t, f, "CLIENT", "KILL", addrF))
	requireClosed(t, f)
}

func TestClientReplyModes(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	// Pipelined: SKIP drops the next reply only, OFF drops all until ON.
	testSend(t, c, "CLIENT", "REPLY", "SKIP")
	testSend(t, c, "SET", "k", "1")
	testSend(t, c, "INCR", "k")
	require.Equal(t, ":2\r\n", testRead(t, c))
	testSend(t, c, "CLIENT", "REPLY", "OFF")
	testSend(t, c, "INCR", "k")
	testSend(t, c, "NOSUCHCOMMAND")
	testSend(t, c, "CLIENT", "REPLY", "SKIP") // ignored while OFF
	testSend(t, c, "CLIENT", "REPLY", "ON")
	require.Equal(t, "+OK\r\n", testRead(t, c))
	require.Equal(t, "$1\r\n3\r\n", testDo(t, c, "GET", "k"))
	// Errors still count in INFO errorstats while replies are off.
	require.Contains(t, s.GenInfo([]string{"errorstats"}), "errorstat_ERR:count=1\r\n")
}

func TestClientPauseWrite(t *testing.T) {
	s := testServer(t, nil)
	a, b := testDial(t, s), testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, a, "CLIENT", "PAUSE", "10000", "WRITE"))
	require.True(t, s.WritesPaused())
	testSend(t, b, "SET", "k", "v")
	deadline := time.Now().Add(5 * time.Second)
	for s.ext.pause.waiting.Load() != 1 {
		require.True(t, time.Now().Before(deadline), "SET did not wait")
		time.Sleep(time.Millisecond)
	}
	// Reads go on; INFO counts the held client as blocked.
	require.Equal(t, "$-1\r\n", testDo(t, a, "GET", "k"))
	require.Contains(t, s.GenInfo([]string{"clients"}), "blocked_clients:1\r\n")
	require.Equal(t, "+OK\r\n", testDo(t, a, "CLIENT", "UNPAUSE"))
	require.Equal(t, "+OK\r\n", testRead(t, b))
	require.Equal(t, "$1\r\nv\r\n", testDo(t, a, "GET", "k"))
	require.False(t, s.WritesPaused())

	// A short ALL pause delays every command until it ends.
	start := time.Now()
	require.Equal(t, "+OK\r\n", testDo(t, a, "CLIENT", "PAUSE", "100"))
	require.Equal(t, "+PONG\r\n", testDo(t, b, "PING"))
	require.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond)
}

func TestClientUnblock(t *testing.T) {
	s := testServer(t, nil)
	a, b := testDial(t, s), testDial(t, s)
	idB := connID(t, b)
	testSend(t, b, "BLPOP", "list", "0")
	deadline := time.Now().Add(5 * time.Second)
	for s.BlockedClients() != 1 {
		require.True(t, time.Now().Before(deadline), "BLPOP did not block")
		time.Sleep(time.Millisecond)
	}
	lb := clientInfo(t, bulkText(t, testDo(t, a, "CLIENT", "LIST")))[strconv.FormatInt(idB, 10)]
	require.Equal(t, "b", lb["flags"])
	require.Equal(t, ":1\r\n", testDo(t, a, "CLIENT", "UNBLOCK", strconv.FormatInt(idB, 10)))
	require.Equal(t, "*-1\r\n", testRead(t, b))

	testSend(t, b, "BLPOP", "list", "0")
	for s.BlockedClients() != 1 {
		require.True(t, time.Now().Before(deadline), "BLPOP did not block")
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, ":1\r\n", testDo(t, a, "CLIENT", "UNBLOCK", strconv.FormatInt(idB, 10), "ERROR"))
	require.Equal(t, "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n", testRead(t, b))
	require.Equal(t, ":0\r\n", testDo(t, a, "CLIENT", "UNBLOCK", strconv.FormatInt(idB, 10)))
}

// TestClientNewerThan70 pins what redis-server 7.0.15 replies to CLIENT
// forms added in later versions: SETINFO (7.2) is an unknown subcommand
// and the MAXAGE filter of CLIENT KILL (7.4) a syntax error; neither shows
// in COMMAND.
func TestClientNewerThan70(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	require.Equal(t, "-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.\r\n",
		testDo(t, c, "CLIENT", "SETINFO", "LIB-NAME", "go-redis(,go1.26)"))
	require.Equal(t, "-ERR syntax error\r\n", testDo(t, c, "CLIENT", "KILL", "MAXAGE", "100"))
	require.Equal(t, "*1\r\n$-1\r\n", testDo(t, c, "COMMAND", "INFO", "client|setinfo"))
	require.NotContains(t, testDo(t, c, "COMMAND", "LIST"), "setinfo")
}

// infoFields parses INFO text into sections of ordered field names.
func infoFields(t *testing.T, text string) (map[string][]string, map[string]string) {
	t.Helper()
	sections := map[string][]string{}
	values := map[string]string{}
	cur := ""
	for _, line := range strings.Split(text, "\r\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "# "):
			cur = line[2:]
			sections[cur] = []string{}
		default:
			k, v, ok := strings.Cut(line, ":")
			require.True(t, ok, "bad INFO line %q", line)
			sections[cur] = append(sections[cur], k)
			values[k] = v
		}
	}
	return sections, values
}

func TestInfo(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "a", "1"))
	require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "b", "1", "EX", "100"))
	testDo(t, c, "NOSUCH")
	testDo(t, c, "GET")

	def, _ := infoFields(t, bulkText(t, testDo(t, c, "INFO")))
	order := []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"}
	for _, name := range order {
		require.Contains(t, def, name)
	}
	require.NotContains(t, def, "Commandstats")
	text := bulkText(t, testDo(t, c, "INFO", "everything"))
	last := -1
	for _, title := range []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"} {
		i := strings.Index(text, "# "+title+"\r\n")
		require.Greater(t, i, last, title)
		last = i
	}
	sections, v := infoFields(t, text)
	require.Equal(t, []string{"redis_version", "redis_git_sha1", "redis_git_dirty", "redis_build_id", "redis_mode", "os",
		"arch_bits", "monotonic_clock", "multiplexing_api", "atomicvar_api", "gcc_version", "process_id", "process_supervised",
		"run_id", "tcp_port", "server_time_usec", "uptime_in_seconds", "uptime_in_days", "hz", "configured_hz", "lru_clock",
		"executable", "config_file", "io_threads_active"}, sections["Server"])
	require.Equal(t, "7.0.15", v["redis_version"])
	require.Equal(t, "standalone", v["redis_mode"])
	require.Equal(t, s.RunID(), v["run_id"])
	require.Len(t, v["run_id"], 40)
	require.Equal(t, strconv.Itoa(s.Addr().(*net.TCPAddr).Port), v["tcp_port"])
	require.Equal(t, "1", v["connected_clients"])
	require.Equal(t, "0", v["blocked_clients"])
	require.Equal(t, "master", v["role"])
	require.Equal(t, "0", v["connected_slaves"])
	require.Len(t, v["master_replid"], 40)
	require.Equal(t, "0", v["loading"])
	require.Equal(t, "0", v["cluster_enabled"])
	require.Equal(t, "noeviction", v["maxmemory_policy"])
	require.Equal(t, "2", v["rdb_changes_since_last_save"])
	require.Equal(t, "2", v["total_error_replies"])
	require.Equal(t, "keys=2,expires=1,avg_ttl=0", v["db0"])
	require.Equal(t, "count=2", v["errorstat_ERR"])
	for _, k := range []string{"used_memory", "used_memory_rss", "used_memory_peak", "total_connections_received",
		"total_commands_processed", "instantaneous_ops_per_sec", "total_net_input_bytes", "keyspace_hits",
		"keyspace_misses", "expired_keys", "evicted_keys", "master_repl_offset", "maxmemory", "uptime_in_seconds"} {
		_, err := strconv.ParseInt(v[k], 10, 64)
		require.NoError(t, err, "%s=%q", k, v[k])
	}
	for _, k := range []string{"used_cpu_sys", "used_cpu_user", "mem_fragmentation_ratio"} {
		_, err := strconv.ParseFloat(v[k], 64)
		require.NoError(t, err, "%s=%q", k, v[k])
	}
	require.Regexp(t, `^\d+(\.\d\d[KMGTP])?B?$`, v["used_memory_human"])

	// instantaneous_ops_per_sec follows the traffic within a few ticks.
	deadline := time.Now().Add(5 * time.Second)
	for {
		for i := 0; i < 50; i++ {
			testDo(t, c, "PING")
		}
		_, v = infoFields(t, s.GenInfo([]string{"stats"}))
		if v["instantaneous_ops_per_sec"] != "0" {
			break
		}
		require.True(t, time.Now().Before(deadline), "instantaneous_ops_per_sec stays 0")
	}
	require.Equal(t, "", s.GenInfo([]string{"nosuchsection"}))
}

func TestShutdown(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	saved := make(chan bool, 1)
	s.OnShutdown(func(save bool) error { saved <- save; return nil })
	require.Equal(t, "-ERR No shutdown in progress.\r\n", testDo(t, c, "SHUTDOWN", "ABORT"))
	testSend(t, c, "SHUTDOWN", "NOSAVE")
	requireClosed(t, c)
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("server did not shut down")
	}
	require.False(t, <-saved)
}

func TestShutdownHookError(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	s.OnShutdown(func(bool) error { return fmt.Errorf("disk full") })
	require.Equal(t, "-ERR Errors trying to SHUTDOWN. Check logs.\r\n", testDo(t, c, "SHUTDOWN", "SAVE"))
	require.Equal(t, "+PONG\r\n", testDo(t, c, "PING"))
	testSend(t, c, "SHUTDOWN", "SAVE", "FORCE")
	requireClosed(t, c)
	<-s.Done()
}

func TestDebug(t *testing.T) {
	s := testServer(t, func(c *config.Config) { c.EnableDebugCommand = "local" })
	c := testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, c, "DEBUG", "SLEEP", "0"))
	require.Equal(t, "+OK\r\n", testDo(t, c, "SET", "foo", "bar"))
	obj := testDo(t, c, "DEBUG", "OBJECT", "foo")
	require.Regexp(t, `^\+Value at:0x[0-9a-f]+ refcount:1 encoding:embstr serializedlength:\d+ lru:\d+ lru_seconds_idle:\d+\r\n$`, obj)
	require.Equal(t, "-ERR no such key\r\n", testDo(t, c, "DEBUG", "OBJECT", "nokey"))
	require.True(t, s.ActiveExpireEnabled())
	require.Equal(t, "+OK\r\n", testDo(t, c, "DEBUG", "SET-ACTIVE-EXPIRE", "0"))
	require.False(t, s.ActiveExpireEnabled())
	require.Equal(t, "+OK\r\n", testDo(t, c, "DEBUG", "SET-ACTIVE-EXPIRE", "1"))
	require.True(t, s.ActiveExpireEnabled())
	require.Equal(t, "-ERR unknown subcommand or wrong number of arguments for 'nope'. Try DEBUG HELP.\r\n", testDo(t, c, "DEBUG", "nope"))
	require.Equal(t, "-ERR RESP2 is not supported by this command\r\n", testDo(t, c, "DEBUG", "PROTOCOL", "push"))
	require.Equal(t, "-CUSTOM failure\r\n", testDo(t, c, "DEBUG", "ERROR", "CUSTOM failure"))
	testDo(t, c, "HELLO", "3")
	require.Equal(t, "(1234567999999999999999999999999999999\r\n", testDo(t, c, "DEBUG", "PROTOCOL", "bignum"))
	require.Equal(t, "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n", testDo(t, c, "DEBUG", "PROTOCOL", "map"))
}

func TestCommandIntrospection(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	count := testDo(t, c, "COMMAND", "COUNT")
	n, err := strconv.Atoi(strings.TrimSpace(count[1:]))
	require.NoError(t, err)
	require.Equal(t, len(s.visibleCommands()), n)
	all := testDo(t, c, "COMMAND")
	require.True(t, strings.HasPrefix(all, fmt.Sprintf("*%d\r\n*10\r\n", n)), all[:20])
	docs := testDo(t, c, "COMMAND", "DOCS")
	require.True(t, strings.HasPrefix(docs, fmt.Sprintf("*%d\r\n", 2*n)), docs[:20])
	require.Equal(t, "*1\r\n$6\r\ndbsize\r\n", testDo(t, c, "COMMAND", "LIST", "FILTERBY", "PATTERN", "dbsize"))
	// Every command and subcommand has a well-formed INFO entry.
	for _, cmd := range s.visibleCommands() {
		r := testDo(t, c, "COMMAND", "INFO", cmd.Name)
		require.True(t, strings.HasPrefix(r, "*1\r\n*10\r\n"), "%s: %q", cmd.Name, r)
		for _, sub := range visibleSubs(cmd) {
			r := testDo(t, c, "COMMAND", "INFO", sub.FullName())
			require.True(t, strings.HasPrefix(r, "*1\r\n*10\r\n"), "%s: %q", sub.FullName(), r)
		}
	}
	require.Equal(t, "*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n", testDo(t, c, "COMMAND", "GETKEYS", "zunionstore", "d", "2", "a", "b"))
}

func TestSwapDBServesBlockedClients(t *testing.T) {
	s := testServer(t, nil)
	a, b := testDial(t, s), testDial(t, s)
	require.Equal(t, "+OK\r\n", testDo(t, b, "SELECT", "1"))
	testSend(t, b, "BLPOP", "list", "0")
	deadline := time.Now().Add(5 * time.Second)
	for s.BlockedClients() != 1 {
		require.True(t, time.Now().Before(deadline), "BLPOP did not block")
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, ":1\r\n", testDo(t, a, "RPUSH", "list", "x"))
	require.Equal(t, "+OK\r\n", testDo(t, a, "SWAPDB", "0", "1"))
	require.Equal(t, "*2\r\n$4\r\nlist\r\n$1\r\nx\r\n", testRead(t, b))
	require.Equal(t, ":0\r\n", testDo(t, b, "EXISTS", "list"))
}
