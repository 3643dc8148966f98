package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/gossip"
	"github.com/redcluster/redcluster/internal/slots"
)

const (
	idA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	idB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	idC = "cccccccccccccccccccccccccccccccccccccccc"
	idM = "5555555555555555555555555555555555555555" // myself
)

// machine is a State fed by hand: its links are connected by the test.
type machine struct {
	t   *testing.T
	st  *State
	clk *clock
	out []Output
}

func newMachine(t *testing.T, conf string) *machine {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nodes.conf")
	if conf != "" {
		require.NoError(t, os.WriteFile(path, []byte(conf), 0o644))
	}
	clk := &clock{ms: 1_700_000_000_000}
	set := DefaultSettings()
	set.NodeTimeout = 2000
	st, err := New(Options{ConfigFile: path, Port: 7000, Now: clk.now, Settings: func() Settings { return set }})
	require.NoError(t, err)
	return &machine{t: t, st: st, clk: clk}
}

func (m *machine) step(ev Event) []Output {
	ev.Now = m.clk.ms
	m.out = m.st.Step(ev)
	return m.out
}

// connectAll runs a cron and connects every outbound link it opens; it
// returns the link of each node id.
func (m *machine) connectAll() map[string]LinkID {
	links := map[string]LinkID{}
	for _, o := range m.step(Event{Kind: EvTick}) {
		if o.Kind == OutConnect {
			links[o.Node] = o.Link
		}
	}
	for _, l := range links {
		m.step(Event{Kind: EvConnected, Link: l, LocalIP: "127.0.0.1"})
	}
	return links
}

func (m *machine) sends(typ gossip.Type) []Output {
	var r []Output
	for _, o := range m.out {
		if o.Kind == OutSend && o.Msg.Type == typ {
			r = append(r, o)
		}
	}
	return r
}

func (m *machine) owner(s int) string {
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	if o := m.st.owner[s]; o != nil {
		return o.ID
	}
	return ""
}

// peerMsg is a message from a master named id claiming slots lo..hi.
func peerMsg(typ gossip.Type, id string, epoch uint64, lo, hi int) *gossip.Message {
	m := &gossip.Message{}
	m.Type = typ
	m.Sender = gossip.NameFrom(id)
	m.ConfigEpoch = epoch
	m.CurrentEpoch = epoch
	m.Port = 7001
	m.CPort = 17001
	m.Flags = uint16(FlagMaster)
	for s := lo; s <= hi && lo >= 0; s++ {
		m.Slots.Set(s)
	}
	return m
}

// conf builds nodes.conf lines: myself master of 0-99 at epoch 1, A master
// of 100-199 at epoch 2, B master without slots at epoch 3.
func threeNodes() string {
	return idM + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-99\n" +
		idA + " 127.0.0.1:7001@17001 master - 0 0 2 connected 100-199\n" +
		idB + " 127.0.0.1:7002@17002 master - 0 0 3 connected\n" +
		"vars currentEpoch 3 lastVoteEpoch 0\n"
}

func TestSlotsMoveToGreaterConfigEpoch(t *testing.T) {
	m := newMachine(t, threeNodes())
	links := m.connectAll()
	// B claims 150-199 (A's) with epoch 3 > 2: they move; A keeps 100-149.
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: peerMsg(gossip.TypePong, idB, 3, 150, 199)})
	require.Equal(t, idA, m.owner(149))
	require.Equal(t, idB, m.owner(150))
	require.Equal(t, idB, m.owner(199))
	require.Equal(t, OutSave, m.out[0].Kind, "save comes before everything else")
	require.True(t, m.out[0].Fsync)
	require.Contains(t, m.out[0].Text, idB+" 127.0.0.1:7002@17002 master - 0 ")
	require.Contains(t, m.out[0].Text, " 3 connected 150-199\n")
}

