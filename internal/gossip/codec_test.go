package gossip

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/slots"
)

// loadXXD expands an "xxd -a" dump (runs of identical lines collapsed to
// "*") back into bytes.
func loadXXD(t *testing.T, path string) []byte {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out, prev []byte
	pendingRepeat := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "*") {
			pendingRepeat = true
			continue
		}
		off, rest, _ := strings.Cut(line, ":")
		offset, err := strconv.ParseUint(off, 16, 64)
		require.NoError(t, err)
		if pendingRepeat {
			for uint64(len(out)) < offset {
				out = append(out, prev...)
			}
			pendingRepeat = false
		}
		require.Equal(t, offset, uint64(len(out)), "offset of %q", line)
		b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(rest), " ", ""))
		require.NoError(t, err)
		out = append(out, b...)
		prev = b
	}
	return out
}

func TestDecodeCapturedPing(t *testing.T) {
	pkt := loadXXD(t, "testdata/ping-7.0.15.xxd")
	require.Len(t, pkt, 2568)
	m, err := Decode(pkt)
	require.NoError(t, err)
	require.Equal(t, TypePing, m.Type)
	require.Equal(t, uint16(25004), m.Port)
	require.Equal(t, uint64(7), m.CurrentEpoch)
	require.Equal(t, uint64(2), m.ConfigEpoch)
	require.Equal(t, uint64(98), m.Offset)
	require.True(t, strings.HasPrefix(m.Sender.String(), "804145cf"))
	require.True(t, strings.HasPrefix(m.SlaveOf.String(), "f481c5e5"))
	require.Equal(t, "", m.IP)
	require.Equal(t, uint16(35004), m.CPort)
	require.Equal(t, FlagSlave|FlagMyself, m.Flags)
	require.Equal(t, "5461-10922", slots.FormatRanges(m.Slots.Ranges()))
	require.Len(t, m.Gossip, 3)
	require.Equal(t, GossipEntry{Name: m.Gossip[0].Name, PingSent: 0, PongReceived: 0x6b02c2ec, IP: "127.0.0.1", Port: 25001, CPort: 35001, Flags: 0x0101}, m.Gossip[0])
	require.Equal(t, uint32(0x6b02c2ed), m.Gossip[1].PingSent)
	require.Equal(t, uint16(25100), m.Gossip[1].Port)
	require.Equal(t, FlagMaster, m.Gossip[1].Flags)
	require.Equal(t, FlagSlave, m.Gossip[2].Flags)
	// Re-encoding gives back the captured bytes exactly.
	require.Equal(t, pkt, Encode(m))
}

func TestRoundTripEveryType(t *testing.T) {
	var bm slots.Bitmap
	bm.Set(0)
	bm.Set(16383)
	hdr := Header{Port: 7000, CurrentEpoch: 5, ConfigEpoch: 3, Offset: 1234, Sender: NameFrom(strings.Repeat("a", 40)),
		Slots: bm, IP: "10.0.0.1", CPort: 17000, Flags: FlagMaster | FlagMyself, MFlags: MFlagPaused}
	cases := []struct {
		m     Message
		types []Type
	}{
		{Message{Header: hdr, Gossip: []GossipEntry{{Name: NameFrom(strings.Repeat("b", 40)), PingSent: 1, PongReceived: 2, IP: "127.0.0.1", Port: 1, CPort: 2, Flags: FlagPFail}}}, []Type{TypePing, TypePong, TypeMeet}},
		{Message{Header: hdr, Gossip: []GossipEntry{}, Extensions: []Extension{HostnameExtension("node0.example")}}, []Type{TypePing}},
		{Message{Header: hdr, FailName: NameFrom(strings.Repeat("c", 40))}, []Type{TypeFail}},
		{Message{Header: hdr, Channel: []byte("ch"), Payload: []byte("hello")}, []Type{TypePublish, TypePublishShard}},
		{Message{Header: hdr}, []Type{TypeAuthRequest, TypeAuthAck, TypeMFStart}},
		{Message{Header: hdr, UpdateConfigEpoch: 9, UpdateName: NameFrom(strings.Repeat("d", 40)), UpdateSlots: &bm}, []Type{TypeUpdate}},
		{Message{Header: hdr, ModuleID: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, ModuleType: 7, Payload: []byte("mod")}, []Type{TypeModule}},
	}
	for _, c := range cases {
		for _, ty := range c.types {
			m := c.m
			m.Type = ty
			pkt := Encode(&m)
			if len(m.Extensions) > 0 {
				m.MFlags |= MFlagExtData
			}
			got, err := Decode(pkt)
			require.NoError(t, err, ty.String())
			require.Equal(t, &m, got, ty.String())
		}
	}
	require.Equal(t, "node0.example", (&Message{Extensions: []Extension{HostnameExtension("node0.example")}}).Hostname())
}

