package cluster

import (
	"testing"
)

// Replica migration (cluster-behaviour.md §9) on the simulator: master 0
// has two replicas, master 1 one; master 1 dies, its replica takes over and
// is left orphaned; one of master 0's replicas (the smallest name) moves to
// it after 5 s, unless cluster-migration-barrier keeps it or
// cluster-allow-replica-migration forbids it.
func TestSimReplicaMigration(t *testing.T) {
	for _, tc := range []struct {
		name    string
		barrier int
		allow   bool
		moves   bool
	}{
		{"default", 1, true, true},
		{"barrier 2", 2, true, false},
		{"migration not allowed", 1, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := schedule{seed: 77, masters: 3, replicas: []int{2, 1, 0}, o: simOpts{seed: 77, nt: 1000, maxDelay: 5}}
			s := newSimEmpty(t, sc.o)
			s.checkEv = 8
			masters, replicasOf := buildCluster(s, sc)
			for _, nd := range s.nodes {
				nd.set.MigrationBarrier = tc.barrier
				nd.set.AllowReplicaMigration = tc.allow
			}
			s.waitHealthy(15_000, "initial convergence")
			s.crash(masters[1])
			promoted := replicasOf[1][0]
			if !s.runUntil(5000, func() bool { return promoted.st.myself.IsMaster() }) {
				t.Fatalf("no failover:\n%s", s.trace.dump(s))
			}
			// Before the 5 s delay nobody moves.
			s.run(4000)
			if n := len(promoted.st.myself.replicas); n != 0 {
				t.Fatalf("a replica migrated before the delay")
			}
			s.run(6000)
			mover := replicasOf[0][0]
			if other := replicasOf[0][1]; other.st.myself.ID < mover.st.myself.ID {
				mover = other
			}
			got := mover.st.myself.Master != nil && mover.st.myself.Master.ID == promoted.st.myself.ID
			if got != tc.moves {
				t.Fatalf("replica %d now replicates %v, want migration %v:\n%s", mover.i, mover.st.myself.Master.ID, tc.moves, s.trace.dump(s))
			}
			if tc.moves {
				// Everybody learns it.
				s.run(1000)
				for _, nd := range s.nodes {
					if !nd.alive() {
						continue
					}
					if n := nd.st.nodes[mover.st.myself.ID]; n == nil || n.Master == nil || n.Master.ID != promoted.st.myself.ID {
						t.Fatalf("node %d does not see the migration", nd.i)
					}
				}
			}
		})
	}
}
