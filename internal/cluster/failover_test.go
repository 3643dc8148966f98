package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/gossip"
)

// Failure detection, votes, elections and manual failovers on one state
// machine fed by hand (the simulator covers them end to end).

const (
	idF = "ffffffffffffffffffffffffffffffffffffffff" // a failing master
	idR = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" // its replica
	idS = "dddddddddddddddddddddddddddddddddddddddd" // another replica of F
)

// newFoMachine is newMachine with the replication offset under the test's
// control.
func newFoMachine(t *testing.T, conf string, offset *int64) *machine {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nodes.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o644))
	clk := &clock{ms: 1_700_000_000_000}
	set := DefaultSettings()
	set.NodeTimeout = 2000
	st, err := New(Options{ConfigFile: path, Port: 7000, Now: clk.now, Settings: func() Settings { return set },
		ReplOffset: func() int64 { return *offset }})
	require.NoError(t, err)
	return &machine{t: t, st: st, clk: clk}
}

// fourMasters: myself (0-99, epoch 1), A (100-199, 2), B (200-299, 3) and
// F (300-399, 4) masters; R and S replicas of F.
func fourMasters(me string) string {
	flags := func(id, f string) string {
		if id == me {
			return "myself," + f
		}
		return f
	}
	return idM + " 127.0.0.1:7000@17000 " + flags(idM, "master") + " - 0 0 1 connected 0-99\n" +
		idA + " 127.0.0.1:7001@17001 " + flags(idA, "master") + " - 0 0 2 connected 100-199\n" +
		idB + " 127.0.0.1:7002@17002 " + flags(idB, "master") + " - 0 0 3 connected 200-299\n" +
		idF + " 127.0.0.1:7003@17003 " + flags(idF, "master") + " - 0 0 4 connected 300-399\n" +
		idR + " 127.0.0.1:7004@17004 " + flags(idR, "slave") + " " + idF + " 0 0 4 connected\n" +
		idS + " 127.0.0.1:7005@17005 " + flags(idS, "slave") + " " + idF + " 0 0 4 connected\n" +
		"vars currentEpoch 4 lastVoteEpoch 0\n"
}

