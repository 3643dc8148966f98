package cluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/slots"
)

type clock struct{ ms int64 }

func (c *clock) now() int64 { return c.ms }

const (
	myID   = "1111111111111111111111111111111111111111"
	peerID = "2222222222222222222222222222222222222222"
)

// stateFrom builds a state from nodes.conf text and brings its cluster
// state up to date as a long-running node would.
func stateFrom(t *testing.T, conf string, set Settings) (*State, *clock) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nodes.conf")
	if conf != "" {
		require.NoError(t, os.WriteFile(path, []byte(conf), 0o644))
	}
	clk := &clock{ms: 1_000_000}
	st, err := New(Options{ConfigFile: path, Port: 7000, Now: clk.now, Settings: func() Settings { return set }})
	require.NoError(t, err)
	st.Tick()
	clk.ms += 10_000
	st.Tick()
	return st, clk
}

func TestRoute(t *testing.T) {
	full := myID + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383\n"
	split := myID + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-8191\n" +
		peerID + " 10.0.0.2:7001@17001 master - 0 0 2 connected 8192-16383\n"
	partial := myID + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-100\n"
	migrating := myID + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-8191 [5->-" + peerID + "]\n" +
		peerID + " 10.0.0.2:7001@17001 master - 0 0 2 connected 8192-16383\n"
	importing := myID + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-8191 [9000-<-" + peerID + "]\n" +
		peerID + " 10.0.0.2:7001@17001 master - 0 0 2 connected 8192-16383\n"
	replica := myID + " 127.0.0.1:7000@17000 myself,slave " + peerID + " 0 0 0 connected\n" +
		peerID + " 10.0.0.2:7001@17001 master - 0 0 2 connected 0-16383\n"

	def := DefaultSettings()
	readsOK := def
	readsOK.AllowReadsWhenDown = true
	noShard := def
	noShard.AllowPubsubshardWhenDown = false
	partialOK := def
	partialOK.RequireFullCoverage = false

	keys := func(missing, existing int, multi bool) func() (int, int, bool) {
		return func() (int, int, bool) { return missing, existing, multi }
	}
	for _, tc := range []struct {
		name string
		conf string
		set  Settings
		q    Query
		want string
	}{
		{"served", full, def, Query{Slot: 42}, ""},
		{"crossslot", full, def, Query{Slot: 42, CrossSlot: true}, ErrCrossSlot},
		{"fresh node unbound", "", def, Query{Slot: 0}, ErrDownUnbound},
		{"unbound first key beats crossslot", partial, def, Query{Slot: 5000, CrossSlot: true}, ErrDownUnbound},
		{"crossslot beats cluster down", partial, def, Query{Slot: 5, CrossSlot: true}, ErrCrossSlot},
		{"down", partial, def, Query{Slot: 5}, ErrDown},
		{"down, reads allowed: read", partial, readsOK, Query{Slot: 5}, ""},
		{"down, reads allowed: write", partial, readsOK, Query{Slot: 5, Write: true, TxWrite: true}, ErrDownRO},
		{"down, reads allowed: exec with writes", partial, readsOK, Query{Slot: 5, TxWrite: true}, ""},
		{"down, shard pubsub allowed", partial, def, Query{Slot: 5, ShardPubSub: true}, ""},
		{"down, shard pubsub refused", partial, noShard, Query{Slot: 5, ShardPubSub: true}, ErrDown},
		{"partial coverage accepted", partial, partialOK, Query{Slot: 5, Write: true}, ""},
		{"partial coverage, unbound", partial, partialOK, Query{Slot: 5000}, ErrDownUnbound},
		{"moved", split, def, Query{Slot: 12182}, "MOVED 12182 10.0.0.2:7001"},
		{"mine in split", split, def, Query{Slot: 5061}, ""},
		{"migrating, all keys here", migrating, def, Query{Slot: 5, Keys: keys(0, 2, true)}, ""},
		{"migrating, keys gone", migrating, def, Query{Slot: 5, Keys: keys(2, 0, true)}, "ASK 5 10.0.0.2:7001"},
		{"migrating, some keys gone", migrating, def, Query{Slot: 5, Keys: keys(1, 1, true)}, ErrTryAgain},
		{"migrating, migrate runs here", migrating, def, Query{Slot: 5, Migrate: true, Keys: keys(2, 0, false)}, ""},
		{"migrating, shard pubsub ignores keys", migrating, def, Query{Slot: 5, ShardPubSub: true, Keys: keys(1, 0, false)}, ""},
		{"importing without asking", importing, def, Query{Slot: 9000, Keys: keys(1, 0, false)}, "MOVED 9000 10.0.0.2:7001"},
		{"importing with asking", importing, def, Query{Slot: 9000, Asking: true, Keys: keys(1, 0, false)}, ""},
		{"importing with asking, multi missing", importing, def, Query{Slot: 9000, Asking: true, Keys: keys(1, 1, true)}, ErrTryAgain},
		{"importing with asking, multi present", importing, def, Query{Slot: 9000, Asking: true, Keys: keys(0, 2, true)}, ""},
		{"replica redirects", replica, def, Query{Slot: 3}, "MOVED 3 10.0.0.2:7001"},
		{"replica readonly read", replica, def, Query{Slot: 3, ReadOnly: true}, ""},
		{"replica readonly write", replica, def, Query{Slot: 3, ReadOnly: true, Write: true, TxWrite: true}, "MOVED 3 10.0.0.2:7001"},
		{"replica shard pubsub read", replica, def, Query{Slot: 3, ShardPubSub: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := stateFrom(t, tc.conf, tc.set)
			q := tc.q
			require.Equal(t, tc.want, st.Route(&q))
		})
	}
}