func TestSlotsKeptAgainstSmallerConfigEpochAndUpdateSent(t *testing.T) {
	m := newMachine(t, threeNodes())
	links := m.connectAll()
	// A (epoch 2) claims my slots 0-99 with its epoch 2 > my 1: hmm, that
	// would move them; so B first takes 150 legitimately, then A, still
	// at epoch 2, claims 150 again: A gets an UPDATE about B.
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: peerMsg(gossip.TypePong, idB, 3, 150, 150)})
	require.Equal(t, idB, m.owner(150))
	m.step(Event{Kind: EvMessage, Link: links[idA], Msg: peerMsg(gossip.TypePong, idA, 2, 100, 199)})
	require.Equal(t, idB, m.owner(150), "a smaller configEpoch does not win")
	ups := m.sends(gossip.TypeUpdate)
	require.Len(t, ups, 1)
	require.Equal(t, links[idA], ups[0].Link, "UPDATE goes on the sender's outbound link")
	u := ups[0].Msg
	require.Equal(t, idB, u.UpdateName.String())
	require.Equal(t, uint64(3), u.UpdateConfigEpoch)
	require.True(t, u.UpdateSlots.Has(150))
	require.Equal(t, 1, u.UpdateSlots.Count())
}

func TestLosingAllSlotsMakesMeAReplica(t *testing.T) {
	m := newMachine(t, threeNodes())
	links := m.connectAll()
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: peerMsg(gossip.TypePong, idB, 4, 0, 99)})
	require.Equal(t, idB, m.owner(0))
	var setMaster, lost bool
	for _, o := range m.out {
		setMaster = setMaster || (o.Kind == OutSetMaster && o.Node == idB && o.Port == 7002)
		lost = lost || (o.Kind == OutLostSlots && len(o.Slots) == 100)
	}
	require.True(t, setMaster)
	require.True(t, lost)
	require.True(t, m.st.Snapshot().replica)
	require.Contains(t, m.st.NodesText(), idM+" 127.0.0.1:7000@17000 myself,slave "+idB+" 0 0 4 connected\n")
	// My next PING carries B's slots and epoch, and B as slaveof.
	m.step(Event{Kind: EvMessage, Link: InboundBit | 9, Msg: peerMsg(gossip.TypePing, idA, 2, 100, 199)})
	pongs := m.sends(gossip.TypePong)
	require.Len(t, pongs, 0, "an unaccepted link gets nothing")
	m.step(Event{Kind: EvAccepted, Link: InboundBit | 9, PeerIP: "127.0.0.1", LocalIP: "127.0.0.1"})
	m.step(Event{Kind: EvMessage, Link: InboundBit | 9, Msg: peerMsg(gossip.TypePing, idA, 2, 100, 199)})
	pongs = m.sends(gossip.TypePong)
	require.Len(t, pongs, 1)
	h := pongs[0].Msg.Header
	require.Equal(t, idB, h.SlaveOf.String())
	require.Equal(t, uint64(4), h.ConfigEpoch)
	require.Equal(t, 100, h.Slots.Count())
	require.Equal(t, uint16(FlagSlave|FlagMyself), h.Flags)
}

func TestEpochCollision(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sender string
		moves  bool
	}{
		{"greater sender name: I move", idA, true},
		{"smaller sender name: I stay", "1111111111111111111111111111111111111111", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := idM + " 127.0.0.1:7000@17000 myself,master - 0 0 5 connected 0-99\n" +
				tc.sender + " 127.0.0.1:7001@17001 master - 0 0 5 connected 100-199\n" +
				"vars currentEpoch 7 lastVoteEpoch 0\n"
			m := newMachine(t, conf)
			links := m.connectAll()
			m.step(Event{Kind: EvMessage, Link: links[tc.sender], Msg: peerMsg(gossip.TypePong, tc.sender, 5, 100, 199)})
			info := m.st.InfoText()
			if tc.moves {
				require.Contains(t, info, "cluster_current_epoch:8\r\ncluster_my_epoch:8\r\n")
				require.Equal(t, OutSave, m.out[0].Kind)
				require.True(t, m.out[0].Fsync)
			} else {
				require.Contains(t, info, "cluster_current_epoch:7\r\ncluster_my_epoch:5\r\n")
			}
		})
	}
}

func TestUpdateMessage(t *testing.T) {
	m := newMachine(t, threeNodes())
	links := m.connectAll()
	up := peerMsg(gossip.TypeUpdate, idB, 3, -1, -1)
	up.UpdateName = gossip.NameFrom(idA)
	up.UpdateConfigEpoch = 2 // not newer than what we know: ignored
	up.UpdateSlots = new(slots.Bitmap)
	up.UpdateSlots.Set(5)
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: up})
	require.Equal(t, idM, m.owner(5))
	up.UpdateConfigEpoch = 9
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: up})
	require.Equal(t, idA, m.owner(5))
	require.Equal(t, idA, m.owner(100), "slots A stopped claiming stay bound to it")
	require.Contains(t, m.st.NodesText(), " 9 connected 5 100-199\n")
}

