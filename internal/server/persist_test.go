package server

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/rdb"
	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/testutil"
)

// persistServer runs a server whose dump.rdb lives in dir, loading it
// first like the binary does; tweak adjusts the configuration.
func persistServer(t *testing.T, dir string, tweak func(*config.Config)) *Server {
	t.Helper()
	s, err := startPersistServer(t, dir, tweak)
	require.NoError(t, err)
	return s
}

func startPersistServer(t *testing.T, dir string, tweak func(*config.Config)) (*Server, error) {
	t.Helper()
	cfg := config.Default()
	cfg.Port = 0
	cfg.Bind = []string{"127.0.0.1"}
	cfg.Save = ""
	if tweak != nil {
		tweak(cfg)
	}
	if cfg.ClusterEnabled {
		cfg.Port = testutil.FreePort(t)
		cfg.ClusterConfigFile = filepath.Join(dir, "nodes.conf")
	}
	s := New(cfg, zerolog.Nop())
	s.persist.dir = dir
	if err := s.LoadDataFromDisk(); err != nil {
		return nil, err
	}
	require.NoError(t, s.Listen())
	go s.Serve()
	t.Cleanup(func() {
		s.Close()
		s.waitBgsave()
	})
	return s, nil
}

// rdbKeys decodes an RDB file into "db:key" -> value kind, with the TTLs.
func rdbKeys(t *testing.T, path string) (map[string]string, map[string]int64) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	kinds, ttls := map[string]string{}, map[string]int64{}
	require.NoError(t, rdb.Walk(bufio.NewReader(f), nil, func(r *rdb.Record) error {
		if r.Kind == rdb.RecordEntry {
			k := strconv.Itoa(r.Entry.DB) + ":" + string(r.Entry.Key)
			kinds[k] = r.Entry.Value.Kind.String()
			if r.Entry.ExpireMs != 0 {
				ttls[k] = r.Entry.ExpireMs
			}
		}
		return nil
	}))
	return kinds, ttls
}

func fillTypes(t *testing.T, c *testutil.Conn) {
	t.Helper()
	for _, cmd := range [][]string{
		{"SET", "str", "hello"},
		{"SET", "int", "12345"},
		{"SET", "vol", "v", "PX", "3600000"},
		{"RPUSH", "list", "a", "b", "c"},
		{"HSET", "hash", "f", "v"},
		{"SADD", "set", "1", "2", "3"},
		{"SADD", "sset", "x", "y"},
		{"ZADD", "zset", "1", "a", "2.5", "b"},
		{"SELECT", "3"},
		{"SET", "db3", "x"},
		{"SELECT", "0"},
	} {
		r := testDo(t, c, cmd...)
		require.NotEqual(t, byte('-'), r[0], "%v: %s", cmd, r)
	}
}

func TestSaveAndInfo(t *testing.T) {
	dir := t.TempDir()
	s := persistServer(t, dir, nil)
	c := testDial(t, s)
	fillTypes(t, c)
	require.Equal(t, "15", infoField(t, c, "rdb_changes_since_last_save"))
	require.Equal(t, "0", infoField(t, c, "rdb_saves"))
	before := testDo(t, c, "LASTSAVE")
	require.Equal(t, "+OK\r\n", testDo(t, c, "SAVE"))
	require.Equal(t, "0", infoField(t, c, "rdb_changes_since_last_save"))
	require.Equal(t, "1", infoField(t, c, "rdb_saves"))
	require.Equal(t, "ok", infoField(t, c, "rdb_last_bgsave_status"))
	require.Equal(t, "-1", infoField(t, c, "rdb_last_bgsave_time_sec"))
	after := testDo(t, c, "LASTSAVE")
	require.GreaterOrEqual(t, after, before)
	require.Equal(t, ":"+infoField(t, c, "rdb_last_save_time")+"\r\n", after)

	kinds, ttls := rdbKeys(t, filepath.Join(dir, "dump.rdb"))
	require.Equal(t, map[string]string{"0:str": "string", "0:int": "string", "0:vol": "string", "0:list": "list",
		"0:hash": "hash", "0:set": "set", "0:sset": "set", "0:zset": "zset", "3:db3": "string"}, kinds)
	require.Len(t, ttls, 1)
	require.InDelta(t, time.Now().UnixMilli()+3600000, ttls["0:vol"], 60000)
	// no temporary file is left behind
	files, _ := filepath.Glob(filepath.Join(dir, "temp-*"))
	require.Empty(t, files)

	// arity and syntax
	require.Equal(t, "-ERR wrong number of arguments for 'save' command\r\n", testDo(t, c, "SAVE", "x"))
	require.Equal(t, "-ERR syntax error\r\n", testDo(t, c, "BGSAVE", "x"))
	require.Equal(t, "-ERR syntax error\r\n", testDo(t, c, "BGSAVE", "SCHEDULE", "x"))
	require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
	require.Equal(t, "-ERR Command not allowed inside a transaction\r\n", testDo(t, c, "SAVE"))
	testDo(t, c, "DISCARD")
}