func TestRouteDoesNotAllocate(t *testing.T) {
	st, _ := stateFrom(t, myID+" :7000@17000 myself,master - 0 0 0 connected 0-16383\n", DefaultSettings())
	n := testing.AllocsPerRun(1000, func() {
		q := Query{Slot: 1234, Write: true}
		if st.Route(&q) != "" {
			t.Fatal("not served")
		}
	})
	require.Zero(t, n)
}

func TestStateDelays(t *testing.T) {
	st, clk := stateFrom(t, "", DefaultSettings())
	require.False(t, st.OK())
	// A node that had no slots was in the minority: after all slots are
	// added it waits the rejoin delay (node timeout clamped to 5 s).
	_, err := st.AssignSlots(args("0", "16383"), false, true)
	require.NoError(t, err)
	require.False(t, st.OK())
	require.Contains(t, st.InfoText(), "cluster_state:fail\r\n")
	clk.ms += 4900
	st.Tick()
	require.False(t, st.OK())
	clk.ms += 200
	st.Tick()
	require.True(t, st.OK())
	require.Contains(t, st.InfoText(), "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n")

	// Losing a slot fails at once; getting it back (still a one-master
	// majority) is ok at once.
	lost, err := st.AssignSlots(args("5061"), true, false)
	require.NoError(t, err)
	require.Equal(t, []int{5061}, lost)
	require.False(t, st.OK())
	q := Query{Slot: 5061}
	require.Equal(t, ErrDownUnbound, st.Route(&q))
	q = Query{Slot: 0}
	require.Equal(t, ErrDown, st.Route(&q))
	_, err = st.AssignSlots(args("5061"), false, false)
	require.NoError(t, err)
	require.True(t, st.OK())

	// FLUSHSLOTS leaves the node slotless: cluster_size 0.
	require.Len(t, st.FlushSlots(), slots.Count)
	require.Contains(t, st.InfoText(), "cluster_size:0\r\n")
}

func TestWritableDelayAfterStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.conf")
	require.NoError(t, os.WriteFile(path, []byte(myID+" :7000@17000 myself,master - 0 0 0 connected 0-16383\n"), 0o644))
	clk := &clock{ms: 1_000_000}
	st, err := New(Options{ConfigFile: path, Port: 7000, Now: clk.now})
	require.NoError(t, err)
	require.Contains(t, st.InfoText(), "cluster_size:1\r\n")
	st.Tick()
	require.False(t, st.OK())
	clk.ms += 1999
	st.Tick()
	require.False(t, st.OK())
	clk.ms += 1
	st.Tick()
	require.True(t, st.OK())
}