// settle connects every link, answers the PINGs of the peers except
// silent ones, and runs past the 2 s writable delay so the cluster size
// is known.
func (m *machine) settle(silent ...string) map[string]LinkID {
	links := m.connectAll()
	for id, l := range links {
		if !contains(silent, id) {
			m.step(Event{Kind: EvMessage, Link: l, Msg: m.pongOf(id)})
		}
	}
	m.clk.ms += 2001
	m.step(Event{Kind: EvTick})
	for id, l := range links {
		if !contains(silent, id) {
			m.step(Event{Kind: EvMessage, Link: l, Msg: m.pongOf(id)})
		}
	}
	return links
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pongOf is a PONG from id as the table of fourMasters describes it.
func (m *machine) pongOf(id string) *gossip.Message {
	switch id {
	case idA:
		return peerMsg(gossip.TypePong, idA, 2, 100, 199)
	case idB:
		return peerMsg(gossip.TypePong, idB, 3, 200, 299)
	case idF:
		return peerMsg(gossip.TypePong, idF, 4, 300, 399)
	case idM:
		return peerMsg(gossip.TypePong, idM, 1, 0, 99)
	}
	p := peerMsg(gossip.TypePong, id, 4, 300, 399)
	p.SlaveOf = gossip.NameFrom(idF)
	p.Flags = uint16(FlagSlave)
	return p
}

func (m *machine) flagsOf(id string) Flags {
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	return m.st.nodes[id].Flags
}

func (m *machine) reports(id string) int {
	n, err := m.st.CountFailureReports([]byte(id))
	require.NoError(m.t, err)
	return n
}

func TestFailureReportsQuorumAndFailBroadcast(t *testing.T) {
	var off int64
	m := newFoMachine(t, fourMasters(idM), &off)
	links := m.connectAll() // PINGs everybody
	answer := func() {
		for id, l := range links {
			if id != idF { // F never answers
				m.step(Event{Kind: EvMessage, Link: l, Msg: m.pongOf(id)})
			}
		}
	}
	answer()
	m.clk.ms += 1100
	m.step(Event{Kind: EvTick}) // NT/2 rule: PINGs again
	answer()
	_, err := m.st.CountFailureReports([]byte("nope"))
	require.EqualError(t, err, "ERR Unknown node nope")
	require.Equal(t, 0, m.reports(idF))
	// NT after our PING, F is PFAIL here; as a master I tell everybody at
	// once (a PONG carrying F in its gossip).
	m.clk.ms += 901
	m.step(Event{Kind: EvTick})
	require.NotZero(t, m.flagsOf(idF)&FlagPFail)
	pongs := m.sends(gossip.TypePong)
	require.NotEmpty(t, pongs)
	found := false
	for _, g := range pongs[0].Msg.Gossip {
		found = found || (g.Name.String() == idF && g.Flags&uint16(FlagPFail) != 0)
	}
	require.True(t, found, "the PONG gossips F as PFAIL")
	// A reports F: 2 of 4 (A and me) is no majority (3).
	rep := m.pongOf(idA)
	rep.Gossip = []gossip.GossipEntry{{Name: gossip.NameFrom(idF), IP: "127.0.0.1", Port: 7003, CPort: 17003, Flags: uint16(FlagMaster | FlagPFail)}}
	m.step(Event{Kind: EvMessage, Link: links[idA], Msg: rep})
	require.Equal(t, 1, m.reports(idF))
	require.Zero(t, m.flagsOf(idF)&FlagFail)
	// A replica's report does not count.
	rr := m.pongOf(idR)
	rr.Gossip = rep.Gossip
	m.step(Event{Kind: EvMessage, Link: links[idR], Msg: rr})
	require.Equal(t, 1, m.reports(idF))
	// B reports it too: FAIL, broadcast to every linked node, saved.
	rb := m.pongOf(idB)
	rb.Gossip = rep.Gossip
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: rb})
	require.NotZero(t, m.flagsOf(idF)&FlagFail)
	require.Zero(t, m.flagsOf(idF)&FlagPFail)
	fails := m.sends(gossip.TypeFail)
	require.Len(t, fails, 4, "FAIL to A, B, R and S (F's silent link was dropped)")
	require.Equal(t, idF, fails[0].Msg.FailName.String())
	require.Equal(t, OutSave, m.out[0].Kind)
	require.Contains(t, m.out[0].Text, idF+" 127.0.0.1:7003@17003 master,fail ")
	require.Contains(t, m.st.InfoText(), "cluster_state:fail\r\n", "F's slots are down")
	// Reports are valid for 2·NT.
	m.clk.ms += 4001
	require.Equal(t, 0, m.reports(idF))
}

func TestFailureReportWithdrawn(t *testing.T) {
	var off int64
	m := newFoMachine(t, fourMasters(idM), &off)
	links := m.settle()
	rep := m.pongOf(idA)
	rep.Gossip = []gossip.GossipEntry{{Name: gossip.NameFrom(idB), IP: "127.0.0.1", Port: 7002, CPort: 17002, Flags: uint16(FlagMaster | FlagPFail)}}
	m.step(Event{Kind: EvMessage, Link: links[idA], Msg: rep})
	require.Equal(t, 1, m.reports(idB))
	require.Zero(t, m.flagsOf(idB)&(FlagFail|FlagPFail), "I can reach B: no FAIL")
	rep.Gossip[0].Flags = uint16(FlagMaster)
	m.step(Event{Kind: EvMessage, Link: links[idA], Msg: rep})
	require.Equal(t, 0, m.reports(idB), "A says B is fine again")
}

func TestReceivedFailAndClearing(t *testing.T) {
	var off int64
	m := newFoMachine(t, fourMasters(idM), &off)
	links := m.settle()
	fail := func(about string) {
		f := peerMsg(gossip.TypeFail, idA, 2, 100, 199)
		f.FailName = gossip.NameFrom(about)
		m.step(Event{Kind: EvMessage, Link: links[idA], Msg: f})
	}
	fail(idF)
	fail(idR)
	require.NotZero(t, m.flagsOf(idF)&FlagFail)
	require.NotZero(t, m.flagsOf(idR)&FlagFail)
	// A replica answering again is cleared at once.
	m.step(Event{Kind: EvMessage, Link: links[idR], Msg: m.pongOf(idR)})
	require.Zero(t, m.flagsOf(idR)&FlagFail)
	// A master still holding slots only after 2·NT.
	m.step(Event{Kind: EvMessage, Link: links[idF], Msg: m.pongOf(idF)})
	require.NotZero(t, m.flagsOf(idF)&FlagFail)
	m.clk.ms += 4001
	m.step(Event{Kind: EvMessage, Link: links[idF], Msg: m.pongOf(idF)})
	require.Zero(t, m.flagsOf(idF)&FlagFail)
	// A master without slots at once.
	fail(idF)
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: peerMsg(gossip.TypePong, idB, 9, 200, 399)}) // B took F's slots
	m.step(Event{Kind: EvMessage, Link: links[idF], Msg: m.pongOf(idF)})
	require.Zero(t, m.flagsOf(idF)&FlagFail)
}