func TestBgsave(t *testing.T) {
	dir := t.TempDir()
	s := persistServer(t, dir, nil)
	c := testDial(t, s)
	fillTypes(t, c)
	// A slot lock held here keeps the BGSAVE from taking its snapshot.
	s.KS.Lock(100)
	locked := true
	defer func() {
		if locked {
			s.KS.Unlock(100)
		}
	}()
	require.Equal(t, "+Background saving started\r\n", testDo(t, c, "BGSAVE"))
	require.Equal(t, "1", infoField(t, c, "rdb_bgsave_in_progress"))
	require.NotEqual(t, "-1", infoField(t, c, "rdb_current_bgsave_time_sec"))
	for _, cmd := range [][]string{{"BGSAVE"}, {"BGSAVE", "SCHEDULE"}, {"SAVE"}} {
		require.Equal(t, "-ERR Background save already in progress\r\n", testDo(t, c, cmd...), "%v", cmd)
	}
	require.Equal(t, "15", infoField(t, c, "rdb_changes_since_last_save"))
	s.KS.Unlock(100)
	locked = false
	waitInfoField(t, c, "rdb_bgsave_in_progress", "0")
	require.Equal(t, "0", infoField(t, c, "rdb_changes_since_last_save"))
	require.Equal(t, "1", infoField(t, c, "rdb_saves"))
	require.Equal(t, "ok", infoField(t, c, "rdb_last_bgsave_status"))
	require.Equal(t, "0", infoField(t, c, "rdb_last_bgsave_time_sec"))
	require.Equal(t, "-1", infoField(t, c, "rdb_current_bgsave_time_sec"))
	kinds, _ := rdbKeys(t, filepath.Join(dir, "dump.rdb"))
	require.Len(t, kinds, 9)

	// Inside a transaction BGSAVE is scheduled, and the cron runs it.
	testDo(t, c, "SET", "more", "1")
	require.Equal(t, "+OK\r\n", testDo(t, c, "MULTI"))
	require.Equal(t, "+QUEUED\r\n", testDo(t, c, "BGSAVE"))
	require.Equal(t, "*1\r\n+Background saving scheduled\r\n", testDo(t, c, "EXEC"))
	waitInfoField(t, c, "rdb_saves", "2")
	waitInfoField(t, c, "rdb_bgsave_in_progress", "0")
	kinds, _ = rdbKeys(t, filepath.Join(dir, "dump.rdb"))
	require.Contains(t, kinds, "0:more")
}

// TestBgsaveWritesDuringSnapshot: writes made while a BGSAVE runs stay
// unsaved changes; the file holds the dataset of the snapshot point.
func TestBgsaveWritesDuringSnapshot(t *testing.T) {
	dir := t.TempDir()
	s := persistServer(t, dir, nil)
	c := testDial(t, s)
	for i := 0; i < 1000; i++ {
		testDo(t, c, "SET", "k"+strconv.Itoa(i), "v")
	}
	require.Equal(t, "+Background saving started\r\n", testDo(t, c, "BGSAVE"))
	for i := 0; i < 50; i++ {
		testDo(t, c, "SET", "late"+strconv.Itoa(i), "v")
	}
	waitInfoField(t, c, "rdb_bgsave_in_progress", "0")
	changes, _ := strconv.Atoi(infoField(t, c, "rdb_changes_since_last_save"))
	kinds, _ := rdbKeys(t, filepath.Join(dir, "dump.rdb"))
	late := 0
	for k := range kinds {
		if strings.HasPrefix(k, "0:late") {
			late++
		}
	}
	// every late write is either in the file or still counted unsaved
	// (a write counts after its command, so the count may be larger)
	require.GreaterOrEqual(t, changes+late, 50)
	require.Equal(t, 1000+late, len(kinds))
}

