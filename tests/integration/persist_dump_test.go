package integration

// DUMP and RESTORE between redcluster and redis-server 7.0.15: payloads
// of every type and encoding go both ways and give the same values and
// encodings as a RESTORE on redis-server itself; without compression the
// payloads are byte for byte redis-server's (except for hash tables,
// whose order is the server's own); RESTORE reaches a replication stream
// in the form Redis 7.0 propagates.

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

// bulkOf returns the content of a raw bulk string reply.
func bulkOf(t *testing.T, raw []byte) []byte {
	t.Helper()
	require.True(t, len(raw) > 0 && raw[0] == '$', "not a bulk reply: %.80q", raw)
	i := bytes.Index(raw, []byte("\r\n"))
	n, err := strconv.Atoi(string(raw[1:i]))
	require.NoError(t, err)
	return raw[i+2 : i+2+n]
}

func TestDumpRestoreBetweenServers(t *testing.T) {
	redisBin, ours := testutil.RedisServer(t), testutil.Binary(t)
	for _, compression := range []string{"no", "yes"} {
		t.Run("rdbcompression "+compression, func(t *testing.T) {
			servers := []*testutil.Proc{
				testutil.Start(t, redisBin, "--rdbcompression", compression),
				testutil.Start(t, ours, "--rdbcompression", compression),
			}
			conns := make([]*testutil.Conn, 2)
			for i, p := range servers {
				fill(t, p.Addr(), everyTypeCommands())
				fill(t, p.Addr(), bigValueCommands())
				c, err := testutil.Dial(p.Addr())
				require.NoError(t, err)
				defer c.Close()
				conns[i] = c
			}
			dataset := datasetOf(t, servers[0].Addr(), []int{0})
			require.Greater(t, len(dataset), 20)
			identical := 0
			for name, st := range dataset {
				key := strings.TrimPrefix(name, "0:")
				var payloads [2][]byte
				for i, c := range conns {
					raw, err := c.DoStrings("DUMP", key)
					require.NoError(t, err)
					payloads[i] = append([]byte(nil), bulkOf(t, raw)...)
				}
				tableOrder := st.Encoding == "hashtable" && (st.Type == "hash" || st.Type == "set")
				if compression == "no" && !tableOrder {
					require.Equal(t, payloads[0], payloads[1], "DUMP %s (%s, %s)", key, st.Type, st.Encoding)
					identical++
				}
				ttl := []byte("0")
				var abs [][]byte
				if st.ExpireMs > 0 {
					ttl, abs = []byte(strconv.FormatInt(st.ExpireMs, 10)), [][]byte{[]byte("ABSTTL")}
				}
				// every server restores both payloads
				for _, c := range conns {
					for j, prefix := range []string{"r:", "o:"} {
						args := append([][]byte{[]byte("RESTORE"), []byte(prefix + key), ttl, payloads[j]}, abs...)
						r, err := c.Do(args...)
						require.NoError(t, err)
						require.Equal(t, "+OK\r\n", string(r), "RESTORE %s%s", prefix, key)
					}
				}
			}
			if compression == "no" {
				require.Greater(t, identical, 15)
			}
			requireSameDataset(t, datasetOf(t, servers[0].Addr(), []int{0}), datasetOf(t, servers[1].Addr(), []int{0}), true)
		})
	}
}

// TestRestorePropagation: RESTORE with a relative TTL reaches replicas
// with the absolute time and ABSTTL; the other forms as they came; a
// REPLACE whose time already passed as DEL. The streams of redis-server
// and redcluster must say the same.
func TestRestorePropagation(t *testing.T) {
	type result struct {
		cmds   []streamCmd
		before int64
		after  int64
	}
	run := func(bin string) result {
		p := testutil.Start(t, bin, "--repl-diskless-sync-delay", "0")
		c, err := testutil.Dial(p.Addr())
		require.NoError(t, err)
		defer c.Close()
		_, err = c.DoStrings("SET", "src", "value")
		require.NoError(t, err)
		raw, err := c.DoStrings("DUMP", "src")
		require.NoError(t, err)
		payload := append([]byte(nil), bulkOf(t, raw)...)
		rr := attachRawReplica(t, p.Addr())
		var res result
		res.before = time.Now().UnixMilli()
		for _, args := range [][]string{
			{"RESTORE", "k1", "100000", string(payload)},
			{"RESTORE", "k2", "0", string(payload)},
			{"RESTORE", "k3", "4102444800000", string(payload), "ABSTTL"},
			{"RESTORE", "k1", "1", string(payload), "REPLACE", "ABSTTL"},
			{"RESTORE", "k4", "1", string(payload), "ABSTTL"},
			{"RESTORE", "k2", "0", string(payload)},
			{"RESTORE", "k5", "5000", string(payload), "IDLETIME", "10"},
		} {
			_, err := c.DoStrings(args...)
			require.NoError(t, err)
		}
		res.after = time.Now().UnixMilli()
		off, err := strconv.ParseInt(infoValue(t, c, "master_repl_offset"), 10, 64)
		require.NoError(t, err)
		res.cmds = rr.readUntil(t, off)
		return res
	}
	normalize := func(r result) []string {
		var out []string
		for _, cmd := range r.cmds {
			args := append([]string(nil), cmd.args...)
			if strings.EqualFold(args[0], "restore") && len(args) > 4 && strings.EqualFold(args[len(args)-1], "absttl") && args[2] != "4102444800000" {
				ms, err := strconv.ParseInt(args[2], 10, 64)
				require.NoError(t, err)
				require.GreaterOrEqual(t, ms, r.before)
				require.LessOrEqual(t, ms, r.after+100000)
				args[2] = "<abs>"
			}
			if len(args) > 3 {
				args[3] = "<payload>"
			}
			out = append(out, strconv.Itoa(cmd.db)+" "+strings.Join(args, " "))
		}
		return out
	}
	want := normalize(run(testutil.RedisServer(t)))
	got := normalize(run(testutil.Binary(t)))
	require.Equal(t, want, got)
	require.Contains(t, got, "0 RESTORE k1 <abs> <payload> ABSTTL")
	require.Contains(t, got, "0 DEL k1")
}

// infoValue reads one INFO field over c.
func infoValue(t *testing.T, c *testutil.Conn, field string) string {
	t.Helper()
	raw, err := c.DoStrings("INFO", "everything")
	require.NoError(t, err)
	for _, line := range strings.Split(string(raw), "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	t.Fatalf("no INFO field %s", field)
	return ""
}
