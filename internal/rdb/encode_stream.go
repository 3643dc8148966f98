package rdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// streamListpackMaxSize caps stream node listpacks (STREAM_LISTPACK_MAX_SIZE).
const streamListpackMaxSize = 1 << 30

// lpIntEntrySize is the listpack size of integer v (encoding, data, backlen).
func lpIntEntrySize(v int64) int {
	var n int
	switch {
	case v >= 0 && v <= 127:
		n = 1
	case v >= -4096 && v <= 4095:
		n = 2
	case v >= -32768 && v <= 32767:
		n = 3
	case v >= -8388608 && v <= 8388607:
		n = 4
	case v >= -2147483648 && v <= 2147483647:
		n = 5
	default:
		n = 9
	}
	return n + backlenSize(uint64(n))
}

// streamNode accumulates one node listpack as XADD builds it. The first
// element (the live entry count) changes as entries are added, so it is kept
// apart and the rest is built in body.
type streamNode struct {
	master StreamID
	fields [][]byte
	count  int64
	body   *lpWriter // elements after the count, header bytes unused
}

// bytes is lpBytes() of the node as Redis would hold it.
func (n *streamNode) bytes() int {
	return lpHeaderSize + 1 + lpIntEntrySize(n.count) + len(n.body.buf) - lpHeaderSize
}

func (n *streamNode) sameFields(fields [][]byte) bool {
	if len(fields)/2 != len(n.fields) {
		return false
	}
	for i, f := range n.fields {
		if !bytes.Equal(f, fields[2*i]) {
			return false
		}
	}
	return true
}

// add appends an entry (streamAppendItem).
func (n *streamNode) add(ent *StreamEntry) {
	nf := int64(len(ent.Fields) / 2)
	flags := int64(0)
	same := n.count == 0 || n.sameFields(ent.Fields)
	if same {
		flags |= streamFlagSameFields
	}
	b := n.body
	b.appendInt(flags)
	b.appendInt(int64(ent.ID.Ms - n.master.Ms))
	b.appendInt(int64(ent.ID.Seq - n.master.Seq))
	if !same {
		b.appendInt(nf)
	}
	for i := int64(0); i < nf; i++ {
		if !same {
			b.appendString(ent.Fields[2*i])
		}
		b.appendString(ent.Fields[2*i+1])
	}
	lpCount := nf + 3
	if !same {
		lpCount += nf + 1
	}
	b.appendInt(lpCount)
	n.count++
}

// finish assembles the node listpack.
func (n *streamNode) finish() []byte {
	out := newLPWriter(n.bytes())
	out.appendInt(n.count)
	out.buf = append(out.buf, n.body.buf[lpHeaderSize:]...)
	out.count += n.body.count
	return out.finish()
}

func newStreamNode(ent *StreamEntry) *streamNode {
	n := &streamNode{master: ent.ID, body: newLPWriter(512)}
	nf := len(ent.Fields) / 2
	n.body.appendInt(0) // deleted
	n.body.appendInt(int64(nf))
	for i := 0; i < nf; i++ {
		f := ent.Fields[2*i]
		n.fields = append(n.fields, f)
		n.body.appendString(f)
	}
	n.body.appendInt(0) // master entry terminator
	return n
}

func (e *valueEncoder) writeStreamNode(n *streamNode) {
	var key [16]byte
	binary.BigEndian.PutUint64(key[:], n.master.Ms)
	binary.BigEndian.PutUint64(key[8:], n.master.Seq)
	e.w.writeString(key[:])
	e.w.writeString(n.finish())
}

// writeStream writes a STREAM_LISTPACKS_2 body, packing entries into nodes
// the way consecutive XADDs would.
func (e *valueEncoder) writeStream(s *Stream) error { return e.writeStreamVersion(s, true) }