func TestSavePoints(t *testing.T) {
	dir := t.TempDir()
	s := persistServer(t, dir, func(c *config.Config) { c.Save = "1 2" })
	c := testDial(t, s)
	testDo(t, c, "SET", "a", "1")
	// one change: under the threshold, nothing is saved
	time.Sleep(1500 * time.Millisecond)
	require.Equal(t, "0", infoField(t, c, "rdb_saves"))
	testDo(t, c, "SET", "b", "2")
	waitInfoField(t, c, "rdb_saves", "1")
	waitInfoField(t, c, "rdb_bgsave_in_progress", "0")
	require.Equal(t, "0", infoField(t, c, "rdb_changes_since_last_save"))
	kinds, _ := rdbKeys(t, filepath.Join(dir, "dump.rdb"))
	require.Len(t, kinds, 2)
	// save "" disables them
	require.Equal(t, "+OK\r\n", testDo(t, c, "CONFIG", "SET", "save", ""))
	testDo(t, c, "SET", "c", "3")
	testDo(t, c, "SET", "d", "4")
	time.Sleep(1500 * time.Millisecond)
	require.Equal(t, "1", infoField(t, c, "rdb_saves"))
}

func TestFlushAllSaves(t *testing.T) {
	tests := []struct {
		name    string
		save    string
		changes string
		file    bool
	}{
		{"no save points", "", "4", false},
		{"save points", "3600 1", "0", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := persistServer(t, dir, func(c *config.Config) { c.Save = tc.save })
			c := testDial(t, s)
			testDo(t, c, "MSET", "a", "1", "b", "2")
			require.Equal(t, "+OK\r\n", testDo(t, c, "FLUSHALL"))
			require.Equal(t, tc.changes, infoField(t, c, "rdb_changes_since_last_save"))
			_, err := os.Stat(filepath.Join(dir, "dump.rdb"))
			require.Equal(t, tc.file, err == nil, "%v", err)
			require.Equal(t, "0", infoField(t, c, "rdb_saves"))
			if tc.file {
				kinds, _ := rdbKeys(t, filepath.Join(dir, "dump.rdb"))
				require.Empty(t, kinds)
			}
		})
	}
}

// TestFlushAllKillsBgsave: FLUSHALL abandons a BGSAVE still running, so
// that the dataset before the flush never lands on disk after it.
func TestFlushAllKillsBgsave(t *testing.T) {
	dir := t.TempDir()
	s := persistServer(t, dir, func(c *config.Config) { c.Save = "3600 1" })
	c := testDial(t, s)
	testDo(t, c, "SET", "a", "1")
	s.KS.Lock(5)
	require.Equal(t, "+Background saving started\r\n", testDo(t, c, "BGSAVE"))
	c2 := testDial(t, s)
	testSend(t, c2, "FLUSHALL")
	s.KS.Unlock(5)
	require.Equal(t, "+OK\r\n", testRead(t, c2))
	waitInfoField(t, c, "rdb_bgsave_in_progress", "0")
	require.Equal(t, "ok", infoField(t, c, "rdb_last_bgsave_status"))
	kinds, _ := rdbKeys(t, filepath.Join(dir, "dump.rdb"))
	require.Empty(t, kinds)
	files, _ := filepath.Glob(filepath.Join(dir, "temp-*"))
	require.Empty(t, files)
}

func TestSaveErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	s := persistServer(t, dir, func(c *config.Config) { c.Save = "3600 1" })
	c := testDial(t, s)
	testDo(t, c, "SET", "a", "1")
	require.Equal(t, "-ERR\r\n", testDo(t, c, "SAVE"))
	require.Equal(t, "ok", infoField(t, c, "rdb_last_bgsave_status"))
	require.Equal(t, "1", infoField(t, c, "rdb_changes_since_last_save"))
	require.Equal(t, "+Background saving started\r\n", testDo(t, c, "BGSAVE"))
	waitInfoField(t, c, "rdb_bgsave_in_progress", "0")
	require.Equal(t, "err", infoField(t, c, "rdb_last_bgsave_status"))
	require.Contains(t, s.diskErrorRefusal(), "MISCONF Redis is configured to save RDB snapshots")
	// SHUTDOWN cannot save: it is refused, unless forced
	require.Equal(t, "-ERR Errors trying to SHUTDOWN. Check logs.\r\n", testDo(t, c, "SHUTDOWN"))
	// stop-writes-on-bgsave-error: writes and PING are refused, reads run.
	misconf := "-" + s.diskErrorRefusal() + "\r\n"
	require.Equal(t, misconf, testDo(t, c, "PING"))
	require.Equal(t, misconf, testDo(t, c, "SET", "b", "2"))
	require.Equal(t, "$1\r\n1\r\n", testDo(t, c, "GET", "a"))
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.Equal(t, "+OK\r\n", testDo(t, c, "SAVE"))
	require.Equal(t, "ok", infoField(t, c, "rdb_last_bgsave_status"))
	require.Empty(t, s.diskErrorRefusal())
	require.Equal(t, "+PONG\r\n", testDo(t, c, "PING"))
}

