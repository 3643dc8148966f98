package cluster

import (
	"io"
	"syscall"
	"unsafe"
)

// Bus sockets are read and written with raw system calls on their
// non-blocking descriptors. A Go system call through the syscall package
// wakes the runtime's sysmon thread whenever it sleeps, which is every
// time an idle process does anything: an idle node paid more for those
// wake-ups (tens of nanosleeps per packet) than for its bus traffic. A
// non-blocking read or write never blocks, so it does not need to tell
// the scheduler; waiting for readiness is the bus loop's epoll set
// (busio_linux.go).

// rawRead reads into p (not empty) from the non-blocking descriptor fd:
// n > 0, or io.EOF, or an errno; ok is false when nothing is ready yet.
func rawRead(fd uintptr, p []byte) (n int, ok bool, err error) {
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return 0, false, nil
		case e != 0:
			return 0, true, e
		case r == 0:
			return 0, true, io.EOF
		}
		return int(r), true, nil
	}
}

// rawWrite writes as much of p as fd takes now.
func rawWrite(fd uintptr, p []byte) (int, error) {
	done := 0
	for done < len(p) {
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[done])), uintptr(len(p)-done))
		switch e {
		case 0:
			done += int(r)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return done, nil
		default:
			return done, e
		}
	}
	return done, nil
}
