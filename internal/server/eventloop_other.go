//go:build !linux

package server

import (
	"errors"
	"net"
)

// Without epoll every connection is served by a goroutine of its own.

type eventLoop struct{}

type loopConn struct {
	net.Conn
	loop *eventLoop
}

func newEventLoop(*Server) (*eventLoop, error) {
	return nil, errors.New("event loops need Linux's epoll")
}

func newLoopConn(*eventLoop, *Client, net.Conn) *loopConn { return nil }

func (l *eventLoop) add(*loopConn) bool { return false }

func (lc *loopConn) abandon([]byte) {}

func (lc *loopConn) reattach() bool { return false }