func TestShutdownSave(t *testing.T) {
	tests := []struct {
		save string
		args []string
		file bool
	}{
		{"", []string{"SHUTDOWN"}, false},
		{"", []string{"SHUTDOWN", "SAVE"}, true},
		{"3600 1", []string{"SHUTDOWN"}, true},
		{"3600 1", []string{"SHUTDOWN", "NOSAVE"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.save+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			s := persistServer(t, dir, func(c *config.Config) { c.Save = tc.save })
			c := testDial(t, s)
			testDo(t, c, "SET", "a", "1")
			testSend(t, c, tc.args...)
			<-s.Done()
			_, err := os.Stat(filepath.Join(dir, "dump.rdb"))
			require.Equal(t, tc.file, err == nil, "%v", err)
		})
	}
}

// TestShutdownKillsBgsave: SHUTDOWN stops a running BGSAVE, which leaves
// no temporary file, before its own save.
func TestShutdownKillsBgsave(t *testing.T) {
	dir := t.TempDir()
	s := persistServer(t, dir, nil)
	c := testDial(t, s)
	testDo(t, c, "SET", "a", "1")
	s.KS.Lock(7)
	require.Equal(t, "+Background saving started\r\n", testDo(t, c, "BGSAVE"))
	done := make(chan error, 1)
	go func() { done <- s.RunShutdownHooks(true) }()
	// the BGSAVE is cancelled, then SHUTDOWN waits for it to end
	require.Eventually(t, func() bool {
		s.persist.mu.Lock()
		defer s.persist.mu.Unlock()
		return s.persist.bgCancel != nil && s.persist.bgCancel.Load()
	}, 5*time.Second, time.Millisecond)
	s.KS.Unlock(7)
	require.NoError(t, <-done)
	kinds, _ := rdbKeys(t, filepath.Join(dir, "dump.rdb"))
	require.Len(t, kinds, 1)
	files, _ := filepath.Glob(filepath.Join(dir, "temp-*"))
	require.Empty(t, files)
}

// TestRestartRoundTrip: what a server saved, a new one loads.
func TestRestartRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := persistServer(t, dir, nil)
	c := testDial(t, s)
	fillTypes(t, c)
	testDo(t, c, "SET", "gone", "x", "PX", "1")
	time.Sleep(5 * time.Millisecond) // "gone" expires; the file still holds it
	s.KS.SetKeepExpired(true)
	require.Equal(t, "+OK\r\n", testDo(t, c, "SAVE"))
	kinds, _ := rdbKeys(t, filepath.Join(dir, "dump.rdb"))
	require.Contains(t, kinds, "0:gone")

	s2 := persistServer(t, dir, nil)
	c2 := testDial(t, s2)
	for _, q := range [][]string{
		{"GET", "str"}, {"GET", "int"}, {"OBJECT", "ENCODING", "int"}, {"LRANGE", "list", "0", "-1"},
		{"HGETALL", "hash"}, {"SMEMBERS", "set"}, {"OBJECT", "ENCODING", "set"}, {"ZRANGE", "zset", "0", "-1", "WITHSCORES"},
		{"PEXPIRETIME", "vol"}, {"SELECT", "3"}, {"GET", "db3"},
	} {
		require.Equal(t, testDo(t, c, q...), testDo(t, c2, q...), "%v", q)
	}
	// the expired key was skipped (a master), and counted
	require.Equal(t, int64(8), s2.KS.DBs[0].Size())
	require.Equal(t, "1", infoField(t, c2, "rdb_last_load_keys_expired"))
	require.Equal(t, "9", infoField(t, c2, "rdb_last_load_keys_loaded"))
	require.Equal(t, "0", infoField(t, c2, "rdb_changes_since_last_save"))
	require.Equal(t, "0", infoField(t, c2, "loading"))
}

