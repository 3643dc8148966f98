package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/redcluster/redcluster/internal/slots"
)

var be = binary.BigEndian

// ErrCloseLink marks a packet whose signature or length makes the stream
// unusable: the receiver closes the link (cluster-bus.md §7 step 1).
var ErrCloseLink = errors.New("bad message length or signature")

// MaxPacketLen caps totlen. Redis 7.0 has no cap; we bound memory while
// allowing large PUBLISH payloads.
const MaxPacketLen = 512<<20 + 64*1024

// FrameLen inspects the first 8 bytes of a packet and returns its totlen.
// It returns ErrCloseLink when the signature is wrong or totlen is below the
// header size or above MaxPacketLen.
func FrameLen(head []byte) (int, error) {
	if len(head) < 8 {
		return 0, fmt.Errorf("need 8 bytes, have %d", len(head))
	}
	if string(head[:4]) != Signature {
		return 0, ErrCloseLink
	}
	n := be.Uint32(head[4:8])
	if n < HeaderLen || n > MaxPacketLen {
		return 0, ErrCloseLink
	}
	return int(n), nil
}

// DropError is a packet that is dropped with a log line while the link is
// kept (wrong version, length disagreeing with the type).
type DropError struct{ Reason string }

func (e *DropError) Error() string { return e.Reason }

func drop(format string, args ...any) error { return &DropError{Reason: fmt.Sprintf(format, args...)} }

