package server

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// loopSet is the server's set of event loops (eventloop_linux.go), started
// with the first connection.
type loopSet struct {
	// NetLoops is how many event loops serve the connections: 0 picks the
	// default (the REDCLUSTER_NETLOOPS environment variable, else one), a
	// negative number serves every connection with a goroutine of its own.
	// Set it before Serve.
	NetLoops int

	once  sync.Once
	loops []*eventLoop
	next  atomic.Uint32
}

// defaultNetLoops reads REDCLUSTER_NETLOOPS: a number of loops, "max" for
// GOMAXPROCS, or 0 or "goroutine" for a goroutine per connection.
func defaultNetLoops() int {
	switch v := os.Getenv("REDCLUSTER_NETLOOPS"); v {
	case "":
		return 1
	case "goroutine":
		return -1
	case "max":
		return runtime.GOMAXPROCS(0)
	default:
		n, err := strconv.Atoi(v)
		if err != nil {
			return 1
		}
		if n <= 0 {
			return -1
		}
		return n
	}
}

// pickLoop returns the event loop for a new connection (round robin), or
// nil when connections get goroutines of their own.
func (s *Server) pickLoop() *eventLoop {
	ls := &s.netLoops
	ls.once.Do(func() {
		n := ls.NetLoops
		if n == 0 {
			n = defaultNetLoops()
		}
		for i := 0; i < n; i++ {
			l, err := newEventLoop(s)
			if err != nil {
				s.Log.Warn().Err(err).Msg("event loop unavailable: serving each connection with a goroutine")
				break
			}
			ls.loops = append(ls.loops, l)
		}
	})
	if len(ls.loops) == 0 {
		return nil
	}
	return ls.loops[int(ls.next.Add(1))%len(ls.loops)]
}