// TestLoadKeepsExpiredOnReplica: a node starting as a replica loads the
// keys already expired: its master deletes them.
func TestLoadKeepsExpiredOnReplica(t *testing.T) {
	dir := t.TempDir()
	writeRDBFile(t, filepath.Join(dir, "dump.rdb"), nil, []rdb.Entry{
		{Key: []byte("old"), Value: rdb.Value{Kind: rdb.KindString, Str: []byte("v")}, ExpireMs: 1000},
		{Key: []byte("live"), Value: rdb.Value{Kind: rdb.KindString, Str: []byte("v")}},
	})
	s := persistServer(t, dir, func(c *config.Config) { c.ReplicaOf = "127.0.0.1 1" })
	require.Equal(t, int64(2), s.KS.DBs[0].Size())
	c := testDial(t, s)
	require.Equal(t, "0", infoField(t, c, "rdb_last_load_keys_expired"))
	require.Equal(t, "2", infoField(t, c, "rdb_last_load_keys_loaded"))
}

// writeRDBFile writes an RDB of db 0 holding entries.
func writeRDBFile(t *testing.T, path string, repl *rdb.ReplInfo, entries []rdb.Entry) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	enc := rdb.NewEncoder(f, nil)
	require.NoError(t, enc.WriteHeader(&rdb.Header{Repl: repl}))
	if len(entries) > 0 {
		require.NoError(t, enc.SelectDB(0, uint64(len(entries)), 0))
		for i := range entries {
			require.NoError(t, enc.WriteEntry(&entries[i]))
		}
	}
	require.NoError(t, enc.Close())
}

// TestLoadRestoresReplInfo: a master that restarts from an RDB holding
// replication info takes the ID as its secondary one, so that replicas
// continue partially (PSYNC with the old ID and offset+1).
func TestLoadRestoresReplInfo(t *testing.T) {
	dir := t.TempDir()
	id := strings.Repeat("ab", 20)
	writeRDBFile(t, filepath.Join(dir, "dump.rdb"), &rdb.ReplInfo{StreamDB: 0, ID: id, Offset: 1234},
		[]rdb.Entry{{Key: []byte("k"), Value: rdb.Value{Kind: rdb.KindString, Str: []byte("v")}}})
	s := persistServer(t, dir, nil)
	c := testDial(t, s)
	require.Equal(t, id, infoField(t, c, "master_replid2"))
	require.Equal(t, "1235", infoField(t, c, "second_repl_offset"))
	require.Equal(t, "1234", infoField(t, c, "master_repl_offset"))
	r := testDo(t, c, "PSYNC", id, "1235")
	require.True(t, strings.HasPrefix(r, "+CONTINUE"), r)

	// Keys already expired are skipped and fed to the backlog as DELs,
	// which the continuing replicas receive.
	dir = t.TempDir()
	writeRDBFile(t, filepath.Join(dir, "dump.rdb"), &rdb.ReplInfo{StreamDB: 0, ID: id, Offset: 1234},
		[]rdb.Entry{{Key: []byte("old"), Value: rdb.Value{Kind: rdb.KindString, Str: []byte("v")}, ExpireMs: 1000}})
	s = persistServer(t, dir, nil)
	c = testDial(t, s)
	stream := "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$3\r\nDEL\r\n$3\r\nold\r\n"
	require.Equal(t, strconv.Itoa(1234+len(stream)), infoField(t, c, "master_repl_offset"))
	r = testDo(t, c, "PSYNC", id, "1235")
	require.True(t, strings.HasPrefix(r, "+CONTINUE"), r)
	for _, want := range []string{"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n", "*2\r\n$3\r\nDEL\r\n$3\r\nold\r\n"} {
		require.Equal(t, want, testRead(t, c))
	}
}

func TestLoadErrors(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.rdb")
	writeRDBFile(t, good, nil, []rdb.Entry{{Key: []byte("k"), Value: rdb.Value{Kind: rdb.KindString, Str: []byte("v")}}})
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	badCRC := append([]byte(nil), data...)
	badCRC[len(badCRC)-1] ^= 0xff
	tests := []struct {
		name string
		data []byte
	}{
		{"truncated", data[:len(data)-12]},
		{"short", []byte("garbage")},
		{"signature", []byte("garbagegarbage")},
		{"version", []byte("REDIS0011xxxxxxx")},
		{"checksum", badCRC},
		{"bad type", append(append([]byte(nil), data[:len(data)-9]...), 0x42)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "dump.rdb"), tc.data, 0o644))
			_, err := startPersistServer(t, dir, nil)
			require.ErrorIs(t, err, ErrLoad)
		})
	}
	// a key twice: Redis panics on it
	dup := t.TempDir()
	kv := rdb.Entry{Key: []byte("k"), Value: rdb.Value{Kind: rdb.KindString, Str: []byte("v")}}
	writeRDBFile(t, filepath.Join(dup, "dump.rdb"), nil, []rdb.Entry{kv, kv})
	_, err = startPersistServer(t, dup, nil)
	require.ErrorIs(t, err, ErrLoad)
	// no file: an empty dataset
	s := persistServer(t, t.TempDir(), nil)
	require.Equal(t, int64(0), s.KS.DBs[0].Size())
	// rdbchecksum no skips the check
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dump.rdb"), badCRC, 0o644))
	s = persistServer(t, dir, func(c *config.Config) { c.RDBChecksum = false })
	require.Equal(t, int64(1), s.KS.DBs[0].Size())
}