// authRequest is R's (or S's) FAILOVER_AUTH_REQUEST for epoch.
func authRequest(from string, epoch uint64, force bool) *gossip.Message {
	r := peerMsg(gossip.TypeAuthRequest, from, 4, 300, 399)
	r.CurrentEpoch = epoch
	r.SlaveOf = gossip.NameFrom(idF)
	r.Flags = uint16(FlagSlave)
	if force {
		r.MFlags = gossip.MFlagForceAck
	}
	return r
}

func TestVoteRules(t *testing.T) {
	var off int64
	m := newFoMachine(t, fourMasters(idM), &off)
	links := m.settle()
	// F is healthy: no vote (silently), unless FORCEACK.
	m.step(Event{Kind: EvMessage, Link: links[idR], Msg: authRequest(idR, 5, false)})
	require.Empty(t, m.sends(gossip.TypeAuthAck))
	m.step(Event{Kind: EvMessage, Link: links[idR], Msg: authRequest(idR, 6, true)})
	acks := m.sends(gossip.TypeAuthAck)
	require.Len(t, acks, 1)
	require.Equal(t, links[idR], acks[0].Link)
	require.EqualValues(t, 6, acks[0].Msg.CurrentEpoch)
	// lastVoteEpoch is saved with fsync before the ACK leaves.
	require.Equal(t, OutSave, m.out[0].Kind)
	require.True(t, m.out[0].Fsync)
	require.True(t, strings.HasSuffix(m.out[0].Text, "vars currentEpoch 6 lastVoteEpoch 6\n"), m.out[0].Text)
	saved, err := os.ReadFile(m.st.path)
	require.NoError(t, err)
	require.NotContains(t, string(saved), "lastVoteEpoch 6", "the edge writes it (OutSave) before the send")

	// One vote per epoch: S asking in epoch 6 gets nothing.
	m.step(Event{Kind: EvMessage, Link: links[idS], Msg: authRequest(idS, 6, true)})
	require.Empty(t, m.sends(gossip.TypeAuthAck))
	// One vote per failing master every 2·NT: S in epoch 7 neither.
	m.step(Event{Kind: EvMessage, Link: links[idS], Msg: authRequest(idS, 7, true)})
	require.Empty(t, m.sends(gossip.TypeAuthAck))
	m.clk.ms += 4000
	m.step(Event{Kind: EvMessage, Link: links[idS], Msg: authRequest(idS, 8, true)})
	require.Len(t, m.sends(gossip.TypeAuthAck), 1)
	// An old epoch is refused.
	m.clk.ms += 4000
	m.step(Event{Kind: EvMessage, Link: links[idS], Msg: authRequest(idS, 7, true)})
	require.Empty(t, m.sends(gossip.TypeAuthAck))
	// A master asking is refused.
	m.step(Event{Kind: EvMessage, Link: links[idA], Msg: peerMsg(gossip.TypeAuthRequest, idA, 2, 100, 199)})
	require.Empty(t, m.sends(gossip.TypeAuthAck))
	// Claimed slots owned with a greater configEpoch: B took 300-399 at
	// epoch 9, so F's replica (claiming epoch 4) is refused.
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: peerMsg(gossip.TypePong, idB, 9, 200, 399)})
	m.step(Event{Kind: EvMessage, Link: links[idR], Msg: authRequest(idR, 10, true)})
	require.Empty(t, m.sends(gossip.TypeAuthAck))
}

func TestReplicaAndSlotlessMasterDoNotVote(t *testing.T) {
	var off int64
	m := newFoMachine(t, fourMasters(idS), &off)
	links := m.settle()
	m.step(Event{Kind: EvMessage, Link: links[idR], Msg: authRequest(idR, 9, true)})
	require.Empty(t, m.sends(gossip.TypeAuthAck))
	require.Contains(t, m.st.InfoText(), "cluster_current_epoch:9\r\n", "the epoch is adopted all the same")
}

