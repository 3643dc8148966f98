package cluster

import (
	"container/heap"
	"fmt"
	"strconv"
	"testing"

	"github.com/redcluster/redcluster/internal/gossip"
)

// Benchmarks of the state machine on the simulated network: the cost of
// one step of an idle converged node (go test -bench Step -benchmem), and
// the protocol's own figures for a cluster formed like the gossip-scale
// benchmark does it (go test -bench SimForm): simulated milliseconds until
// every node agrees, and idle bus messages per node per second. Simulated
// time has no CPU noise, so ping-scheduling and gossip changes can be
// compared exactly, seed by seed.

// simFormed builds n masters with the slots split evenly, node 0 MEETs the
// others (gossip-scale's CREATE=manual), and runs until every node agrees.
// It returns the simulated ms that took.
func simFormed(tb testing.TB, n int, seed uint64) (*sim, int64) {
	s := newSim(tb, n, simOpts{seed: seed, nt: 5000, maxDelay: 1})
	s.checkEv = 1 << 30 // structural checks cost more than the steps
	s.assignSlots(n)
	for i, nd := range s.nodes {
		s.command(nd, func(st *State) error {
			return st.SetConfigEpoch([]byte(strconv.Itoa(i + 1)))
		})
	}
	start := s.now
	for _, nd := range s.nodes[1:] {
		s.command(s.nodes[0], func(st *State) error {
			return st.Meet([][]byte{[]byte(nd.ip), []byte(strconv.Itoa(nd.port))})
		})
	}
	agreed := func() bool {
		for _, nd := range s.nodes {
			if !nd.st.OK() || len(nd.st.Peers()) != n {
				return false
			}
		}
		return s.converged(n)
	}
	for !agreed() {
		if s.now-start > 120_000 {
			tb.Fatalf("%d nodes did not agree in 120 s:\n%s", n, s.diff())
		}
		s.run(10)
	}
	return s, s.now - start
}

// nextMessage runs the simulation until a message of type typ is queued
// for node 0 and returns that event (still queued).
func nextMessage(tb testing.TB, s *sim, typ gossip.Type) Event {
	for range 100_000 {
		for _, e := range s.q {
			if e.node == s.nodes[0] && e.ev.Kind == EvMessage && e.ev.Msg.Type == typ {
				return e.ev
			}
		}
		e := heap.Pop(&s.q).(*simEvent)
		heap.Push(&s.q, e)
		s.run(e.at - s.now)
	}
	tb.Fatalf("no %s for node 0", typ)
	return Event{}
}

// BenchmarkStep is one event of an idle converged 30-node cluster on node 0.
func BenchmarkStep(b *testing.B) {
	s, _ := simFormed(b, 30, 1)
	s.run(10_000)
	st := s.nodes[0].st
	for _, typ := range []gossip.Type{gossip.TypePing, gossip.TypePong} {
		ev := nextMessage(b, s, typ)
		ev.Now = s.now
		b.Run(typ.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				st.Step(ev)
			}
		})
	}
	b.Run("tick", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st.Step(Event{Kind: EvTick, Now: s.now})
		}
	})
}

// BenchmarkSimForm reports, for the simulated network (1 ms delays),
// sim_ms: simulated time from the first MEET until every node knows every
// other, agrees on the slots and is ok; and msgs/node/s: bus messages each
// node sends per second over a minute of idling after that.
func BenchmarkSimForm(b *testing.B) {
	for _, n := range []int{6, 30, 60, 120} {
		b.Run(fmt.Sprintf("n%d", n), func(b *testing.B) {
			var formMs, msgs float64
			runs := 0
			for i := 0; b.Loop(); i++ {
				s, ms := simFormed(b, n, uint64(i+1))
				s.run(5_000)
				sent := func() (t int) {
					for _, nd := range s.nodes {
						for _, c := range nd.sent {
							t += c
						}
					}
					return t
				}
				before := sent()
				s.run(60_000)
				formMs += float64(ms)
				msgs += float64(sent()-before) / 60 / float64(n)
				runs++
			}
			b.ReportMetric(formMs/float64(runs), "sim_ms")
			b.ReportMetric(msgs/float64(runs), "msgs/node/s")
		})
	}
}

// BenchmarkNodesText is CLUSTER NODES on a node of a converged 60-node
// cluster.
func BenchmarkNodesText(b *testing.B) {
	s, _ := simFormed(b, 60, 1)
	st := s.nodes[0].st
	b.ReportAllocs()
	for b.Loop() {
		_ = st.NodesText()
	}
}