// TestLoadSkipsStreams: keys of types redcluster does not hold are
// skipped, the others loaded.
func TestLoadSkipsStreams(t *testing.T) {
	dir := t.TempDir()
	writeRDBFile(t, filepath.Join(dir, "dump.rdb"), nil, []rdb.Entry{
		{Key: []byte("s"), Value: rdb.Value{Kind: rdb.KindStream, Stream: &rdb.Stream{
			Entries: []rdb.StreamEntry{{ID: rdb.StreamID{Ms: 1, Seq: 1}, Fields: [][]byte{[]byte("f"), []byte("v")}}},
			LastID:  rdb.StreamID{Ms: 1, Seq: 1}, FirstID: rdb.StreamID{Ms: 1, Seq: 1}, EntriesAdded: 1}}},
		{Key: []byte("k"), Value: rdb.Value{Kind: rdb.KindString, Str: []byte("v")}},
	})
	s := persistServer(t, dir, nil)
	require.Equal(t, int64(1), s.KS.DBs[0].Size())
}

// TestLoadClusterVerify: in cluster mode a master takes the unassigned
// slots its keys are in (verifyClusterConfigWithData), and refuses keys
// outside db 0.
func TestLoadClusterVerify(t *testing.T) {
	dir := t.TempDir()
	key := []byte("somekey")
	slot := slots.KeySlot(key)
	writeRDBFile(t, filepath.Join(dir, "dump.rdb"), nil, []rdb.Entry{{Key: key, Value: rdb.Value{Kind: rdb.KindString, Str: []byte("v")}}})
	s := persistServer(t, dir, clusterMode)
	c := testDial(t, s)
	nodes := testDo(t, c, "CLUSTER", "NODES")
	require.Contains(t, nodes, " "+strconv.Itoa(slot)+"\n", nodes)
	conf, err := os.ReadFile(filepath.Join(dir, "nodes.conf"))
	require.NoError(t, err)
	require.Contains(t, string(conf), " "+strconv.Itoa(slot)+"\n")

	// a slot of another node: imported from it
	const me = "f1f5e9de26261039507707a233f9bb76738cb1fc"
	const peer = "451b4eafcc6457e7b10b58125aa840c3b3082dd6"
	dirImp := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dirImp, "nodes.conf"), []byte(
		me+" 127.0.0.1:25000@35000 myself,master - 0 0 1 connected\n"+
			peer+" 127.0.0.1:1@2 master - 0 0 2 connected 0-16383\nvars currentEpoch 2 lastVoteEpoch 0\n"), 0o644))
	writeRDBFile(t, filepath.Join(dirImp, "dump.rdb"), nil, []rdb.Entry{{Key: key, Value: rdb.Value{Kind: rdb.KindString, Str: []byte("v")}}})
	s = persistServer(t, dirImp, clusterMode)
	c = testDial(t, s)
	nodes = testDo(t, c, "CLUSTER", "NODES")
	require.Contains(t, nodes, "["+strconv.Itoa(slot)+"-<-"+peer+"]", nodes)
	require.Equal(t, int64(1), s.KS.DBs[0].Size(), "the key is kept")

	dir2 := t.TempDir()
	f, err := os.Create(filepath.Join(dir2, "dump.rdb"))
	require.NoError(t, err)
	enc := rdb.NewEncoder(f, nil)
	require.NoError(t, enc.WriteHeader(nil))
	require.NoError(t, enc.SelectDB(1, 1, 0))
	require.NoError(t, enc.WriteEntry(&rdb.Entry{Key: key, Value: rdb.Value{Kind: rdb.KindString, Str: []byte("v")}}))
	require.NoError(t, enc.Close())
	f.Close()
	_, err = startPersistServer(t, dir2, clusterMode)
	require.ErrorIs(t, err, ErrLoad)
	require.True(t, errors.Is(err, ErrLoad))
}
