package replication

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReplconf(t *testing.T) {
	var lc LinkConf
	cases := []struct {
		args    []string
		err     string
		noReply bool
	}{
		{[]string{"REPLCONF", "listening-port"}, "ERR syntax error", false},
		{[]string{"REPLCONF", "listening-port", "6380"}, "", false},
		{[]string{"REPLCONF", "listening-port", "x"}, "ERR value is not an integer or out of range", false},
		{[]string{"REPLCONF", "capa", "eof", "capa", "psync2", "capa", "unknown"}, "", false},
		{[]string{"REPLCONF", "ip-address", "10.0.0.1"}, "", false},
		{[]string{"REPLCONF", "ip-address", strings.Repeat("a", 256)}, "ERR REPLCONF ip-address provided by replica instance is too long: 256 bytes", false},
		{[]string{"REPLCONF", "ACK", "100"}, "", true},
		{[]string{"REPLCONF", "GETACK", "*"}, "", true},
		{[]string{"REPLCONF", "rdb-only", "2"}, "ERR value is out of range, value must between 0 and 1", false},
		{[]string{"REPLCONF", "rdb-only", "1"}, "", false},
		{[]string{"REPLCONF", "rdb-filter-only", "functions"}, "", false},
		{[]string{"REPLCONF", "rdb-filter-only", "keys"}, "ERR Unsupported rdb-filter-only option: keys", false},
		{[]string{"REPLCONF", "foo", "bar"}, "ERR Unrecognized REPLCONF option: foo", false},
	}
	for _, c := range cases {
		err, noReply := lc.Replconf(args(c.args...))
		require.Equal(t, c.err, err, c.args)
		require.Equal(t, c.noReply, noReply, c.args)
	}
	require.Equal(t, LinkConf{ListeningPort: 6380, IPAddress: "10.0.0.1", CapaEOF: true, CapaPSYNC2: true,
		RDBOnly: true, ExcludeData: true, ExcludeFunctions: true}, lc)
	var lc2 LinkConf
	e, _ := lc2.Replconf(args("REPLCONF", "rdb-filter-only", ""))
	require.Equal(t, "", e)
	require.True(t, lc2.ExcludeData)
	require.True(t, lc2.ExcludeFunctions)
}
