package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadavgRunning(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"0.20 0.18 0.12 1/80 11206\n", 1, true},
		{"12.50 3.00 1.00 17/1203 99\n", 17, true},
		{"0.00 0.00 0.00 0/5 1", 0, true},
		{"0.20 0.18 0.12 /80 11206\n", 0, false},
		{"0.20 0.18 0.12 3", 0, false},
		{"0.20 0.18 0.12 x/80 1\n", 0, false},
		{"", 0, false},
		{"0.20 0.18", 0, false},
	}
	for _, tt := range tests {
		got, ok := loadavgRunning([]byte(tt.in))
		require.Equal(t, tt.ok, ok, "%q", tt.in)
		if ok {
			require.Equal(t, tt.want, got, "%q", tt.in)
		}
	}
}

// TestSpinPolicy walks the policy through the cases of its comment: it
// starts after a short sleep, grows on hits, falls back to 0 on misses and
// then waits out a growing backoff, and never starts (or stops) while
// CPUs are not to spare.
func TestSpinPolicy(t *testing.T) {
	free, busy := func() bool { return true }, func() bool { return false }
	short, long := 20*time.Microsecond, 2*time.Millisecond

	t.Run("idle loop never polls", func(t *testing.T) {
		var p spinPolicy
		require.True(t, p.considered(0))
		for now := int64(0); now < 1000; now += 100 {
			require.Zero(t, p.budget(now, free))
			p.slept(now, long, free)
			require.False(t, p.considered(now), "a long sleep is not followed by a look before the next one")
		}
		require.Zero(t, p.budget(1000, free))
	})

	t.Run("short sleeps start polling, hits grow it, misses end it", func(t *testing.T) {
		var p spinPolicy
		p.slept(10, short, free)
		require.Equal(t, spinStart, p.budget(10, free))
		for range 10 {
			p.hit()
		}
		require.Equal(t, spinMax, p.budget(11, free))
		p.miss(12)
		require.Equal(t, spinMax/2, p.budget(12, free))
		for p.spin > 0 {
			p.miss(13)
		}
		require.Zero(t, p.budget(13, free))
		// Off for the backoff: a short sleep right away does not restart it.
		require.False(t, p.considered(13))
		p.slept(13, short, free)
		require.Zero(t, p.budget(13, free))
		require.True(t, p.considered(13+p.backoff))
		p.slept(13+p.backoff, short, free)
		require.Equal(t, spinStart, p.budget(13+p.backoff, free))
	})

	t.Run("failing again and again backs off longer each time", func(t *testing.T) {
		var p spinPolicy
		now := int64(0)
		var prev int64
		for range 15 {
			p.slept(now, short, free)
			require.Equal(t, spinStart, p.budget(now, free))
			p.miss(now)
			require.Zero(t, p.budget(now, free))
			require.GreaterOrEqual(t, p.backoff, prev)
			prev = p.backoff
			now += p.backoff
		}
		require.Equal(t, int64(spinBackoffMax), p.backoff)
		// Success halves the backoff again.
		p.slept(now, short, free)
		p.hit()
		require.Equal(t, int64(spinBackoffMax/2), p.backoff)
	})

	t.Run("no polling on a crowded machine", func(t *testing.T) {
		var p spinPolicy
		p.slept(0, short, busy)
		require.Zero(t, p.budget(0, busy))
		// Polling that runs stops once the machine gets crowded.
		p.slept(p.backoff, short, free)
		require.Equal(t, spinStart, p.budget(p.backoff, free))
		p.hit()
		now := p.backoff + spinCheckEvery
		require.Zero(t, p.budget(now, busy))
	})
}
