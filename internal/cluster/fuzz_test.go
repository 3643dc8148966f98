package cluster

import (
	"encoding/binary"
	mrand "math/rand/v2"
	"testing"

	"github.com/redcluster/redcluster/internal/gossip"
)

// byteSource turns fuzz input into choices.
type byteSource struct{ b []byte }

func (s *byteSource) u8() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *byteSource) u16() uint16 { return uint16(s.u8())<<8 | uint16(s.u8()) }

func (s *byteSource) u64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = s.u8()
	}
	return binary.BigEndian.Uint64(b[:])
}

var fuzzNames = []string{idM, idA, idB, idC, "dddddddddddddddddddddddddddddddddddddddd", "not-a-valid-name", ""}

func (s *byteSource) name() gossip.Name {
	return gossip.NameFrom(fuzzNames[int(s.u8())%len(fuzzNames)])
}

var fuzzIPs = []string{"", "127.0.0.1", "10.0.0.9", "::1", "bad ip\n"}

// message builds a random but decodable message.
func (s *byteSource) message() *gossip.Message {
	m := &gossip.Message{}
	m.Type = gossip.Type(s.u8() % 12)
	m.Sender = s.name()
	if s.u8()%3 == 0 {
		m.SlaveOf = s.name()
	}
	m.CurrentEpoch = s.u64() % 16
	m.ConfigEpoch = s.u64() % 16
	m.Flags = s.u16()
	m.Port, m.CPort = s.u16(), s.u16()
	m.IP = fuzzIPs[int(s.u8())%len(fuzzIPs)]
	lo := int(s.u16() % 16384)
	for n := int(s.u8()); n > 0; n-- {
		m.Slots.Set((lo + n*37) % 16384)
	}
	if s.u8()%2 == 0 {
		for i := lo; i < lo+int(s.u16()%2000) && i < 16384; i++ {
			m.Slots.Set(i)
		}
	}
	for n := int(s.u8() % 5); n > 0; n-- {
		m.Gossip = append(m.Gossip, gossip.GossipEntry{Name: s.name(), PingSent: uint32(s.u16()),
			PongReceived: uint32(s.u64()), IP: fuzzIPs[int(s.u8())%len(fuzzIPs)], Port: s.u16(), CPort: s.u16(), Flags: s.u16()})
	}
	if s.u8()%4 == 0 {
		m.Extensions = []gossip.Extension{gossip.HostnameExtension(string([]byte{'h', s.u8(), s.u8()}))}
	}
	m.FailName = s.name()
	m.UpdateName = s.name()
	m.UpdateConfigEpoch = s.u64() % 16
	us := m.Slots
	m.UpdateSlots = &us
	m.Channel, m.Payload = []byte("c"), []byte("p")
	return m
}

// FuzzHandlePacket feeds random messages and link events to a node of a
// small cluster: nothing may panic and the node table stays consistent
// (myself stays myself, each slot has at most one owner, links and
// replica lists agree).
func FuzzHandlePacket(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 2})
	f.Add([]byte{2, 3, 1, 4, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0x1b, 0x59, 0x44, 0x5c, 1, 0, 10, 200, 1, 3})
	f.Add([]byte{7, 2, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 7, 255, 255, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{1, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 15, 0, 3, 0x1a, 0x59, 0x44, 0x59, 1, 0, 0, 5, 1, 5})
	f.Fuzz(fuzzOne)
}

// fuzzOne runs one fuzz input.
func fuzzOne(t *testing.T, data []byte) {
	clk := &clock{ms: 1_700_000_000_000}
	set := DefaultSettings()
	set.NodeTimeout = 2000
	st := loadedState(t, threeNodes(), Options{Port: 7000, Now: clk.now, Settings: func() Settings { return set }})
	checkInvariants(t, st)
	myID := st.MyID()
	src := &byteSource{b: data}
	var links []LinkID
	inbound := InboundBit
	for steps := 0; len(src.b) > 0 && steps < 200; steps++ {
		clk.ms += int64(src.u8()) * 20
		var ev Event
		switch src.u8() % 8 {
		case 0:
			ev = Event{Kind: EvTick}
		case 1:
			inbound++
			links = append(links, inbound)
			ev = Event{Kind: EvAccepted, Link: inbound, LocalIP: "127.0.0.1", PeerIP: "127.0.0.2"}
		case 2, 3, 4, 5:
			l := InboundBit + 1
			if len(links) > 0 {
				l = links[int(src.u8())%len(links)]
			}
			ev = Event{Kind: EvMessage, Link: l, Msg: src.message()}
			// What reaches the state machine went through the codec.
			dm, err := gossip.Decode(gossip.Encode(ev.Msg))
			if err != nil {
				continue
			}
			ev.Msg = dm
		case 6:
			if len(links) > 0 {
				ev = Event{Kind: EvConnected, Link: links[int(src.u8())%len(links)], LocalIP: "127.0.0.1"}
			}
		case 7:
			if len(links) > 0 {
				ev = Event{Kind: EvClosed, Link: links[int(src.u8())%len(links)]}
			}
		}
		ev.Now = clk.ms
		for _, o := range st.Step(ev) {
			if o.Kind == OutConnect {
				links = append(links, o.Link)
			}
			if o.Kind == OutSave {
				// nodes.conf must load again.
				loadedState(t, o.Text, st.opts)
			}
		}
		checkInvariants(t, st)
		if st.MyID() != myID {
			t.Fatalf("myself changed name")
		}
	}
}

// loadedState is New with nodes.conf text and no file.
func loadedState(t testing.TB, text string, opts Options) *State {
	st := &State{opts: opts, nodes: map[string]*Node{}, links: map[LinkID]*link{}, blacklist: map[string]int64{},
		migrating: map[int]*Node{}, importing: map[int]*Node{}, size: 1,
		rnd: mrand.New(mrand.NewPCG(1, 2))}
	st.now = opts.Now()
	if err := st.parseConfig(text); err != nil {
		t.Fatal(err)
	}
	st.myself.Port, st.myself.CPort = opts.Port, opts.Port+defaultPortIncr
	st.publish()
	return st
}