func TestMeetFromUnknownNode(t *testing.T) {
	m := newMachine(t, "")
	l := InboundBit | 1
	m.step(Event{Kind: EvAccepted, Link: l, LocalIP: "10.0.0.1", PeerIP: "10.0.0.2"})
	meet := peerMsg(gossip.TypeMeet, idA, 0, -1, -1)
	meet.Gossip = []gossip.GossipEntry{{Name: gossip.NameFrom(idB), IP: "10.0.0.3", Port: 7002, CPort: 17002, Flags: uint16(FlagMaster)}}
	m.step(Event{Kind: EvMessage, Link: l, Msg: meet})
	pongs := m.sends(gossip.TypePong)
	require.Len(t, pongs, 1)
	require.Equal(t, l, pongs[0].Link, "the PONG goes back on the same connection")
	nodes := m.st.NodesText()
	require.Contains(t, nodes, " 10.0.0.1:7000@17000 myself,master ", "own IP learnt from MEET")
	require.Contains(t, nodes, " 10.0.0.2:7001@17001 handshake - 0 0 0 disconnected\n")
	require.NotContains(t, nodes, idB, "no node is created from the gossip of an unknown sender")
	require.Equal(t, OutSave, m.out[0].Kind)
	require.NotContains(t, m.out[0].Text, "handshake", "handshake nodes are not saved")

	// The cron connects and PINGs (not MEET); the PONG reveals A's name.
	var link LinkID
	for _, o := range m.step(Event{Kind: EvTick}) {
		if o.Kind == OutConnect {
			link = o.Link
			require.Equal(t, "10.0.0.2", o.IP)
			require.Equal(t, 17001, o.Port)
		}
	}
	require.NotZero(t, link)
	m.step(Event{Kind: EvConnected, Link: link, LocalIP: "10.0.0.1"})
	require.Len(t, m.sends(gossip.TypePing), 1)
	m.clk.ms += 5
	m.step(Event{Kind: EvMessage, Link: link, Msg: peerMsg(gossip.TypePong, idA, 0, -1, -1)})
	require.Contains(t, m.st.NodesText(), idA+" 10.0.0.2:7001@17001 master - 0 1700000000005 0 connected\n")
	// Now A is known: its gossip creates B.
	m.step(Event{Kind: EvMessage, Link: l, Msg: meet})
	require.Contains(t, m.st.NodesText(), idB+" 10.0.0.3:7002@17002 master - 0 0 0 disconnected\n")
}

func TestMeetCommandHandshake(t *testing.T) {
	m := newMachine(t, "")
	for _, tc := range []struct{ args, err string }{
		{"127.0.0.1 x", "ERR Invalid TCP base port specified: x"},
		{"127.0.0.1 7001 x", "ERR Invalid TCP bus port specified: x"},
		{"localhost 7001", "ERR Invalid node address specified: localhost:7001"},
		{"127.0.0.1 0", "ERR Invalid node address specified: 127.0.0.1:0"},
		{"127.0.0.1 60000", "ERR Invalid node address specified: 127.0.0.1:60000"}, // bus port 70000
		{"127.0.0.1 7001 65536", "ERR Invalid node address specified: 127.0.0.1:7001"},
		{"fe80::1%eth0 7001", "ERR Invalid node address specified: fe80::1%eth0:7001"},
	} {
		err := m.st.Meet(args(strings.Fields(tc.args)...))
		require.EqualError(t, err, tc.err, tc.args)
	}
	require.NoError(t, m.st.Meet(args("127.0.0.1", "7001")))
	require.NoError(t, m.st.Meet(args("127.0.0.1", "7001")), "a pending handshake: OK, nothing new")
	require.NoError(t, m.st.Meet(args("::ffff:127.0.0.1", "7001")), "a different address")
	require.Contains(t, m.st.InfoText(), "cluster_known_nodes:3\r\n")
	require.Contains(t, m.st.NodesText(), " ::ffff:127.0.0.1:7001@17001 handshake ")
	var meetLink LinkID
	for _, o := range m.step(Event{Kind: EvTick}) {
		if o.Kind == OutConnect && o.IP == "127.0.0.1" {
			meetLink = o.Link
		}
	}
	m.step(Event{Kind: EvConnected, Link: meetLink, LocalIP: "127.0.0.1"})
	require.Len(t, m.sends(gossip.TypeMeet), 1, "a MEET node gets MEET first")
	// Handshake timeout: max(NT, 1000) ms.
	m.clk.ms += 2001
	m.step(Event{Kind: EvTick})
	require.Contains(t, m.st.InfoText(), "cluster_known_nodes:1\r\n")
	var closed int
	for _, o := range m.out {
		if o.Kind == OutClose {
			closed++
		}
	}
	require.Equal(t, 2, closed)
}

