package server

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/rdb"
	"github.com/redcluster/redcluster/internal/testutil"
)

// dumpOf returns the payload DUMP replies with.
func dumpOf(t *testing.T, c *testutil.Conn, key string) string {
	t.Helper()
	r := testDo(t, c, "DUMP", key)
	require.True(t, strings.HasPrefix(r, "$"), r)
	i := strings.Index(r, "\r\n")
	n, err := strconv.Atoi(r[1:i])
	require.NoError(t, err)
	return r[i+2 : i+2+n]
}

// withFooter appends a DUMP footer (version ver, right CRC) to body.
func withFooter(body []byte, ver uint16) string {
	b := binary.LittleEndian.AppendUint16(append([]byte(nil), body...), ver)
	return string(binary.LittleEndian.AppendUint64(b, rdb.CRC64(b)))
}

func TestRestoreErrors(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	testDo(t, c, "SET", "src", "hello")
	testDo(t, c, "SET", "busy", "x")
	p := dumpOf(t, c, "src")
	badCRC := p[:len(p)-1] + string(p[len(p)-1]^1)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"DUMP", "missing"}, "$-1\r\n"},
		{[]string{"DUMP"}, "-ERR wrong number of arguments for 'dump' command\r\n"},
		{[]string{"RESTORE", "k", "0"}, "-ERR wrong number of arguments for 'restore' command\r\n"},
		{[]string{"RESTORE", "k", "0", "x"}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "k", "0", badCRC}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "k", "0", withFooter([]byte{0, 1, 'x'}, 11)}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "k", "0", withFooter([]byte{99, 1, 'x'}, 10)}, "-ERR Bad data format\r\n"},
		{[]string{"RESTORE", "k", "0", withFooter([]byte{0, 5, 'x'}, 10)}, "-ERR Bad data format\r\n"},
		{[]string{"RESTORE", "busy", "0", p}, "-BUSYKEY Target key name already exists.\r\n"},
		{[]string{"RESTORE", "busy", "-1", p}, "-BUSYKEY Target key name already exists.\r\n"},
		{[]string{"RESTORE", "busy", "0", p, "FOO"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "k", "-1", p}, "-ERR Invalid TTL value, must be >= 0\r\n"},
		{[]string{"RESTORE", "k", "x", p}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"RESTORE", "k", "-1", "bad"}, "-ERR Invalid TTL value, must be >= 0\r\n"},
		{[]string{"RESTORE", "k", "0", p, "IDLETIME", "-1"}, "-ERR Invalid IDLETIME value, must be >= 0\r\n"},
		{[]string{"RESTORE", "k", "0", p, "IDLETIME", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"RESTORE", "k", "0", p, "IDLETIME"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "k", "0", p, "FREQ", "256"}, "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"},
		{[]string{"RESTORE", "k", "0", p, "FREQ", "-1"}, "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"},
		{[]string{"RESTORE", "k", "0", p, "IDLETIME", "1", "FREQ", "1"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "k", "0", p, "FREQ", "1", "IDLETIME", "1"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "k", "0", p, "REPLACE", "REPLACE", "ABSTTL"}, "+OK\r\n"},
		{[]string{"GET", "k"}, "$5\r\nhello\r\n"},
		{[]string{"RESTORE", "k", "0", p}, "-BUSYKEY Target key name already exists.\r\n"},
		{[]string{"RESTORE", "busy", "0", p, "REPLACE"}, "+OK\r\n"},
		{[]string{"GET", "busy"}, "$5\r\nhello\r\n"},
		// a time already past: OK, and no key (REPLACE deletes the old one)
		{[]string{"RESTORE", "past", "1", p, "ABSTTL"}, "+OK\r\n"},
		{[]string{"EXISTS", "past"}, ":0\r\n"},
		{[]string{"RESTORE", "busy", "1", p, "ABSTTL", "REPLACE"}, "+OK\r\n"},
		{[]string{"EXISTS", "busy"}, ":0\r\n"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, testDo(t, c, tc.args...), "%q", tc.args)
	}
}

// TestDumpRestoreRoundTrip: every type comes back from its payload with
// its value, its encoding and the TTL given.
func TestDumpRestoreRoundTrip(t *testing.T) {
	s := testServer(t, func(c *config.Config) { c.Save = "" })
	c := testDial(t, s)
	fillTypes(t, c)
	big := []string{"HSET", "bighash"}
	for i := 0; i < 600; i++ {
		big = append(big, "f"+strconv.Itoa(i), "v")
	}
	testDo(t, c, big...)
	testDo(t, c, "RPUSH", "biglist", strings.Repeat("x", 10000), strings.Repeat("y", 10000))
	for _, key := range []string{"str", "int", "list", "hash", "set", "sset", "zset", "bighash", "biglist"} {
		p := dumpOf(t, c, key)
		require.Equal(t, "+OK\r\n", testDo(t, c, "RESTORE", "copy:"+key, "100000", p, "IDLETIME", "1000"))
		idle, err := strconv.Atoi(strings.Trim(testDo(t, c, "OBJECT", "IDLETIME", "copy:"+key), ":\r\n"))
		require.NoError(t, err)
		require.InDelta(t, 1000, idle, 2)
		queries := [][]string{{"TYPE", "%s"}, {"OBJECT", "ENCODING", "%s"}}
		if testDo(t, c, "OBJECT", "ENCODING", key) != "$9\r\nhashtable\r\n" { // a table's order is its own
			queries = append(queries, []string{"DUMP", "%s"})
		}
		for _, q := range queries {
			a := make([]string, len(q))
			b := make([]string, len(q))
			for i, x := range q {
				a[i] = strings.ReplaceAll(x, "%s", key)
				b[i] = strings.ReplaceAll(x, "%s", "copy:"+key)
			}
			require.Equal(t, testDo(t, c, a...), testDo(t, c, b...), "%v", b)
		}
		ttl, err := strconv.Atoi(strings.Trim(testDo(t, c, "PTTL", "copy:"+key), ":\r\n"))
		require.NoError(t, err)
		require.InDelta(t, 100000, ttl, 5000)
	}
	// the sorted set from its payload answers like the original
	require.Equal(t, testDo(t, c, "ZRANGE", "zset", "0", "-1", "WITHSCORES"), testDo(t, c, "ZRANGE", "copy:zset", "0", "-1", "WITHSCORES"))
	require.Equal(t, testDo(t, c, "HGETALL", "hash"), testDo(t, c, "HGETALL", "copy:hash"))
	require.Equal(t, testDo(t, c, "LRANGE", "biglist", "0", "-1"), testDo(t, c, "LRANGE", "copy:biglist", "0", "-1"))
}

// TestDumpPayloadFromRedis: payloads redis-server 7.0.15 produced
// (captured from DUMP) restore to their values.
func TestDumpPayloadFromRedis(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	tests := []struct {
		payload string
		check   []string
		want    string
	}{
		// SET s hello
		{"\x00\x05hello\n\x00cr\xdfve4 \n", []string{"GET", "k"}, "$5\r\nhello\r\n"},
		// SET s 12345
		{"\x00\xc190\n\x00\x9d\x94\xea'\x93\xfc\b\xb9", []string{"GET", "k"}, "$5\r\n12345\r\n"},
	}
	for _, tc := range tests {
		testDo(t, c, "DEL", "k")
		require.Equal(t, "+OK\r\n", testDo(t, c, "RESTORE", "k", "0", tc.payload))
		require.Equal(t, tc.want, testDo(t, c, tc.check...))
		require.Equal(t, tc.payload, dumpOf(t, c, "k"))
	}
}
