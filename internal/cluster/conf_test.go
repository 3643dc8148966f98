package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func newTestState(t *testing.T, path string, now int64) *State {
	t.Helper()
	st, err := New(Options{ConfigFile: path, Port: 7000, Now: func() int64 { return now }})
	require.NoError(t, err)
	return st
}

func TestFreshNodeWritesConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.conf")
	st := newTestState(t, path, 1000)
	id := st.MyID()
	require.True(t, ValidID(id), id)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, id+" :7000@17000 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n", string(data))
	require.Equal(t, id+" :7000@17000 myself,master - 0 0 0 connected\n", st.NodesText())
}

func TestConfigRoundTripKeepsIDAndSlots(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.conf")
	st := newTestState(t, path, 1000)
	id := st.MyID()
	_, err := st.AssignSlots(args("0", "100", "200", "16383"), false, true)
	require.NoError(t, err)
	_, err = st.AssignSlots(args("150"), false, false)
	require.NoError(t, err)
	bumped, epoch := st.BumpEpoch()
	require.True(t, bumped)
	require.EqualValues(t, 1, epoch)

	st2 := newTestState(t, path, 2000)
	require.Equal(t, id, st2.MyID())
	require.Equal(t, st.NodesText(), st2.NodesText())
	require.Equal(t, id+" :7000@17000 myself,master - 0 0 1 connected 0-100 150 200-16383\n", st2.NodesText())
	require.Contains(t, st2.InfoText(), "cluster_current_epoch:1\r\n")
	require.Contains(t, st2.InfoText(), "cluster_slots_assigned:16286\r\n")
}

func TestConfigLoadsPeersAndOpenSlots(t *testing.T) {
	const me = "f1f5e9de26261039507707a233f9bb76738cb1fc"
	const peer = "451b4eafcc6457e7b10b58125aa840c3b3082dd6"
	const rep = "5f55e25ac61673cf1c6859fc1453f5a2d0c2699d"
	text := me + " 127.0.0.1:25000@35000 myself,master - 0 1795343171000 7 connected 0-5460 [12182-<-" + peer + "]\n" +
		peer + " 127.0.0.1:25002@35002,node2.example master - 0 1795343171000 9 connected 5461-16383\n" +
		rep + " 127.0.0.1:25005 slave " + peer + " 0 1795343209000 9 connected\n" +
		"\n" +
		"vars currentEpoch 11 lastVoteEpoch 9\n"
	path := filepath.Join(t.TempDir(), "nodes.conf")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	st := newTestState(t, path, 5000)
	require.Equal(t, me, st.MyID())
	out := st.NodesText()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3)
	// myself first; its port comes from the running config.
	require.Equal(t, me+" 127.0.0.1:7000@17000 myself,master - 0 5000 7 connected 0-5460 [12182-<-"+peer+"]", lines[0])
	// non-zero ping/pong times load as "now"; peers are disconnected; open
	// slots are printed for myself only.
	require.Equal(t, peer+" 127.0.0.1:25002@35002,node2.example master - 0 5000 9 disconnected 5461-16383", lines[1])
	// a replica prints its master's epoch; a missing bus port is port+10000.
	require.Equal(t, rep+" 127.0.0.1:25005@35005 slave "+peer+" 0 5000 9 disconnected", lines[2])
	info := st.InfoText()
	require.Contains(t, info, "cluster_known_nodes:3\r\n")
	require.Contains(t, info, "cluster_current_epoch:11\r\n")
	require.Contains(t, info, "cluster_my_epoch:7\r\n")

	// Saved and reloaded, the content is stable.
	require.NoError(t, st.SaveConfig())
	saved, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(saved), "vars currentEpoch 11 lastVoteEpoch 9\n"))
	st2 := newTestState(t, path, 5000)
	require.Equal(t, out, st2.NodesText())

	reps, err := st.Replicas([]byte(peer))
	require.NoError(t, err)
	require.Equal(t, []string{lines[2]}, reps)
	_, err = st.Replicas([]byte(rep))
	require.EqualError(t, err, "ERR The specified node is not a master")
}

func TestConfigCorrupt(t *testing.T) {
	for name, text := range map[string]string{
		"few fields": "abc def\n",
		"bad id":     "xyz :0@0 myself,master - 0 0 0 connected\n",
		"no myself":  "f1f5e9de26261039507707a233f9bb76738cb1fc :0@0 master - 0 0 0 connected\n",
		"bad flag":   "f1f5e9de26261039507707a233f9bb76738cb1fc :0@0 myself,boss - 0 0 0 connected\n",
		"bad slot":   "f1f5e9de26261039507707a233f9bb76738cb1fc :0@0 myself,master - 0 0 0 connected 16384\n",
		"no colon":   "f1f5e9de26261039507707a233f9bb76738cb1fc 0@0 myself,master - 0 0 0 connected\n",
		"bad vars":   "vars currentEpoch\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "nodes.conf")
			require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
			_, err := New(Options{ConfigFile: path, Port: 7000})
			require.ErrorIs(t, err, ErrCorruptConfig)
		})
	}
}

func TestEmptyConfigFileMeansFreshNode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.conf")
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	st := newTestState(t, path, 1)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), st.MyID()+" "))
}

func TestHardResetChangesID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.conf")
	st := newTestState(t, path, 1)
	id := st.MyID()
	_, err := st.AssignSlots(args("5"), false, false)
	require.NoError(t, err)
	require.NoError(t, st.SetConfigEpoch([]byte("0")))
	_, err = st.Reset(nil, true)
	require.EqualError(t, err, "ERR CLUSTER RESET can't be called with master nodes containing keys")
	lost, err := st.Reset(args("soft"), false)
	require.NoError(t, err)
	require.Equal(t, []int{5}, lost)
	require.Equal(t, id, st.MyID())
	_, err = st.Reset(args("hard"), false)
	require.NoError(t, err)
	require.NotEqual(t, id, st.MyID())
	st2 := newTestState(t, path, 1)
	require.Equal(t, st.MyID(), st2.MyID())
}

func args(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}
