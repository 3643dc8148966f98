//go:build unix

// Package sockfd takes sockets out of the Go runtime's hands for the
// event loops that serve them themselves (the server's client loop and the
// cluster bus's link loop).
package sockfd

import (
	"errors"
	"net"
	"syscall"
)

// Dup duplicates the descriptor of a runtime connection (close-on-exec,
// non-blocking). The caller then closes nc, so the runtime's poller no
// longer sees the socket, and owns the returned descriptor.
func Dup(nc net.Conn) (int, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, errors.New("no descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(f uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, f, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = e
			return
		}
		fd = int(r)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}
