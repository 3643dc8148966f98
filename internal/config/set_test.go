package config

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

const enumPolicyErr = "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"

// TestSetOne covers every option type: the value CONFIG GET prints after a
// successful CONFIG SET, or the exact error.
func TestSetOne(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		get         string // expected CONFIG GET value after success
		err         string // expected error, "" for success
	}{
		// booleans
		{"protected-mode", "no", "no", ""},
		{"protected-mode", "YES", "yes", ""},
		{"appendonly", "maybe", "", "CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"},
		{"slave-read-only", "no", "no", ""},
		{"replica-read-only", "1", "", "CONFIG SET failed (possibly related to argument 'replica-read-only') - argument must be 'yes' or 'no'"},
		{"activedefrag", "yes", "", "CONFIG SET failed (possibly related to argument 'activedefrag') - Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution"},
		{"activedefrag", "no", "no", ""},
		{"cluster-enabled", "yes", "", "CONFIG SET failed (possibly related to argument 'cluster-enabled') - can't set immutable config"},
		{"DAEMONIZE", "no", "", "CONFIG SET failed (possibly related to argument 'DAEMONIZE') - can't set immutable config"},
		// strings
		{"requirepass", "secret", "secret", ""},
		{"requirepass", "", "", ""},
		{"masterauth", "a b", "a b", ""},
		{"cluster-announce-ip", "10.0.0.1", "10.0.0.1", ""},
		{"cluster-announce-hostname", "a_b", "", "CONFIG SET failed (possibly related to argument 'cluster-announce-hostname') - Hostnames may only contain alphanumeric characters, hyphens or dots"},
		{"cluster-announce-hostname", "host-1.example", "host-1.example", ""},
		{"dbfilename", "x.rdb", "", "CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config"},
		{"appendfilename", "x.aof", "", "CONFIG SET failed (possibly related to argument 'appendfilename') - can't set immutable config"},
		{"logfile", "x", "", "CONFIG SET failed (possibly related to argument 'logfile') - can't set immutable config"},
		{"proc-title-template", "{foo}", "", "CONFIG SET failed (possibly related to argument 'proc-title-template') - template format is invalid or contains unknown variables"},
		{"proc-title-template", "{title} {port}", "{title} {port}", ""},
		{"ignore-warnings", "ARM64-COW-BUG", "ARM64-COW-BUG", ""},
		// enums
		{"maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru", ""},
		{"maxmemory-policy", "foo", "", "CONFIG SET failed (possibly related to argument 'maxmemory-policy') - " + enumPolicyErr},
		{"maxmemory-policy", "allkeys-lru volatile-lru", "", "CONFIG SET failed (possibly related to argument 'maxmemory-policy') - " + enumPolicyErr},
		{"loglevel", "WARNING", "warning", ""},
		{"loglevel", "loud", "", "CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning"},
		{"appendfsync", "always", "always", ""},
		{"oom-score-adj", "relative", "yes", ""},
		{"oom-score-adj", "absolute", "absolute", ""},
		{"shutdown-on-sigint", "force save", "save force", ""},
		{"shutdown-on-sigint", "NOW", "now", ""},
		{"shutdown-on-sigint", "", "", "CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - argument(s) must be one of the following: default, save, nosave, now, force"},
		{"shutdown-on-sigterm", "save nosave", "", "CONFIG SET failed (possibly related to argument 'shutdown-on-sigterm') - shutdown options SAVE and NOSAVE can't be used simultaneously"},
		{"acl-pubsub-default", "allchannels", "allchannels", ""},
		{"cluster-preferred-endpoint-type", "hostname", "hostname", ""},
		{"supervised", "no", "", "CONFIG SET failed (possibly related to argument 'supervised') - can't set immutable config"},
		// integers
		{"timeout", "10", "10", ""},
		{"timeout", "-1", "", "CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"},
		{"timeout", "2147483648", "", "CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"},
		{"timeout", "1.5", "", "CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"},
		{"timeout", "010", "", "CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"},
		{"timeout", "1k", "", "CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"},
		{"port", "70000", "", "CONFIG SET failed (possibly related to argument 'port') - argument must be between 0 and 65535 inclusive"},
		{"list-max-listpack-size", "-5", "-5", ""},
		{"list-max-ziplist-size", "8", "8", ""},
		{"hz", "0", "1", ""},
		{"hz", "100000", "500", ""},
		{"hz", "50", "50", ""},
		{"maxmemory-samples", "0", "", "CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 2147483647 inclusive"},
		{"slowlog-log-slower-than", "-1", "-1", ""},
		{"slowlog-log-slower-than", "-2", "", "CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive"},
		{"cluster-node-timeout", "5000", "5000", ""},
		{"databases", "3", "", "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"},
		// unsigned
		{"maxclients", "0", "", "CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"},
		{"maxclients", "-1", "", "CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"},
		{"maxclients", "500", "500", ""},
		{"hash-max-listpack-entries", "-1", "", "CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument must be between 0 and 9223372036854775807 inclusive"},
		{"hash-max-ziplist-entries", "64", "64", ""},
		{"set-max-intset-entries", "1024", "1024", ""},
		{"slowlog-max-len", "0", "0", ""},
		// memory
		{"maxmemory", "1gb", "1073741824", ""},
		{"maxmemory", "1G", "1000000000", ""},
		{"maxmemory", "100MB", "104857600", ""},
		{"maxmemory", "", "0", ""},
		{"maxmemory", "-1", "", "CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
		{"maxmemory", "1x", "", "CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
		{"maxmemory", "99999999999999999999", "18446744073709551615", ""},
		{"proto-max-bulk-len", "1mb", "1048576", ""},
		{"proto-max-bulk-len", "1000", "", "CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"},
		{"client-query-buffer-limit", "2gb", "2147483648", ""},
		{"hash-max-listpack-value", "1kb", "1024", ""},
		{"zset-max-ziplist-value", "128", "128", ""},
		{"repl-backlog-size", "0", "", "CONFIG SET failed (possibly related to argument 'repl-backlog-size') - argument must be between 1 and 9223372036854775807 inclusive"},
		// memory or percent
		{"maxmemory-clients", "10%", "10%", ""},
		{"maxmemory-clients", "1mb", "1048576", ""},
		{"maxmemory-clients", "0%", "0", ""},
		{"maxmemory-clients", "101%", "", "CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100"},
		{"maxmemory-clients", "x%", "", "CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value"},
		// special
		{"save", "100 10 20 3", "100 10 20 3", ""},
		{"save", "", "", ""},
		{"save", "100  10", "", "CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"},
		{"save", "0 1", "", "CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"},
		{"save", "1 x", "", "CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"},
		{"client-output-buffer-limit", "normal 1mb 2k 3", "normal 1048576 2000 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60", ""},
		{"client-output-buffer-limit", "replica 1 2 3 pubsub 4 5 6", "normal 0 0 0 slave 1 2 3 pubsub 4 5 6", ""},
		{"client-output-buffer-limit", "", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", ""},
		{"client-output-buffer-limit", "master 1 2 3", "", "CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration."},
		{"client-output-buffer-limit", "normal 1 2", "", "CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration."},
		{"client-output-buffer-limit", "normal 1 2 x", "", "CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration."},
		{"oom-score-adj-values", "1 2", "", "CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - wrong number of arguments"},
		{"oom-score-adj-values", "-2000 0 2000", "-2000 0 2000", ""},
		{"oom-score-adj-values", "0 0 2001", "", "CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - Invalid oom-score-adj-values, elements must be between -2000 and 2000."},
		{"notify-keyspace-events", "KEA", "AKE", ""},
		{"notify-keyspace-events", "Km$", "$Km", ""},
		{"notify-keyspace-events", "g$lshzxetd", "A", ""},
		{"notify-keyspace-events", "glshzxetdn", "glshzxetdn", ""},
		{"notify-keyspace-events", "", "", ""},
		{"notify-keyspace-events", "KEZ", "", "CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."},
		{"bind", "127.0.0.1 ::1", "127.0.0.1 ::1", ""},
		{"latency-tracking-info-percentiles", "1.5 99.99 100", "1.5 99.99 100", ""},
		{"latency-tracking-info-percentiles", "", "", ""},
		{"latency-tracking-info-percentiles", "101", "", "CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"},
		{"latency-tracking-info-percentiles", "x", "", "CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters"},
		{"replicaof", "127.0.0.1 1", "", "CONFIG SET failed (possibly related to argument 'replicaof') - can't set immutable config"},
		{"slaveof", "no one", "", "CONFIG SET failed (possibly related to argument 'slaveof') - can't set immutable config"},
		{"dir", "/tmp", "", "CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"},
		// unknown
		{"nosuch", "1", "", "Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
		{"loading-process-events-interval-bytes", "1023", "", "CONFIG SET failed (possibly related to argument 'loading-process-events-interval-bytes') - argument must be between 1024 and 2147483647 inclusive"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			c := Default()
			before, _ := c.Get(tc.name)
			_, err := c.SetMany([]string{tc.name, tc.value}, true)
			got, found := c.Get(tc.name)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				if found {
					require.Equal(t, before, got, "a failed set keeps the old value")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.get, got)
		})
	}
}

func TestSetManyAtomic(t *testing.T) {
	c := Default()
	_, err := c.SetMany([]string{"timeout", "5", "maxmemory", "1mb", "maxmemory-policy", "foo"}, false)
	require.EqualError(t, err, "CONFIG SET failed (possibly related to argument 'maxmemory-policy') - "+enumPolicyErr)
	require.Equal(t, 0, c.Timeout)
	require.Equal(t, int64(0), c.MaxMemory)

	res, err := c.SetMany([]string{"timeout", "5", "maxmemory", "1mb", "hz", "10"}, false)
	require.NoError(t, err)
	require.Equal(t, []string{"timeout", "maxmemory"}, res.Changed, "hz did not change")
	require.Equal(t, 5, c.Timeout)
	require.Equal(t, int64(1<<20), c.MaxMemory)
	res.Undo()
	require.Equal(t, 0, c.Timeout)
	require.Equal(t, int64(0), c.MaxMemory)
}

func TestSetManyErrorOrder(t *testing.T) {
	for _, tc := range []struct {
		pairs []string
		err   string
	}{
		{[]string{"timeout", "1", "TIMEOUT", "2"}, "CONFIG SET failed (possibly related to argument 'TIMEOUT') - duplicate parameter"},
		{[]string{"foo", "1", "databases", "1"}, "Unknown option or number of arguments for CONFIG SET - 'foo'"},
		{[]string{"databases", "1", "foo", "1"}, "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"},
		{[]string{"foo", "1", "bar", "1"}, "Unknown option or number of arguments for CONFIG SET - 'foo'"},
		{[]string{"port", "x", "databases", "1"}, "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"},
		{[]string{"appendonly", "no", "port", "abc"}, "CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer"},
		{[]string{"Slave-Read-Only", "x"}, "CONFIG SET failed (possibly related to argument 'slave-read-only') - argument must be 'yes' or 'no'"},
	} {
		_, err := Default().SetMany(tc.pairs, false)
		require.EqualError(t, err, tc.err, "%q", tc.pairs)
	}
	// an alias and its option are distinct parameters: the last one wins
	c := Default()
	_, err := c.SetMany([]string{"hash-max-ziplist-entries", "1", "hash-max-listpack-entries", "2"}, false)
	require.NoError(t, err)
	require.Equal(t, int64(2), c.HashMaxListpackEntries)
}

func TestProtectedConfigs(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	t.Chdir(wd)
	c := Default()
	c.EnableProtectedConfigs = "local"
	_, err = c.SetMany([]string{"dbfilename", "x.rdb"}, false)
	require.EqualError(t, err, "CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config")
	_, err = c.SetMany([]string{"dbfilename", "x.rdb"}, true)
	require.NoError(t, err)
	require.Equal(t, "x.rdb", c.DBFilename)
	_, err = c.SetMany([]string{"dbfilename", "a/b"}, true)
	require.EqualError(t, err, "CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename")

	c.EnableProtectedConfigs = "yes"
	dir := t.TempDir()
	_, err = c.SetMany([]string{"dir", dir}, false)
	require.NoError(t, err)
	got, _ := c.Get("dir")
	require.Equal(t, dir, got)
	_, err = c.SetMany([]string{"dir", dir + "/missing"}, false)
	require.EqualError(t, err, "CONFIG SET failed (possibly related to argument 'dir') - No such file or directory")
}

func TestSetFields(t *testing.T) {
	c := Default()
	_, err := c.SetMany([]string{
		"port", "7000", "bind", "127.0.0.1", "maxclients", "12", "tcp-keepalive", "0",
		"notify-keyspace-events", "Ex", "save", "10 1", "cluster-allow-reads-when-down", "yes",
		"maxmemory-policy", "allkeys-lfu", "zset-max-listpack-entries", "7", "list-max-listpack-size", "-3",
	}, false)
	require.NoError(t, err)
	require.Equal(t, 7000, c.Port)
	require.Equal(t, []string{"127.0.0.1"}, c.Bind)
	require.Equal(t, 12, c.MaxClients)
	require.Equal(t, 0, c.TCPKeepAlive)
	require.Equal(t, "xE", c.NotifyKeyspaceEvents)
	require.Equal(t, notifyExpired|notifyKeyevent, c.NotifyFlags())
	require.Equal(t, []SavePoint{{10, 1}}, c.SavePoints())
	require.True(t, c.ClusterAllowReadsWhenDown)
	require.Equal(t, "allkeys-lfu", c.MaxMemoryPolicy)
	require.Equal(t, int64(7), c.ZsetMaxListpackEntries)
	require.Equal(t, -3, c.ListMaxListpackSize)
}

func TestMatch(t *testing.T) {
	c := Default()
	glob := func(p, n string) bool { // enough of a glob for the test: prefix*
		return len(p) > 0 && p[len(p)-1] == '*' && len(n) >= len(p)-1 && equalFold(n[:len(p)-1], p[:len(p)-1])
	}
	pairs := c.Match([]string{"PORT"}, glob)
	require.Equal(t, []Pair{{"PORT", "6379"}}, pairs)
	pairs = c.Match([]string{"port", "PORT", "po*"}, glob)
	require.Equal(t, []Pair{{"port", "6379"}}, pairs)
	pairs = c.Match([]string{"hash-max-*"}, glob)
	require.ElementsMatch(t, []Pair{{"hash-max-listpack-entries", "512"}, {"hash-max-ziplist-entries", "512"},
		{"hash-max-listpack-value", "64"}, {"hash-max-ziplist-value", "64"}}, pairs)
	require.Empty(t, c.Match([]string{"nosuch"}, glob))
	require.Empty(t, c.Match([]string{"loading-process*"}, glob), "hidden options need an exact name")
	require.Equal(t, []Pair{{"loading-process-events-interval-bytes", "2097152"}}, c.Match([]string{"loading-process-events-interval-bytes"}, glob))
	all := c.Match([]string{"*"}, func(string, string) bool { return true })
	require.Len(t, all, 192)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

func TestDefaults(t *testing.T) {
	c := Default()
	require.Equal(t, 6379, c.Port)
	require.Equal(t, []string{"*", "-::*"}, c.Bind)
	require.Equal(t, "3600 1 300 100 60 10000", c.Save)
	require.Equal(t, []SavePoint{{3600, 1}, {300, 100}, {60, 10000}}, c.SavePoints())
	require.Equal(t, int64(512<<20), c.ProtoMaxBulkLen)
	require.Equal(t, int64(1<<30), c.ClientQueryBufferLimit)
	require.Equal(t, int64(512), c.HashMaxListpackEntries)
	require.Equal(t, int64(64), c.HashMaxListpackValue)
	require.Equal(t, int64(128), c.ZsetMaxListpackEntries)
	require.Equal(t, int64(512), c.SetMaxIntsetEntries)
	require.Equal(t, 10, c.HZ)
	require.Equal(t, "notice", c.LogLevel)
	require.Equal(t, 16, c.Databases)
	require.Equal(t, "nodes.conf", c.ClusterConfigFile)
	require.Equal(t, int64(15000), c.ClusterNodeTimeout)
	require.True(t, c.ReplicaReadOnly)
	require.Equal(t, [3]OutputBufferLimit{{0, 0, 0}, {256 << 20, 64 << 20, 60}, {32 << 20, 8 << 20, 60}}, c.ClientOutputBufferLimit)
	require.Equal(t, []float64{50, 99, 99.9}, c.LatencyTrackingInfoPercentiles)

	n := c.Clone()
	n.Bind[0] = "x"
	n.extra["syslog-ident"] = "y"
	require.Equal(t, "*", c.Bind[0])
	v, _ := c.Get("syslog-ident")
	require.Equal(t, "redis", v)
}

func TestMaster(t *testing.T) {
	c := Default()
	_, _, ok := c.Master()
	require.False(t, ok)
	l := &Loader{}
	c, err := l.Load([]string{"--replicaof", "10.0.0.1", "6380"})
	require.NoError(t, err)
	host, port, ok := c.Master()
	require.True(t, ok)
	require.Equal(t, "10.0.0.1", host)
	require.Equal(t, 6380, port)
	v, _ := c.Get("slaveof")
	require.Equal(t, "10.0.0.1 6380", v)
}
