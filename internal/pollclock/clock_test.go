package pollclock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestClock: both implementations tick no faster than their period, and
// stop on Close, waking a blocked Wait; Close may be repeated.
func TestClock(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func() *Clock
	}{
		{"New", func() *Clock { return New(20 * time.Millisecond) }},
		{"ticker", func() *Clock { return &Clock{impl: newTicker(20 * time.Millisecond)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Ticks fall at k·20 ms from the start and each Wait takes at
			// least one (missed ones count as one), so the fourth Wait
			// returns no sooner than 80 ms after the start, however late
			// the goroutine runs. (Timing from the first Wait's return
			// was flaky: a late first return shortens the next wait.)
			start := time.Now()
			c := tc.make()
			for range 4 {
				require.True(t, c.Wait())
			}
			require.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond, "4 ticks of 20 ms")
			done := make(chan bool)
			go func() { done <- c.Wait() && c.Wait() && c.Wait() && c.Wait() && c.Wait() }()
			c.Close()
			require.False(t, <-done)
			require.False(t, c.Wait())
			c.Close()
		})
	}
}

// TestPollClockIsTimerfd: where a timerfd can be made, New uses it.
func TestPollClockIsTimerfd(t *testing.T) {
	c := New(time.Second)
	defer c.Close()
	if _, ok := c.impl.(*ticker); ok {
		if pc, err := newPollClock(time.Second); err == nil {
			pc.close()
			t.Fatal("New fell back to a ticker although a timerfd can be made")
		}
		t.Skip("no timerfd on this system")
	}
}
