package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlan(t *testing.T) {
	tests := []struct {
		name     string
		n, r     int
		slots    [][2]int
		masterOf []int
		err      bool
	}{
		{name: "6 nodes 1 replica", n: 6, r: 1,
			slots:    [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}},
			masterOf: []int{-1, -1, -1, 0, 1, 2}},
		{name: "3 masters only", n: 3, r: 0,
			slots:    [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}},
			masterOf: []int{-1, -1, -1}},
		{name: "9 nodes 2 replicas", n: 9, r: 2,
			slots:    [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}},
			masterOf: []int{-1, -1, -1, 0, 1, 2, 0, 1, 2}},
		{name: "4 masters", n: 4, r: 0,
			slots:    [][2]int{{0, 4095}, {4096, 8191}, {8192, 12287}, {12288, 16383}},
			masterOf: []int{-1, -1, -1, -1}},
		{name: "7 nodes 1 replica: spare node replicates too", n: 7, r: 1,
			slots:    [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}},
			masterOf: []int{-1, -1, -1, 0, 1, 2, 0}},
		{name: "too few masters", n: 5, r: 1, err: true},
		{name: "no nodes", n: 0, r: 0, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := plan(tc.n, tc.r)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.slots, l.slots)
			require.Equal(t, tc.masterOf, l.masterOf)
			require.Equal(t, len(tc.slots), l.masters)
		})
	}
}

func TestPlanCoversEverySlotOnce(t *testing.T) {
	for m := 3; m <= 200; m++ {
		l, err := plan(m, 0)
		require.NoError(t, err)
		next := 0
		for _, r := range l.slots {
			require.Equal(t, next, r[0], "masters=%d", m)
			require.LessOrEqual(t, r[0], r[1], "masters=%d", m)
			next = r[1] + 1
		}
		require.Equal(t, numSlots, next, "masters=%d", m)
	}
}

const nodesText = "f1f5e9de26261039507707a233f9bb76738cb1fc 127.0.0.1:25000@35000 myself,master - 0 1795343171000 7 connected 0-5460 7000 [12182-<-451b4eafcc6457e7b10b58125aa840c3b3082dd6]\n" +
	"451b4eafcc6457e7b10b58125aa840c3b3082dd6 127.0.0.1:25002@35002,node2.example master - 0 1795343171000 9 connected 10923-16383\n" +
	"9184000000000000000000000000000000000000 172.29.70.13:7003@17003 slave f1f5e9de26261039507707a233f9bb76738cb1fc 0 1795343171000 7 connected\n" +
	"875501553edbfcd6a29f050fc22d0f40706b411f :25999@35999 handshake - 0 0 0 disconnected\n"

func TestParseNodes(t *testing.T) {
	lines, err := parseNodes(nodesText)
	require.NoError(t, err)
	require.Len(t, lines, 4)
	me, ok := myself(lines)
	require.True(t, ok)
	require.Equal(t, "f1f5e9de26261039507707a233f9bb76738cb1fc", me.id)
	require.Equal(t, "127.0.0.1", me.ip)
	require.Equal(t, 25000, me.port)
	require.Equal(t, 35000, me.cport)
	require.Equal(t, []string{"0-5460", "7000"}, me.slots)
	require.Equal(t, 35002, lines[1].cport)
	require.Equal(t, "f1f5e9de26261039507707a233f9bb76738cb1fc", lines[2].master)
	require.True(t, lines[2].flags["slave"])
	require.True(t, lines[3].flags["handshake"])
	require.Equal(t, "", lines[3].ip)

	_, err = parseNodes("abc 1.2.3.4:5@6 master -\n")
	require.Error(t, err)
}

func TestSignature(t *testing.T) {
	a, err := parseNodes(nodesText)
	require.NoError(t, err)
	// Another node's view: other order, no open-slot markers, other flags.
	b, err := parseNodes("451b4eafcc6457e7b10b58125aa840c3b3082dd6 127.0.0.1:25002@35002 myself,master - 0 0 9 connected 10923-16383\n" +
		"f1f5e9de26261039507707a233f9bb76738cb1fc 127.0.0.1:25000@35000 master - 0 0 7 connected 7000 0-5460\n")
	require.NoError(t, err)
	require.Equal(t, signature(a), signature(b))
	require.Equal(t, "451b4eafcc6457e7b10b58125aa840c3b3082dd6:10923-16383|f1f5e9de26261039507707a233f9bb76738cb1fc:0-5460,7000", signature(a))
	c, err := parseNodes("451b4eafcc6457e7b10b58125aa840c3b3082dd6 127.0.0.1:25002@35002 myself,master - 0 0 9 connected 10923-16383\n")
	require.NoError(t, err)
	require.NotEqual(t, signature(a), signature(c))
}

func TestInfoField(t *testing.T) {
	text := "# Cluster\r\ncluster_enabled:1\r\ncluster_state:ok\r\n"
	v, ok := infoField(text, "cluster_state")
	require.True(t, ok)
	require.Equal(t, "ok", v)
	_, ok = infoField(text, "db0")
	require.False(t, ok)
}
