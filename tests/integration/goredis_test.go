// Package integration drives bin/redcluster with real clients: go-redis v9
// (RESP3 by default) and redis-cli, side by side with redis-server where a
// reply can be compared.
package integration

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

func newClient(t *testing.T, protocol int) *redis.Client {
	p := testutil.Start(t, testutil.Binary(t))
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), Protocol: protocol})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestGoRedisBasics(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			ctx := context.Background()
			c := newClient(t, proto)
			require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
			require.Equal(t, "v", c.Get(ctx, "k").Val())
			require.ErrorIs(t, c.Get(ctx, "missing").Err(), redis.Nil)
			require.Equal(t, int64(1), c.Incr(ctx, "ctr").Val())

			require.NoError(t, c.HSet(ctx, "h", "a", "1", "b", "2").Err())
			require.Equal(t, map[string]string{"a": "1", "b": "2"}, c.HGetAll(ctx, "h").Val())

			require.NoError(t, c.ZAdd(ctx, "z", redis.Z{Score: 1.5, Member: "x"}, redis.Z{Score: 2, Member: "y"}).Err())
			zs := c.ZRangeWithScores(ctx, "z", 0, -1).Val()
			require.Equal(t, []redis.Z{{Score: 1.5, Member: "x"}, {Score: 2, Member: "y"}}, zs)

			require.NoError(t, c.SAdd(ctx, "s", "a", "b", "c").Err())
			members := c.SMembers(ctx, "s").Val()
			sort.Strings(members)
			require.Equal(t, []string{"a", "b", "c"}, members)

			require.NoError(t, c.RPush(ctx, "l", "1", "2", "3").Err())
			require.Equal(t, []string{"1", "2", "3"}, c.LRange(ctx, "l", 0, -1).Val())

			require.NoError(t, c.Expire(ctx, "k", time.Hour).Err())
			ttl := c.TTL(ctx, "k").Val()
			require.True(t, ttl > 59*time.Minute && ttl <= time.Hour, "ttl %v", ttl)
		})
	}
}

func TestGoRedisPipelineAndTx(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, 3)
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < 100; i++ {
			p.Set(ctx, fmt.Sprintf("p%d", i), i, 0)
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, cmds, 100)
	require.Equal(t, "42", c.Get(ctx, "p42").Val())

	_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "tx")
		p.Incr(ctx, "tx")
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "2", c.Get(ctx, "tx").Val())

	// WATCH: a concurrent change aborts the transaction.
	other := redis.NewClient(&redis.Options{Addr: c.Options().Addr})
	defer other.Close()
	err = c.Watch(ctx, func(tx *redis.Tx) error {
		require.NoError(t, other.Set(ctx, "w", "changed", 0).Err())
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "w", "mine", 0)
			return nil
		})
		return err
	}, "w")
	require.ErrorIs(t, err, redis.TxFailedErr)
	require.Equal(t, "changed", c.Get(ctx, "w").Val())
}

func TestGoRedisScanReturnsEveryKey(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, 2)
	want := map[string]bool{}
	for i := 0; i < 5000; i++ {
		k := fmt.Sprintf("scan:%d", i)
		want[k] = true
		require.NoError(t, c.Set(ctx, k, "x", 0).Err())
	}
	got := map[string]bool{}
	it := c.Scan(ctx, 0, "scan:*", 100).Iterator()
	for it.Next(ctx) {
		got[it.Val()] = true
	}
	require.NoError(t, it.Err())
	require.Equal(t, want, got)
}

func TestGoRedisPubSubAndBlocking(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, 3)
	sub := c.Subscribe(ctx, "news")
	defer sub.Close()
	_, err := sub.Receive(ctx) // subscription confirmation
	require.NoError(t, err)
	require.Equal(t, int64(1), c.Publish(ctx, "news", "hello").Val())
	msg, err := sub.ReceiveMessage(ctx)
	require.NoError(t, err)
	require.Equal(t, "hello", msg.Payload)

	done := make(chan []string, 1)
	go func() {
		blocked := redis.NewClient(&redis.Options{Addr: c.Options().Addr})
		defer blocked.Close()
		done <- blocked.BLPop(ctx, 10*time.Second, "q").Val()
	}()
	require.Eventually(t, func() bool {
		return c.Do(ctx, "CLIENT", "LIST").String() != "" && c.LPush(ctx, "q", "item").Err() == nil
	}, 5*time.Second, 10*time.Millisecond)
	select {
	case v := <-done:
		require.Equal(t, []string{"q", "item"}, v)
	case <-time.After(10 * time.Second):
		t.Fatal("BLPOP not woken")
	}
}