func TestAssignSlotsErrors(t *testing.T) {
	st, _ := stateFrom(t, "", DefaultSettings())
	_, err := st.AssignSlots(args("1", "2"), false, false)
	require.NoError(t, err)
	for _, tc := range []struct {
		args        []string
		del, ranges bool
		want        string
	}{
		{[]string{"x"}, false, false, "ERR Invalid or out of range slot"},
		{[]string{"16384"}, false, false, "ERR Invalid or out of range slot"},
		{[]string{"-1"}, false, false, "ERR Invalid or out of range slot"},
		{[]string{"01"}, false, false, "ERR Invalid or out of range slot"},
		{[]string{"+1"}, false, false, "ERR Invalid or out of range slot"},
		{[]string{"2", "x"}, false, false, "ERR Invalid or out of range slot"},
		{[]string{"3", "2"}, false, false, "ERR Slot 2 is already busy"},
		{[]string{"3", "3"}, false, false, "ERR Slot 3 specified multiple times"},
		{[]string{"5"}, true, false, "ERR Slot 5 is already unassigned"},
		{[]string{"1", "1"}, true, false, "ERR Slot 1 specified multiple times"},
		{[]string{"5", "4"}, false, true, "ERR start slot number 5 is greater than end slot number 4"},
		{[]string{"4", "5", "5", "6"}, false, true, "ERR Slot 5 specified multiple times"},
		{[]string{"0", "10", "x", "y"}, false, true, "ERR Slot 1 is already busy"},
		{[]string{"3", "10", "x", "y"}, false, true, "ERR Invalid or out of range slot"},
		{[]string{"1", "5"}, true, true, "ERR Slot 3 is already unassigned"},
	} {
		_, err := st.AssignSlots(args(tc.args...), tc.del, tc.ranges)
		require.EqualError(t, err, tc.want, "%v", tc.args)
	}
	require.Contains(t, st.NodesText(), " connected 1-2\n")
}

func TestSetSlotAndEpochs(t *testing.T) {
	st, _ := stateFrom(t, "", DefaultSettings())
	me := st.MyID()
	noKeys := func(int) int { return 0 }
	_, err := st.SetSlot(args("5", "migrating", me), noKeys)
	require.EqualError(t, err, "ERR I'm not the owner of hash slot 5")
	_, err = st.SetSlot(args("5", "importing", peerID), noKeys)
	require.EqualError(t, err, "ERR I don't know about node "+peerID)
	_, err = st.SetSlot(args("5", "node", peerID), noKeys)
	require.EqualError(t, err, "ERR Unknown node "+peerID)
	_, err = st.SetSlot(args("5", "bogus"), noKeys)
	require.EqualError(t, err, "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
	_, err = st.SetSlot(args("5", "node", me), noKeys)
	require.NoError(t, err)
	_, err = st.SetSlot(args("5", "importing", me), noKeys)
	require.EqualError(t, err, "ERR I'm already the owner of hash slot 5")
	_, err = st.SetSlot(args("5", "migrating", me), noKeys)
	require.NoError(t, err)
	require.Contains(t, st.NodesText(), " connected 5 [5->-"+me+"]\n")
	_, err = st.SetSlot(args("5", "stable"), noKeys)
	require.NoError(t, err)
	require.Contains(t, st.NodesText(), " connected 5\n")

	require.EqualError(t, st.SetConfigEpoch([]byte("-1")), "ERR Invalid config epoch specified: -1")
	require.EqualError(t, st.SetConfigEpoch([]byte("x")), "ERR value is not an integer or out of range")
	require.NoError(t, st.SetConfigEpoch([]byte("7")))
	require.EqualError(t, st.SetConfigEpoch([]byte("8")), "ERR Node config epoch is already non-zero")
	bumped, e := st.BumpEpoch()
	require.False(t, bumped)
	require.EqualValues(t, 7, e)
	require.Equal(t, "STILL 7", FormatBumpReply(bumped, e))

	require.EqualError(t, st.Forget([]byte(me)), "ERR I tried hard but I can't forget myself...")
	require.EqualError(t, st.Forget([]byte("nope")), "ERR Unknown node nope")
	_, err = st.Replicate([]byte(me), true)
	require.EqualError(t, err, "ERR Can't replicate myself")
	require.EqualError(t, st.Failover(nil), "ERR You should send CLUSTER FAILOVER to a replica")
	require.EqualError(t, st.Failover(args("soon")), "ERR syntax error")
	n, err := st.CountFailureReports([]byte(me))
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestParseInt(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1": 1, "-5": -5, "16383": 16383,
		"9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63} {
		got, ok := resp.ParseInt([]byte(in))
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-", "+1", "01", "-0", " 1", "1 ", "1.0", "9223372036854775808", "-9223372036854775809", "99999999999999999999"} {
		_, ok := resp.ParseInt([]byte(in))
		require.False(t, ok, in)
	}
}
