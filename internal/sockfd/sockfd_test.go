//go:build unix

package sockfd

import (
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDup: the duplicate outlives the closed runtime connection, is
// non-blocking, and carries the same socket.
func TestDup(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	require.NoError(t, err)
	s, err := ln.Accept()
	require.NoError(t, err)
	defer s.Close()
	fd, err := Dup(c)
	require.NoError(t, err)
	defer syscall.Close(fd)
	require.NoError(t, c.Close())
	_, err = syscall.Read(fd, make([]byte, 1))
	require.ErrorIs(t, err, syscall.EAGAIN, "non-blocking: nothing to read yet")
	_, err = s.Write([]byte("x"))
	require.NoError(t, err)
	n, err := syscall.Write(fd, []byte("y"))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got := make([]byte, 1)
	_, err = s.Read(got)
	require.NoError(t, err)
	require.Equal(t, "y", string(got))
	_, err = Dup(&net.UnixConn{})
	require.Error(t, err)
}