// Decode parses one whole packet (exactly totlen bytes) with Redis 7.0's
// validation order. Errors are ErrCloseLink or *DropError. Slices in the
// result are copies: the caller may reuse pkt.
func Decode(pkt []byte) (*Message, error) {
	m := &Message{}
	if err := DecodeInto(m, pkt); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeInto is Decode into m, which is overwritten: a reader that is done
// with the previous message decodes the next one without allocating a
// Message (4 KiB) per packet. m's Gossip array is reused; Channel, Payload
// and extension bodies are always new, so they may outlive m's next use.
// On error m is left in an unspecified state.
func DecodeInto(m *Message, pkt []byte) error {
	n, err := FrameLen(pkt)
	if err != nil {
		return err
	}
	if n != len(pkt) {
		return ErrCloseLink
	}
	if v := be.Uint16(pkt[8:10]); v != Version {
		return drop("unsupported protocol version %d", v)
	}
	entries := m.Gossip[:0]
	*m = Message{}
	h := &m.Header
	h.Port = be.Uint16(pkt[10:12])
	h.Type = Type(be.Uint16(pkt[12:14]))
	count := int(be.Uint16(pkt[14:16]))
	h.CurrentEpoch = be.Uint64(pkt[16:24])
	h.ConfigEpoch = be.Uint64(pkt[24:32])
	h.Offset = be.Uint64(pkt[32:40])
	copy(h.Sender[:], pkt[40:80])
	copy(h.Slots[:], pkt[80:2128])
	copy(h.SlaveOf[:], pkt[2128:2168])
	h.IP = cString(pkt[2168 : 2168+IPLen])
	extCount := int(be.Uint16(pkt[2214:2216]))
	h.PPort = be.Uint16(pkt[2246:2248])
	h.CPort = be.Uint16(pkt[2248:2250])
	h.Flags = be.Uint16(pkt[2250:2252])
	h.State = pkt[2252]
	h.MFlags = pkt[2253]
	data := pkt[HeaderLen:]

	switch h.Type {
	case TypePing, TypePong, TypeMeet:
		explen := HeaderLen + GossipLen*count
		if explen > n {
			return drop("invalid %s packet of length %d (count %d)", h.Type, n, count)
		}
		if h.MFlags&MFlagExtData != 0 {
			pos := explen
			for i := 0; i < extCount; i++ {
				if pos+8 > n {
					return drop("invalid %s packet of length %d (extension %d truncated)", h.Type, n, i)
				}
				// 7.0 reads the length as 16 bits; we read all 32 and
				// require the same bounds.
				l := int(be.Uint32(pkt[pos : pos+4]))
				if l%8 != 0 || l < 8 || l > n-pos {
					return drop("invalid %s packet of length %d (extension length %d)", h.Type, n, l)
				}
				m.Extensions = append(m.Extensions, Extension{
					Type: be.Uint16(pkt[pos+4 : pos+6]),
					Body: append([]byte(nil), pkt[pos+8:pos+l]...),
				})
				pos += l
			}
			explen = pos
		}
		if explen != n {
			return drop("invalid %s packet of length %d (expected %d)", h.Type, n, explen)
		}
		if entries == nil || cap(entries) < count {
			entries = make([]GossipEntry, count)
		}
		m.Gossip = entries[:count]
		for i := range m.Gossip {
			g := data[i*GossipLen : (i+1)*GossipLen]
			e := &m.Gossip[i]
			copy(e.Name[:], g[0:40])
			e.PingSent = be.Uint32(g[40:44])
			e.PongReceived = be.Uint32(g[44:48])
			e.IP = cString(g[48 : 48+IPLen])
			e.Port = be.Uint16(g[94:96])
			e.CPort = be.Uint16(g[96:98])
			e.Flags = be.Uint16(g[98:100])
			e.PPort = be.Uint16(g[100:102])
		}
	case TypeFail:
		if n != FailLen {
			return drop("invalid FAIL packet of length %d", n)
		}
		copy(m.FailName[:], data[:NameLen])
	case TypePublish, TypePublishShard:
		if n < HeaderLen+publishHead {
			return drop("invalid %s packet of length %d", h.Type, n)
		}
		cl := uint64(be.Uint32(data[0:4]))
		ml := uint64(be.Uint32(data[4:8]))
		if uint64(HeaderLen+publishHead)+cl+ml != uint64(n) {
			return drop("invalid %s packet of length %d", h.Type, n)
		}
		m.Channel = append([]byte(nil), data[8:8+cl]...)
		m.Payload = append([]byte(nil), data[8+cl:8+cl+ml]...)
	case TypeAuthRequest, TypeAuthAck, TypeMFStart:
		if n != HeaderLen {
			return drop("invalid %s packet of length %d", h.Type, n)
		}
	case TypeUpdate:
		if n != UpdateLen {
			return drop("invalid UPDATE packet of length %d", n)
		}
		m.UpdateConfigEpoch = be.Uint64(data[0:8])
		copy(m.UpdateName[:], data[8:48])
		m.UpdateSlots = new(slots.Bitmap)
		copy(m.UpdateSlots[:], data[48:48+len(m.UpdateSlots)])
	case TypeModule:
		if n < HeaderLen+moduleHead {
			return drop("invalid MODULE packet of length %d", n)
		}
		copy(m.ModuleID[:], data[0:8])
		l := uint64(be.Uint32(data[8:12]))
		if uint64(HeaderLen+moduleHead)+l != uint64(n) {
			return drop("invalid MODULE packet of length %d", n)
		}
		m.ModuleType = data[12]
		m.Payload = append([]byte(nil), data[13:13+l]...)
	default:
		// Unknown types are accepted and ignored by the receiver.
	}
	return nil
}

// Encode builds the packet for m, filling count, extensions, the EXT_DATA
// flag and totlen from the payload.
func Encode(m *Message) []byte { return AppendEncode(nil, m) }

// AppendEncode appends the packet for m to dst (Encode into a reused
// buffer) and returns the extended slice.
func AppendEncode(dst []byte, m *Message) []byte {
	size := HeaderLen
	switch m.Type {
	case TypePing, TypePong, TypeMeet:
		size += GossipLen * len(m.Gossip)
		for _, e := range m.Extensions {
			size += 8 + len(e.Body)
		}
	case TypeFail:
		size = FailLen
	case TypePublish, TypePublishShard:
		size += publishHead + len(m.Channel) + len(m.Payload)
	case TypeUpdate:
		size = UpdateLen
	case TypeModule:
		size += moduleHead + len(m.Payload)
	}
	start := len(dst)
	dst = slices.Grow(dst, size)[:start+size]
	pkt := dst[start:]
	clear(pkt)
	h := &m.Header
	copy(pkt[0:4], Signature)
	be.PutUint32(pkt[4:8], uint32(size))
	be.PutUint16(pkt[8:10], Version)
	be.PutUint16(pkt[10:12], h.Port)
	be.PutUint16(pkt[12:14], uint16(h.Type))
	be.PutUint64(pkt[16:24], h.CurrentEpoch)
	be.PutUint64(pkt[24:32], h.ConfigEpoch)
	be.PutUint64(pkt[32:40], h.Offset)
	copy(pkt[40:80], h.Sender[:])
	copy(pkt[80:2128], h.Slots[:])
	copy(pkt[2128:2168], h.SlaveOf[:])
	copy(pkt[2168:2168+IPLen-1], h.IP)
	be.PutUint16(pkt[2246:2248], h.PPort)
	be.PutUint16(pkt[2248:2250], h.CPort)
	be.PutUint16(pkt[2250:2252], h.Flags)
	pkt[2252] = h.State
	pkt[2253] = h.MFlags
	data := pkt[HeaderLen:]
	switch m.Type {
	case TypePing, TypePong, TypeMeet:
		be.PutUint16(pkt[14:16], uint16(len(m.Gossip)))
		for i, e := range m.Gossip {
			g := data[i*GossipLen : (i+1)*GossipLen]
			copy(g[0:40], e.Name[:])
			be.PutUint32(g[40:44], e.PingSent)
			be.PutUint32(g[44:48], e.PongReceived)
			copy(g[48:48+IPLen-1], e.IP)
			be.PutUint16(g[94:96], e.Port)
			be.PutUint16(g[96:98], e.CPort)
			be.PutUint16(g[98:100], e.Flags)
			be.PutUint16(g[100:102], e.PPort)
		}
		pos := GossipLen * len(m.Gossip)
		for _, e := range m.Extensions {
			be.PutUint32(data[pos:pos+4], uint32(8+len(e.Body)))
			be.PutUint16(data[pos+4:pos+6], e.Type)
			copy(data[pos+8:], e.Body)
			pos += 8 + len(e.Body)
		}
		be.PutUint16(pkt[2214:2216], uint16(len(m.Extensions)))
		if len(m.Extensions) > 0 {
			pkt[2253] |= MFlagExtData
		} else {
			pkt[2253] &^= MFlagExtData
		}
	case TypeFail:
		copy(data[:NameLen], m.FailName[:])
	case TypePublish, TypePublishShard:
		be.PutUint32(data[0:4], uint32(len(m.Channel)))
		be.PutUint32(data[4:8], uint32(len(m.Payload)))
		copy(data[8:], m.Channel)
		copy(data[8+len(m.Channel):], m.Payload)
	case TypeUpdate:
		be.PutUint64(data[0:8], m.UpdateConfigEpoch)
		copy(data[8:48], m.UpdateName[:])
		if m.UpdateSlots != nil {
			copy(data[48:], m.UpdateSlots[:])
		}
	case TypeModule:
		copy(data[0:8], m.ModuleID[:])
		be.PutUint32(data[8:12], uint32(len(m.Payload)))
		data[12] = m.ModuleType
		copy(data[13:], m.Payload)
	}
	return dst
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