func TestPongWithOtherNameMeansNoAddr(t *testing.T) {
	m := newMachine(t, threeNodes())
	links := m.connectAll()
	m.step(Event{Kind: EvMessage, Link: links[idA], Msg: peerMsg(gossip.TypePong, idC, 0, -1, -1)})
	require.Contains(t, m.st.NodesText(), idA+" :0@0 master,noaddr - ")
	require.Equal(t, OutClose, m.out[len(m.out)-1].Kind)
}

func TestFailAndPublishAndForget(t *testing.T) {
	m := newMachine(t, threeNodes())
	links := m.connectAll()
	fail := peerMsg(gossip.TypeFail, idB, 3, -1, -1)
	fail.FailName = gossip.NameFrom(idA)
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: fail})
	require.Contains(t, m.st.NodesText(), idA+" 127.0.0.1:7001@17001 master,fail - ")
	require.Contains(t, m.st.InfoText(), "cluster_slots_fail:100\r\n")
	require.Contains(t, m.st.InfoText(), "cluster_stats_messages_fail_received:1\r\n")

	pub := peerMsg(gossip.TypePublish, idB, 3, -1, -1)
	pub.Channel, pub.Payload = []byte("ch"), []byte("hello")
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: pub})
	require.Len(t, m.out, 1)
	require.Equal(t, Output{Kind: OutPublish, Channel: []byte("ch"), Message: []byte("hello")}, m.out[0])
	pub.Sender = gossip.NameFrom(idC) // unknown sender on an unbound inbound link
	m.step(Event{Kind: EvAccepted, Link: InboundBit | 5})
	m.step(Event{Kind: EvMessage, Link: InboundBit | 5, Msg: pub})
	require.Empty(t, m.out)

	// Our own PUBLISH goes to every linked node; SPUBLISH to my shard only.
	m.st.Publish([]byte("c"), []byte("m"), false)
	out := m.st.TakeOutputs()
	require.Len(t, out, 2)
	m.st.Publish([]byte("c"), []byte("m"), true)
	require.Empty(t, m.st.TakeOutputs())

	// FORGET blacklists the node for 60 s: gossip does not bring it back.
	require.NoError(t, m.st.Forget([]byte(idA)))
	ping := peerMsg(gossip.TypePing, idB, 3, -1, -1)
	ping.Gossip = []gossip.GossipEntry{{Name: gossip.NameFrom(idA), IP: "127.0.0.1", Port: 7001, CPort: 17001, Flags: uint16(FlagMaster)}}
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: ping})
	require.NotContains(t, m.st.NodesText(), idA)
	m.clk.ms += 60_001
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: ping})
	require.Contains(t, m.st.NodesText(), idA)
}

func TestGossipSection(t *testing.T) {
	conf := idM + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383\n"
	var ids []string
	for i := 0; i < 40; i++ {
		id := strings.Repeat(string(rune('a'+i%26)), 39) + string(rune('0'+i/26))
		ids = append(ids, id)
		conf += id + " 127.0.0.1:7001@17001 master - 0 0 0 connected\n"
	}
	m := newMachine(t, conf)
	links := m.connectAll()
	// 41 nodes: wanted = max(3, 41/10) = 4; with PFAIL nodes appended.
	for _, p := range m.sends(gossip.TypePing) {
		require.Len(t, p.Msg.Gossip, 4)
		seen := map[gossip.Name]bool{}
		for _, g := range p.Msg.Gossip {
			require.NotEqual(t, idM, g.Name.String(), "never myself")
			require.False(t, seen[g.Name], "no duplicates")
			seen[g.Name] = true
		}
	}
	m.st.mu.Lock()
	m.st.nodes[ids[0]].Flags |= FlagPFail
	m.st.nodes[ids[1]].Flags |= FlagPFail
	m.st.mu.Unlock()
	m.step(Event{Kind: EvTick}) // counts the PFAIL nodes
	m.step(Event{Kind: EvAccepted, Link: InboundBit | 1})
	m.step(Event{Kind: EvMessage, Link: InboundBit | 1, Msg: peerMsg(gossip.TypePing, ids[5], 0, -1, -1)})
	pongs := m.sends(gossip.TypePong)
	require.Len(t, pongs, 1)
	g := pongs[0].Msg.Gossip
	require.Len(t, g, 6)
	require.Equal(t, ids[0], g[4].Name.String())
	require.Equal(t, ids[1], g[5].Name.String())
	_ = links
}

