package main

import (
	"fmt"
	"math"
)

// numSlots is the number of hash slots of a cluster.
const numSlots = 16384

// layout is the shape of a new cluster: which nodes are masters, their slot
// ranges, and whom each replica follows.
type layout struct {
	masters  int      // nodes [0, masters) are masters
	slots    [][2]int // slots[i] = first and last slot of master i
	masterOf []int    // masterOf[i] = index of node i's master, -1 for masters
}

// plan lays out n nodes with replicas replicas per master like redis-cli
// does for nodes with distinct addresses: the first n/(replicas+1) nodes are
// masters splitting the slots evenly (3 masters: 0-5460, 5461-10922,
// 10923-16383), the remaining nodes are dealt to the masters in turn.
func plan(n, replicas int) (layout, error) {
	masters := n / (replicas + 1)
	if masters < 3 {
		return layout{}, fmt.Errorf("%d nodes with %d replicas per master give %d masters: a cluster needs at least 3", n, replicas, masters)
	}
	l := layout{masters: masters, masterOf: make([]int, n)}
	per := float64(numSlots) / float64(masters)
	first := 0
	for i := 0; i < masters; i++ {
		last := int(math.Round(float64(i)*per + per - 1))
		if i == masters-1 || last > numSlots-1 {
			last = numSlots - 1
		}
		l.slots = append(l.slots, [2]int{first, last})
		first = last + 1
		l.masterOf[i] = -1
	}
	for i := masters; i < n; i++ {
		l.masterOf[i] = (i - masters) % masters
	}
	return l, nil
}
