package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

func TestRunUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 2, run([]string{"127.0.0.1:1", "127.0.0.1:2"}, &out, &errOut))
	require.Contains(t, errOut.String(), "at least 3")
	errOut.Reset()
	require.Equal(t, 2, run([]string{"-replicas", "-1"}, &out, &errOut))
	require.Equal(t, 2, run([]string{"-nosuchflag"}, &out, &errOut))
	errOut.Reset()
	require.Equal(t, 1, run([]string{"-replicas", "0", "a:1", "b", "c:3"}, &out, &errOut))
	require.Contains(t, errOut.String(), `bad address "b"`)
}

// TestCreate forms a six-node cluster of bin/redcluster processes, checks it
// serves keys through a cluster client, then runs again on the formed
// cluster, which must only wait for cluster_state:ok.
func TestCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six nodes")
	}
	bin := testutil.Binary(t)
	var addrs []string
	for i := 0; i < 6; i++ {
		p := testutil.Start(t, bin, "--cluster-enabled", "yes", "--cluster-node-timeout", "5000")
		addrs = append(addrs, p.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, create(ctx, addrs, 1, &out), out.String())
	require.Contains(t, out.String(), "cluster_state:ok")

	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs[:1]})
	defer cc.Close()
	for i := 0; i < 200; i++ {
		require.NoError(t, cc.Set(ctx, fmt.Sprint("key:", i), i, 0).Err())
	}
	for i := 0; i < 200; i++ {
		require.Equal(t, fmt.Sprint(i), cc.Get(ctx, fmt.Sprint("key:", i)).Val())
	}
	var sizes []int64
	for _, a := range addrs[:3] {
		c := redis.NewClient(&redis.Options{Addr: a})
		n, err := c.DBSize(ctx).Result()
		c.Close()
		require.NoError(t, err)
		sizes = append(sizes, n)
	}
	for i, n := range sizes {
		require.Positive(t, n, "master %d holds no key: %v", i, sizes)
	}

	out.Reset()
	require.NoError(t, create(ctx, addrs, 1, &out), out.String())
	require.Contains(t, out.String(), "already form a cluster")
}

// TestCreateMixedNodes refuses a node list where some nodes already belong
// to a cluster and others are empty.
func TestCreateMixedNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	bin := testutil.Binary(t)
	var addrs []string
	for i := 0; i < 3; i++ {
		p := testutil.Start(t, bin, "--cluster-enabled", "yes")
		addrs = append(addrs, p.Addr())
	}
	c := redis.NewClient(&redis.Options{Addr: addrs[1]})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, c.Do(ctx, "cluster", "addslots", 1).Err())
	var out bytes.Buffer
	err := create(ctx, addrs, 0, &out)
	require.ErrorContains(t, err, "2 of 3 nodes are empty")
}