func TestNodeTimeoutSetsPFail(t *testing.T) {
	m := newMachine(t, threeNodes())
	links := m.connectAll() // PINGs sent: ping_sent = now
	require.NotEmpty(t, links)
	m.clk.ms += 2001
	m.step(Event{Kind: EvTick})
	require.Contains(t, m.st.NodesText(), idA+" 127.0.0.1:7001@17001 master,fail? - 1700000000000 ")
	require.Contains(t, m.st.InfoText(), "cluster_slots_pfail:100\r\n")
	// The silent link was also dropped (link kill rule); the next cron
	// reconnects, and a PONG clears the flag.
	links = m.connectAll()
	m.step(Event{Kind: EvMessage, Link: links[idA], Msg: peerMsg(gossip.TypePong, idA, 2, 100, 199)})
	require.Contains(t, m.st.NodesText(), idA+" 127.0.0.1:7001@17001 master - 0 1700000002001 2 connected 100-199\n")
}

func TestReplicaHeaderAndRoleSwitch(t *testing.T) {
	m := newMachine(t, threeNodes())
	links := m.connectAll()
	// B announces it replicates A.
	p := peerMsg(gossip.TypePong, idB, 2, 100, 199)
	p.SlaveOf = gossip.NameFrom(idA)
	p.Flags = uint16(FlagSlave)
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: p})
	nodes := m.st.NodesText()
	require.Contains(t, nodes, idB+" 127.0.0.1:7002@17002 slave "+idA+" 0 ")
	r, err := m.st.Replicas([]byte(idA))
	require.NoError(t, err)
	require.Len(t, r, 1)
	// And back to master.
	m.step(Event{Kind: EvMessage, Link: links[idB], Msg: peerMsg(gossip.TypePong, idB, 3, -1, -1)})
	require.Contains(t, m.st.NodesText(), idB+" 127.0.0.1:7002@17002 master - 0 ")
	r, err = m.st.Replicas([]byte(idA))
	require.NoError(t, err)
	require.Len(t, r, 0)
}

func TestHostnameExtension(t *testing.T) {
	m := newMachine(t, threeNodes())
	links := m.connectAll()
	p := peerMsg(gossip.TypePong, idA, 2, 100, 199)
	p.Extensions = []gossip.Extension{gossip.HostnameExtension("node-a.example")}
	p.MFlags = gossip.MFlagExtData
	m.step(Event{Kind: EvMessage, Link: links[idA], Msg: p})
	require.Contains(t, m.st.NodesText(), idA+" 127.0.0.1:7001@17001,node-a.example master ")
	m.step(Event{Kind: EvMessage, Link: links[idA], Msg: peerMsg(gossip.TypePong, idA, 2, 100, 199)})
	require.Contains(t, m.st.NodesText(), idA+" 127.0.0.1:7001@17001 master ", "no extension clears it")
}

func TestSetSlotImportingClosedBroadcastsPong(t *testing.T) {
	m := newMachine(t, threeNodes())
	m.connectAll()
	_, err := m.st.SetSlot(args("150", "importing", idA), func(int) int { return 0 })
	require.NoError(t, err)
	_, err = m.st.SetSlot(args("150", "node", idM), func(int) int { return 0 })
	require.NoError(t, err)
	out := m.st.TakeOutputs()
	pongs := 0
	for _, o := range out {
		if o.Kind == OutSend && o.Msg.Type == gossip.TypePong {
			pongs++
			require.True(t, o.Msg.Slots.Has(150))
			require.Equal(t, uint64(4), o.Msg.ConfigEpoch, "bumped without consensus")
		}
	}
	require.Equal(t, 2, pongs)
	require.Equal(t, slots.Count, slots.Count) // keep the import used
}
