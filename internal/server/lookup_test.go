package server

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadOfWrongTypeCountsHit: like Redis's lookupKeyRead, a read command
// counts a keyspace hit for an existing key before it checks the type, so
// a WRONGTYPE reply still counts as a hit (checked against redis-server
// 7.0.15).
func TestReadOfWrongTypeCountsHit(t *testing.T) {
	s := testServer(t, nil)
	c := testDial(t, s)
	testDo(t, c, "SET", "str", "x")
	testDo(t, c, "RPUSH", "list", "x")
	cases := []struct{ cmd []string }{
		{[]string{"LRANGE", "str", "0", "-1"}},
		{[]string{"LLEN", "str"}},
		{[]string{"HGET", "str", "f"}},
		{[]string{"SMEMBERS", "str"}},
		{[]string{"ZRANGE", "str", "0", "-1"}},
		{[]string{"GET", "list"}},
	}
	for _, tc := range cases {
		hits := s.Stats.KeyspaceHits.Load()
		r := testDo(t, c, tc.cmd...)
		require.True(t, strings.HasPrefix(r, "-WRONGTYPE"), "%v: %q", tc.cmd, r)
		require.Equal(t, hits+1, s.Stats.KeyspaceHits.Load(), "%v counts one hit", tc.cmd)
	}
	misses := s.Stats.KeyspaceMisses.Load()
	testDo(t, c, "LINDEX", "nokey", "0")
	require.Equal(t, misses+1, s.Stats.KeyspaceMisses.Load())
}