// TestDecodeIntoReuse decodes a sequence of packets into one Message, as a
// bus reader does: each result must equal a fresh Decode of the same
// packet (nothing left over from the previous one), and what may outlive
// the message (channel, payload, extension bodies) must not share memory
// with the next decode.
func TestDecodeIntoReuse(t *testing.T) {
	var bm slots.Bitmap
	bm.Set(7)
	hdr := Header{Port: 7000, CurrentEpoch: 5, Sender: NameFrom(strings.Repeat("a", 40)), Slots: bm, IP: "10.0.0.1"}
	entry := func(c string) GossipEntry {
		return GossipEntry{Name: NameFrom(strings.Repeat(c, 40)), IP: "10.0.0.2", Port: 1, CPort: 2, Flags: FlagMaster}
	}
	seq := []Message{
		{Header: hdr, Gossip: []GossipEntry{entry("b"), entry("c"), entry("d")}, Extensions: []Extension{HostnameExtension("h1")}},
		{Header: hdr, UpdateConfigEpoch: 9, UpdateName: NameFrom(strings.Repeat("e", 40)), UpdateSlots: &bm},
		{Header: hdr, Gossip: []GossipEntry{entry("f")}},
		{Header: hdr, Channel: []byte("ch"), Payload: []byte("one")},
		{Header: hdr, Channel: []byte("ch"), Payload: []byte("two")},
		{Header: hdr, Gossip: []GossipEntry{}},
	}
	types := []Type{TypePing, TypeUpdate, TypePong, TypePublish, TypePublish, TypeMeet}
	var m Message
	var payloads [][]byte
	for i := range seq {
		seq[i].Type = types[i]
		pkt := Encode(&seq[i])
		want, err := Decode(pkt)
		require.NoError(t, err)
		require.NoError(t, DecodeInto(&m, pkt))
		require.Equal(t, want, &m, "packet %d (%s)", i, types[i])
		if m.Payload != nil {
			payloads = append(payloads, m.Payload)
		}
	}
	require.Equal(t, [][]byte{[]byte("one"), []byte("two")}, payloads)
}

// TestAppendEncode encodes after existing bytes, into a buffer holding
// garbage: the prefix is kept and the packet is what Encode builds.
func TestAppendEncode(t *testing.T) {
	m := &Message{Header: Header{Type: TypePing, Sender: NameFrom(strings.Repeat("a", 40)), IP: "10.0.0.1"},
		Gossip: []GossipEntry{{Name: NameFrom(strings.Repeat("b", 40)), IP: "1.2.3.4"}}}
	want := Encode(m)
	buf := make([]byte, 3, 8192)
	copy(buf, "xyz")
	for i := 3; i < cap(buf); i++ {
		buf[:cap(buf)][i] = 0xff
	}
	got := AppendEncode(buf, m)
	require.Equal(t, "xyz", string(got[:3]))
	require.Equal(t, want, got[3:])
	require.Equal(t, want, AppendEncode(got[:0], m))
}

func TestDecodeRejects(t *testing.T) {
	good := Encode(&Message{Header: Header{Type: TypePing}, Gossip: []GossipEntry{{}}})
	mutate := func(f func(p []byte) []byte) []byte {
		p := append([]byte(nil), good...)
		return f(p)
	}
	cases := []struct {
		name  string
		pkt   []byte
		close bool
	}{
		{"bad signature", mutate(func(p []byte) []byte { p[0] = 'X'; return p }), true},
		{"totlen below header", mutate(func(p []byte) []byte { be.PutUint32(p[4:8], 100); return p }), true},
		{"totlen disagrees with buffer", mutate(func(p []byte) []byte { return p[:len(p)-1] }), true},
		{"version 2", mutate(func(p []byte) []byte { be.PutUint16(p[8:10], 2); return p }), false},
		{"count too large", mutate(func(p []byte) []byte { be.PutUint16(p[14:16], 2); return p }), false},
		{"count too small", mutate(func(p []byte) []byte { be.PutUint16(p[14:16], 0); return p }), false},
		{"fail wrong length", mutate(func(p []byte) []byte { be.PutUint16(p[12:14], uint16(TypeFail)); return p }), false},
		{"update wrong length", mutate(func(p []byte) []byte { be.PutUint16(p[12:14], uint16(TypeUpdate)); return p }), false},
		{"publish lengths overflow", mutate(func(p []byte) []byte {
			be.PutUint16(p[12:14], uint16(TypePublish))
			be.PutUint32(p[HeaderLen:], 0xffffffff)
			return p
		}), false},
		{"extension length not multiple of 8", mutate(func(p []byte) []byte {
			p[2253] |= MFlagExtData
			be.PutUint16(p[2214:2216], 1)
			return p
		}), false},
	}
	for _, c := range cases {
		_, err := Decode(c.pkt)
		require.Error(t, err, c.name)
		if c.close {
			require.ErrorIs(t, err, ErrCloseLink, c.name)
		} else {
			var de *DropError
			require.True(t, errors.As(err, &de), "%s: %v", c.name, err)
		}
	}
	// unknown types are accepted
	p := append([]byte(nil), good...)
	be.PutUint16(p[12:14], 42)
	_, err := Decode(p)
	require.NoError(t, err)
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(&Message{Header: Header{Type: TypePing}, Gossip: []GossipEntry{{}}}))
	f.Add(Encode(&Message{Header: Header{Type: TypeUpdate}}))
	f.Add(Encode(&Message{Header: Header{Type: TypePublish}, Channel: []byte("c"), Payload: []byte("p")}))
	f.Add(Encode(&Message{Header: Header{Type: TypeMeet}, Extensions: []Extension{HostnameExtension("h")}}))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		m, err := Decode(pkt)
		if err != nil {
			return
		}
		// Whatever decodes must encode to a packet that decodes the same.
		again, err := Decode(Encode(m))
		require.NoError(t, err)
		require.Equal(t, m.Type, again.Type)
		require.Equal(t, len(m.Gossip), len(again.Gossip))
	})
}