// writeStreamVersion writes a stream body; v2=false omits the fields that
// RDB type 15 (Redis 5.0-6.2) lacks.
func (e *valueEncoder) writeStreamVersion(s *Stream, v2 bool) error {
	for i := range s.Entries {
		if len(s.Entries[i].Fields)%2 != 0 {
			return fmt.Errorf("rdb: stream entry %d-%d has an odd number of fields", s.Entries[i].ID.Ms, s.Entries[i].ID.Seq)
		}
		if i > 0 && !s.Entries[i-1].ID.less(s.Entries[i].ID) {
			return fmt.Errorf("rdb: stream entries are not in increasing ID order")
		}
	}
	if k := len(s.Entries); k > 0 && s.LastID.less(s.Entries[k-1].ID) {
		return fmt.Errorf("rdb: stream last ID is smaller than its last entry")
	}
	maxBytes := e.cfg.StreamNodeMaxBytes
	if maxBytes <= 0 || maxBytes > streamListpackMaxSize {
		maxBytes = streamListpackMaxSize
	}
	maxEntries := int64(e.cfg.StreamNodeMaxEntries)
	// First pass: node boundaries.
	var ends []int
	var cur *streamNode
	for i := range s.Entries {
		ent := &s.Entries[i]
		total := 0
		for _, f := range ent.Fields {
			total += len(f)
		}
		if cur != nil && (cur.bytes()+total >= maxBytes || (maxEntries > 0 && cur.count >= maxEntries)) {
			ends = append(ends, i)
			cur = nil
		}
		if cur == nil {
			cur = newStreamNode(ent)
		}
		cur.add(ent)
	}
	if cur != nil {
		ends = append(ends, len(s.Entries))
	}
	e.w.writeLen(uint64(len(ends)))
	start := 0
	for _, end := range ends {
		n := newStreamNode(&s.Entries[start])
		for i := start; i < end; i++ {
			n.add(&s.Entries[i])
		}
		e.writeStreamNode(n)
		start = end
	}
	last, first := s.LastID, s.FirstID
	e.w.writeLen(uint64(len(s.Entries)))
	e.w.writeLen(last.Ms)
	e.w.writeLen(last.Seq)
	if v2 {
		e.w.writeLen(first.Ms)
		e.w.writeLen(first.Seq)
		e.w.writeLen(s.MaxDeletedID.Ms)
		e.w.writeLen(s.MaxDeletedID.Seq)
		e.w.writeLen(s.EntriesAdded)
	}
	// Groups, consumers and PELs in radix tree (byte) order.
	groups := make([]*StreamGroup, len(s.Groups))
	for i := range s.Groups {
		groups[i] = &s.Groups[i]
	}
	sort.Slice(groups, func(a, b int) bool { return bytes.Compare(groups[a].Name, groups[b].Name) < 0 })
	e.w.writeLen(uint64(len(groups)))
	for _, g := range groups {
		e.w.writeString(g.Name)
		e.w.writeLen(g.LastID.Ms)
		e.w.writeLen(g.LastID.Seq)
		if !v2 {
			// no entries_read in version 1
		} else if g.EntriesRead < 0 {
			e.w.writeLen(math.MaxUint64)
		} else {
			e.w.writeLen(uint64(g.EntriesRead))
		}
		pel := append([]StreamPending(nil), g.Pending...)
		sort.Slice(pel, func(a, b int) bool { return pel[a].ID.less(pel[b].ID) })
		e.w.writeLen(uint64(len(pel)))
		for i := range pel {
			e.writeRawStreamID(pel[i].ID)
			e.w.writeUint64LE(uint64(pel[i].DeliveryTime))
			e.w.writeLen(pel[i].DeliveryCount)
		}
		cons := make([]*StreamConsumer, len(g.Consumers))
		for i := range g.Consumers {
			cons[i] = &g.Consumers[i]
		}
		sort.Slice(cons, func(a, b int) bool { return bytes.Compare(cons[a].Name, cons[b].Name) < 0 })
		e.w.writeLen(uint64(len(cons)))
		for _, c := range cons {
			e.w.writeString(c.Name)
			e.w.writeUint64LE(uint64(c.SeenTime))
			ids := append([]StreamID(nil), c.Pending...)
			sort.Slice(ids, func(a, b int) bool { return ids[a].less(ids[b]) })
			e.w.writeLen(uint64(len(ids)))
			for _, id := range ids {
				e.writeRawStreamID(id)
			}
		}
	}
	return nil
}

func (e *valueEncoder) writeRawStreamID(id StreamID) {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:], id.Ms)
	binary.BigEndian.PutUint64(b[8:], id.Seq)
	e.w.write(b[:])
}
