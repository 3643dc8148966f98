//go:build !linux

package pollclock

import (
	"errors"
	"time"
)

type pollClock struct{ ticker }

// newPollClock: no timerfd here, New falls back to a time.Ticker.
func newPollClock(time.Duration) (*pollClock, error) { return nil, errors.New("no timerfd") }
