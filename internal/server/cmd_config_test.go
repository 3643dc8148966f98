package server

import (
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/config"
)

func TestResetStatsKeepsDirty(t *testing.T) {
	s := New(config.Default(), zerolog.Nop())
	v := reflect.ValueOf(&s.Stats).Elem()
	for i := 0; i < v.NumField(); i++ {
		if ctr, ok := v.Field(i).Addr().Interface().(*atomic.Int64); ok {
			ctr.Store(7)
		}
	}
	s.ResetStats()
	require.Equal(t, int64(7), s.Stats.Dirty.Load())
	require.Zero(t, s.Stats.Commands.Load())
	require.Zero(t, s.Stats.Connections.Load())
	require.Zero(t, s.Stats.KeyspaceHits.Load())
	require.Zero(t, s.Stats.NetInput.Load())
}

func TestRenameCommands(t *testing.T) {
	s := New(config.Default(), zerolog.Nop())
	get := s.Cmds["get"]
	s.RenameCommands([]config.RenameCommand{{From: "get", To: "FETCH"}, {From: "keys", To: ""}, {From: "nosuch", To: "x"}})
	require.Nil(t, s.Cmds["get"])
	require.Nil(t, s.Cmds["keys"])
	require.Nil(t, s.Cmds["x"])
	require.Same(t, get, s.Cmds.Lookup([]byte("fetch")))
}

func TestLocalAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:5000": true, "[::1]:5000": true, "10.0.0.1:5000": false, "/tmp/redis.sock": true, "": true,
	} {
		require.Equal(t, want, cfgIsLocalAddr(addr), addr)
	}
}
