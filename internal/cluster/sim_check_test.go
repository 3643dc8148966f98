package cluster

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/redcluster/redcluster/internal/gossip"
	"github.com/redcluster/redcluster/internal/slots"
)

// Invariants checked by the simulator after every event, and the trace it
// prints when one breaks.

// short is the first 8 characters of a node ID.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// nodeSummary is what the trace reports about a node after each event.
type nodeSummary struct {
	master        bool
	of            string
	configEpoch   uint64
	currentEpoch  uint64
	lastVoteEpoch uint64
	ok            bool
	failing       int // nodes flagged FAIL
	pfail         int // nodes flagged PFAIL
}

func summarize(st *State) nodeSummary {
	me := st.myself
	sm := nodeSummary{master: me.IsMaster(), configEpoch: me.ConfigEpoch, currentEpoch: st.currentEpoch,
		lastVoteEpoch: st.lastVoteEpoch, ok: st.ok}
	if me.Master != nil {
		sm.of = me.Master.ID
	}
	for _, n := range st.list {
		if n.Flags&FlagFail != 0 {
			sm.failing++
		}
		if n.Flags&FlagPFail != 0 {
			sm.pfail++
		}
	}
	return sm
}

func (sm nodeSummary) String() string {
	role := "master"
	if !sm.master {
		role = "replica of " + short(sm.of)
	}
	state := "fail"
	if sm.ok {
		state = "ok"
	}
	return fmt.Sprintf("%s configEpoch=%d currentEpoch=%d lastVote=%d state=%s fail=%d pfail=%d",
		role, sm.configEpoch, sm.currentEpoch, sm.lastVoteEpoch, state, sm.failing, sm.pfail)
}

// simTrace keeps the last lines of a readable history of the run: scenario
// actions, every message other than PING/PONG, every change of a node's
// role, epochs, state or failure flags.
type simTrace struct {
	all   bool // every event (SIM_TRACE_ALL=1)
	size  int
	lines []string
	next  int
	total int
}

func (tr *simTrace) add(line string) {
	if len(tr.lines) < tr.size {
		tr.lines = append(tr.lines, line)
	} else {
		tr.lines[tr.next] = line
		tr.next = (tr.next + 1) % tr.size
	}
	tr.total++
}

func (tr *simTrace) note(s *sim, format string, args ...any) {
	tr.add(fmt.Sprintf("%8d  %s", s.now-simEpoch, fmt.Sprintf(format, args...)))
}

// simEpoch is the simulated clock's start.
const simEpoch = 1_700_000_000_000

func (tr *simTrace) event(s *sim, nd *simNode, ev Event, before nodeSummary) {
	after := summarize(nd.st)
	var what string
	if ev.Kind == EvMessage && ev.Msg != nil && ev.Msg.Type != gossip.TypePing && ev.Msg.Type != gossip.TypePong {
		m := ev.Msg
		what = fmt.Sprintf("%s from %s (currentEpoch %d configEpoch %d", m.Type, short(m.Sender.String()), m.CurrentEpoch, m.ConfigEpoch)
		switch m.Type {
		case gossip.TypeFail:
			what += " about " + short(m.FailName.String())
		case gossip.TypeUpdate:
			what += fmt.Sprintf(" about %s epoch %d", short(m.UpdateName.String()), m.UpdateConfigEpoch)
		}
		if m.MFlags&gossip.MFlagForceAck != 0 {
			what += " FORCEACK"
		}
		what += ")"
	}
	if what == "" && tr.all {
		what = [...]string{"tick", "accepted", "message", "connected", "connect failed", "closed", "wake"}[ev.Kind]
		what += fmt.Sprintf(" link %x", uint64(ev.Link))
		if ev.Kind == EvMessage && ev.Msg != nil {
			what += " " + ev.Msg.Type.String() + " from " + short(ev.Msg.Sender.String())
		}
	}
	if after != before {
		if what == "" {
			what = [...]string{"tick", "accepted", "message", "connected", "connect failed", "closed", "wake"}[ev.Kind]
			if ev.Kind == EvMessage && ev.Msg != nil {
				what = ev.Msg.Type.String() + " from " + short(ev.Msg.Sender.String())
			}
		}
		what += " -> " + after.String()
	}
	if what != "" {
		tr.note(s, "node %d (%s): %s", nd.i, short(nd.st.myself.ID), what)
	}
}

// dump prints the trace with every node's final view.
func (tr *simTrace) dump(s *sim) string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- trace (last %d of %d lines, ms since start)\n", len(tr.lines), tr.total)
	for i := range tr.lines {
		b.WriteString(tr.lines[(tr.next+i)%len(tr.lines)])
		b.WriteByte('\n')
	}
	for _, nd := range s.nodes {
		state := "alive"
		switch {
		case nd.crashed:
			state = "crashed"
		case nd.hung:
			state = "hung"
		}
		fmt.Fprintf(&b, "--- node %d (%s, %s): %s\n%s\n", nd.i, short(nd.st.myself.ID), state, summarize(nd.st), view(nd.st))
	}
	return b.String()
}

// checkStep runs the invariants after an event handled by nd.
func (s *sim) checkStep(nd *simNode) {
	if s.steps%s.checkEv == 0 {
		checkInvariants(s.t, nd.st)
	}
	s.checkUniqueServers(nd)
}

// checkUniqueServers: no two nodes serve one slot as masters with the same
// configEpoch. nd just changed; it is compared with every other node that
// believes itself a master (hung ones included: they resume believing it).
func (s *sim) checkUniqueServers(nd *simNode) {
	me := nd.st.myself
	if nd.crashed || !me.IsMaster() || me.numSlots == 0 {
		return
	}
	for _, x := range s.nodes {
		o := x.st.myself
		if x == nd || x.crashed || !o.IsMaster() || o.ConfigEpoch != me.ConfigEpoch || o.numSlots == 0 {
			continue
		}
		if sl := firstCommon(&me.slots, &o.slots); sl >= 0 {
			s.failf("nodes %d and %d both serve slot %d as masters with configEpoch %d", nd.i, x.i, sl, me.ConfigEpoch)
		}
	}
}

// firstCommon is the first slot set in both bitmaps, -1 if none.
func firstCommon(a, b *slots.Bitmap) int {
	for i := 0; i < len(a); i += 8 {
		w := binary.LittleEndian.Uint64(a[i:]) & binary.LittleEndian.Uint64(b[i:])
		if w != 0 {
			for s := i * 8; s < (i+8)*8; s++ {
				if a.Has(s) && b.Has(s) {
					return s
				}
			}
		}
	}
	return -1
}

// served reports whether every slot is served by a running master in
// cluster state ok, by its own view; it returns the first slot that is not.
func (s *sim) served() (bool, int) {
	var all slots.Bitmap
	for _, nd := range s.nodes {
		me := nd.st.myself
		if !nd.alive() || !me.IsMaster() || !nd.st.ok {
			continue
		}
		for i := range all {
			all[i] |= me.slots[i]
		}
	}
	for i, b := range all {
		if b != 0xff {
			for bit := 0; bit < 8; bit++ {
				if b&(1<<bit) == 0 {
					return false, i*8 + bit
				}
			}
		}
	}
	return true, -1
}