func TestElection(t *testing.T) {
	var off int64 = 500
	m := newFoMachine(t, fourMasters(idR), &off)
	links := m.settle()
	// S advertised a smaller offset: I am rank 0.
	ps := m.pongOf(idS)
	ps.Offset = 400
	m.step(Event{Kind: EvMessage, Link: links[idS], Msg: ps})
	// F is declared failing by A: the election is scheduled at once (a
	// wake-up at its time) and my offset goes to S.
	f := peerMsg(gossip.TypeFail, idA, 2, 100, 199)
	f.FailName = gossip.NameFrom(idF)
	m.step(Event{Kind: EvMessage, Link: links[idA], Msg: f})
	var wake int64
	for _, o := range m.out {
		if o.Kind == OutWake {
			wake = o.At
		}
	}
	d := m.clk.ms
	require.GreaterOrEqual(t, wake, d+100, "NT 2000: 100 ms + random(100)")
	require.Less(t, wake, d+200)
	pongs := m.sends(gossip.TypePong)
	require.Len(t, pongs, 1)
	require.Equal(t, links[idS], pongs[0].Link)
	require.Empty(t, m.sends(gossip.TypeAuthRequest))
	// Time comes: currentEpoch 5, requested from everybody, saved first.
	m.clk.ms = wake
	m.step(Event{Kind: EvWake})
	reqs := m.sends(gossip.TypeAuthRequest)
	require.Len(t, reqs, 5)
	h := reqs[0].Msg.Header
	require.EqualValues(t, 5, h.CurrentEpoch)
	require.EqualValues(t, 4, h.ConfigEpoch, "F's configEpoch")
	require.Equal(t, 100, h.Slots.Count(), "F's slots")
	require.Equal(t, idF, h.SlaveOf.String())
	require.Zero(t, h.MFlags&gossip.MFlagForceAck)
	require.Equal(t, OutSave, m.out[0].Kind)
	require.True(t, m.out[0].Fsync)
	// Votes: a replica's and an old epoch's do not count; 3 masters do (of
	// 4: quorum 3).
	ack := func(from string, epoch uint64) {
		a := m.pongOf(from)
		a.Type = gossip.TypeAuthAck
		a.CurrentEpoch = epoch
		m.step(Event{Kind: EvMessage, Link: links[from], Msg: a})
	}
	ack(idS, 5)
	ack(idA, 4)
	ack(idA, 5)
	ack(idA, 5) // counted once
	ack(idB, 5)
	require.True(t, m.st.Snapshot().replica)
	ack(idM, 5)
	require.False(t, m.st.Snapshot().replica, "won")
	var unset bool
	for _, o := range m.out {
		unset = unset || o.Kind == OutUnsetMaster
	}
	require.True(t, unset)
	require.Equal(t, OutSave, m.out[0].Kind)
	require.True(t, m.out[0].Fsync)
	require.Contains(t, m.out[0].Text, idR+" 127.0.0.1:7000@17000 myself,master - 0 0 5 connected 300-399\n")
	require.Len(t, m.sends(gossip.TypePong), 5, "everybody hears of it")
	require.Equal(t, idR, m.owner(300))
}

func TestElectionRankDelayAndNoFailover(t *testing.T) {
	var off int64 = 500
	m := newFoMachine(t, fourMasters(idR), &off)
	links := m.settle()
	ps := m.pongOf(idS)
	ps.Offset = 900 // S is ahead: I am rank 1
	m.step(Event{Kind: EvMessage, Link: links[idS], Msg: ps})
	f := peerMsg(gossip.TypeFail, idA, 2, 100, 199)
	f.FailName = gossip.NameFrom(idF)
	m.step(Event{Kind: EvMessage, Link: links[idA], Msg: f})
	var wake int64
	for _, o := range m.out {
		if o.Kind == OutWake {
			wake = o.At
		}
	}
	require.GreaterOrEqual(t, wake, m.clk.ms+300, "100 + random(100) + 1·200")
	require.Less(t, wake, m.clk.ms+400)
	// With cluster-replica-no-failover nothing happens at all.
	m.st.mu.Lock()
	m.st.opts.Settings = func() Settings { s := DefaultSettings(); s.NodeTimeout = 2000; s.ReplicaNoFailover = true; return s }
	m.st.mu.Unlock()
	m.clk.ms = wake + 1
	m.step(Event{Kind: EvWake})
	require.Empty(t, m.sends(gossip.TypeAuthRequest))
}

