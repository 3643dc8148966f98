package pollclock

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// pollClock is a periodic timerfd registered with the netpoller. Its
// reads are raw system calls: a read through the syscall package would
// wake sysmon at every tick, which is what this clock avoids.
type pollClock struct {
	f      *os.File
	rc     syscall.RawConn
	closed atomic.Bool
}

func newPollClock(period time.Duration) (*pollClock, error) {
	const clockMonotonic = 1
	fd, _, e := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		return nil, fmt.Errorf("timerfd_create: %w", e)
	}
	ts := syscall.NsecToTimespec(period.Nanoseconds())
	spec := struct{ interval, value syscall.Timespec }{ts, ts}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0); e != 0 {
		syscall.Close(int(fd))
		return nil, fmt.Errorf("timerfd_settime: %w", e)
	}
	// A non-blocking descriptor given to os.NewFile is registered with
	// the netpoller.
	f := os.NewFile(fd, "pollclock")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("pollclock: %w", err)
	}
	return &pollClock{f: f, rc: rc}, nil
}

func (c *pollClock) wait() bool {
	if c.closed.Load() {
		return false
	}
	var n uint64 // expirations since the last read
	ok := true
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			_, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&n)), 8)
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // not yet: the netpoller waits for the tick
			case 0:
			default:
				ok = false
			}
			return true
		}
	})
	return err == nil && ok
}

func (c *pollClock) close() {
	if c.closed.CompareAndSwap(false, true) {
		c.f.Close()
	}
}