func TestClusterFailoverErrors(t *testing.T) {
	var off int64
	m := newFoMachine(t, fourMasters(idM), &off)
	args := func(s ...string) [][]byte {
		var out [][]byte
		for _, a := range s {
			out = append(out, []byte(a))
		}
		return out
	}
	require.EqualError(t, m.st.Failover(args("foo")), "ERR syntax error")
	require.EqualError(t, m.st.Failover(nil), "ERR You should send CLUSTER FAILOVER to a replica")
	require.EqualError(t, m.st.Failover(args("TAKEOVER")), "ERR You should send CLUSTER FAILOVER to a replica")

	r := newFoMachine(t, fourMasters(idR), &off)
	// No link to the master yet: default mode refuses.
	require.EqualError(t, r.st.Failover(nil), "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
	links := r.settle()
	f := peerMsg(gossip.TypeFail, idA, 2, 100, 199)
	f.FailName = gossip.NameFrom(idF)
	r.step(Event{Kind: EvMessage, Link: links[idA], Msg: f})
	require.EqualError(t, r.st.Failover(nil), "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
	require.NoError(t, r.st.Failover(args("force")))

	orphan := newFoMachine(t, idM+" 127.0.0.1:7000@17000 myself,slave "+idA+" 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n", &off)
	orphan.st.mu.Lock()
	orphan.st.myself.Master.removeReplica(orphan.st.myself)
	orphan.st.myself.Master = nil
	orphan.st.mu.Unlock()
	require.EqualError(t, orphan.st.Failover(nil), "ERR I'm a replica but my master is unknown to me")
}

func TestManualFailoverMasterSide(t *testing.T) {
	var off int64 = 1234
	m := newFoMachine(t, fourMasters(idF), &off)
	links := m.settle()
	in := InboundBit | 77
	m.step(Event{Kind: EvAccepted, Link: in, PeerIP: "127.0.0.1", LocalIP: "127.0.0.1"})
	mf := m.pongOf(idR)
	mf.Type = gossip.TypeMFStart
	// Only from one of my replicas.
	a := m.pongOf(idA)
	a.Type = gossip.TypeMFStart
	m.step(Event{Kind: EvMessage, Link: links[idA], Msg: a})
	require.Empty(t, m.out)
	m.step(Event{Kind: EvMessage, Link: in, Msg: mf})
	var pause int64
	for _, o := range m.out {
		if o.Kind == OutPauseWrites {
			pause = o.At
		}
	}
	require.Equal(t, m.clk.ms+10_000, pause, "writes pause for 2·5000 ms")
	pings := m.sends(gossip.TypePing)
	require.Len(t, pings, 1)
	require.Equal(t, in, pings[0].Link, "the PING goes back where MFSTART came from")
	require.NotZero(t, pings[0].Msg.MFlags&gossip.MFlagPaused)
	require.EqualValues(t, 1234, pings[0].Msg.Offset)
	// Every cron PINGs R, flagged PAUSED.
	m.clk.ms += 100
	m.step(Event{Kind: EvTick})
	found := false
	for _, p := range m.sends(gossip.TypePing) {
		if p.Link == links[idR] {
			found = true
			require.NotZero(t, p.Msg.MFlags&gossip.MFlagPaused)
		}
	}
	require.True(t, found)
	// After 5 s without a result the manual failover is aborted and the
	// writes resume.
	m.clk.ms += 5000
	m.step(Event{Kind: EvTick})
	var unpause bool
	for _, o := range m.out {
		unpause = unpause || o.Kind == OutUnpauseWrites
	}
	require.True(t, unpause)
}

func TestManualFailoverReplicaSide(t *testing.T) {
	var off int64 = 100
	m := newFoMachine(t, fourMasters(idR), &off)
	links := m.settle()
	require.NoError(t, m.st.Failover(nil))
	outs := m.st.TakeOutputs()
	require.Len(t, outs, 1)
	require.Equal(t, gossip.TypeMFStart, outs[0].Msg.Type)
	require.Equal(t, links[idF], outs[0].Link)
	// F paused at offset 150; I am at 100: wait.
	p := m.pongOf(idF)
	p.Type = gossip.TypePing
	p.MFlags = gossip.MFlagPaused
	p.Offset = 150
	m.step(Event{Kind: EvMessage, Link: InboundBit | 5, Msg: p}) // unaccepted link: ignored
	m.step(Event{Kind: EvAccepted, Link: InboundBit | 5, PeerIP: "127.0.0.1", LocalIP: "127.0.0.1"})
	m.step(Event{Kind: EvMessage, Link: InboundBit | 5, Msg: p})
	require.Empty(t, m.sends(gossip.TypeAuthRequest))
	// Caught up: the election starts at once, FORCEACK.
	off = 150
	m.clk.ms += 100
	m.step(Event{Kind: EvTick})
	reqs := m.sends(gossip.TypeAuthRequest)
	require.Len(t, reqs, 5)
	require.NotZero(t, reqs[0].Msg.MFlags&gossip.MFlagForceAck)
	require.EqualValues(t, 5, reqs[0].Msg.CurrentEpoch)
}

func TestTakeover(t *testing.T) {
	var off int64
	m := newFoMachine(t, fourMasters(idR), &off)
	links := m.settle()
	require.NotEmpty(t, links)
	require.NoError(t, m.st.Failover([][]byte{[]byte("TAKEOVER")}))
	outs := m.st.TakeOutputs()
	var pongs, reqs int
	for _, o := range outs {
		if o.Kind == OutSend && o.Msg.Type == gossip.TypePong {
			pongs++
			require.EqualValues(t, 5, o.Msg.ConfigEpoch)
		}
		if o.Kind == OutSend && o.Msg.Type == gossip.TypeAuthRequest {
			reqs++
		}
	}
	require.Equal(t, 5, pongs)
	require.Zero(t, reqs, "no election")
	require.Equal(t, idR, m.owner(399))
	require.Contains(t, m.st.InfoText(), "cluster_current_epoch:5\r\ncluster_my_epoch:5\r\n")
	saved, err := os.ReadFile(m.st.path)
	require.NoError(t, err)
	require.Contains(t, string(saved), idR+" 127.0.0.1:7000@17000 myself,master - 0 0 5 connected 300-399\n")
}

func TestClosedOutboundLinkStartsTheClock(t *testing.T) {
	var off int64
	m := newFoMachine(t, fourMasters(idM), &off)
	links := m.settle()
	// A live node's connection drops: the PING of the reconnection is due
	// now, and answered.
	m.step(Event{Kind: EvClosed, Link: links[idA]})
	m.st.mu.Lock()
	require.Equal(t, m.clk.ms, m.st.nodes[idA].PingSent)
	m.st.mu.Unlock()
	m.clk.ms += 100
	relinks := m.connectAll()
	require.Contains(t, relinks, idA)
	m.step(Event{Kind: EvMessage, Link: relinks[idA], Msg: m.pongOf(idA)})
	m.st.mu.Lock()
	require.Zero(t, m.st.nodes[idA].PingSent)
	m.st.mu.Unlock()
	// A crashed one (connections refused) turns PFAIL NT after the loss.
	m.step(Event{Kind: EvClosed, Link: links[idB]})
	for i := 0; i < 20; i++ {
		m.clk.ms += 100
		for _, o := range m.step(Event{Kind: EvTick}) {
			if o.Kind == OutConnect && o.Node == idB {
				m.step(Event{Kind: EvConnectFailed, Link: o.Link})
			}
		}
	}
	require.Zero(t, m.flagsOf(idB)&FlagPFail)
	m.clk.ms += 101
	m.step(Event{Kind: EvTick})
	require.NotZero(t, m.flagsOf(idB)&FlagPFail)
}

// TestSpreadPFailLimits: a master spreads a fresh PFAIL with a PONG to
// every linked node, at most once per NT/2, and not while it sees a
// majority of the slot-owning masters PFAIL.
func TestSpreadPFailLimits(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sinceLast int64 // ms since the last spread; 0: none yet
		pfail     []string
		spread    bool
	}{
		{"first", 0, []string{idF}, true},
		{"within NT/2 of the last", 999, []string{idF}, false},
		{"NT/2 after the last", 1001, []string{idF}, true},
		{"half of the masters", 0, []string{idF, idB}, true},
		{"a majority of the masters", 0, []string{idF, idB, idA}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var off int64
			m := newFoMachine(t, fourMasters(idM), &off)
			m.connectAll()
			st := m.st
			st.mu.Lock()
			st.now = m.clk.ms
			if tc.sinceLast != 0 {
				st.lastSpread = st.now - tc.sinceLast
			}
			for _, id := range tc.pfail {
				st.nodes[id].Flags |= FlagPFail
			}
			st.spreadPFail()
			m.out = st.drain()
			st.mu.Unlock()
			if tc.spread {
				require.Len(t, m.sends(gossip.TypePong), 5, "a PONG to each of the 5 other nodes")
			} else {
				require.Empty(t, m.sends(gossip.TypePong))
			}
		})
	}
}
