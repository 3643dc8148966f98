package rdb

import (
	"encoding/binary"
	"math"
)

// Stream flags of listpack entries.
const (
	streamFlagDeleted    = 1
	streamFlagSameFields = 2
)

// less reports whether a < b.
func (a StreamID) less(b StreamID) bool {
	return a.Ms < b.Ms || (a.Ms == b.Ms && a.Seq < b.Seq)
}

// cmp compares two IDs.
func (a StreamID) cmp(b StreamID) int {
	switch {
	case a.less(b):
		return -1
	case b.less(a):
		return 1
	}
	return 0
}

func (a StreamID) isZero() bool { return a.Ms == 0 && a.Seq == 0 }

// readStreamIDLens reads an ID stored as two lengths.
func (v *valueReader) readStreamIDLens() (StreamID, error) {
	ms, err := v.r.readLen()
	if err != nil {
		return StreamID{}, err
	}
	seq, err := v.r.readLen()
	return StreamID{Ms: ms, Seq: seq}, err
}

// readStream reads RDB types 15 (v2=false) and 19.
func (v *valueReader) readStream(v2 bool) (Value, error) {
	nodes, err := v.r.readCount("stream node")
	if err != nil {
		return Value{}, err
	}
	s := &Stream{}
	var prevKey []byte
	for i := 0; i < nodes; i++ {
		key, err := v.r.readString()
		if err != nil {
			return Value{}, err
		}
		if len(key) != 16 {
			return Value{}, corruptf("stream node key is %d bytes, not a stream ID", len(key))
		}
		if prevKey != nil && string(key) <= string(prevKey) {
			return Value{}, corruptf("stream node keys out of order")
		}
		prevKey = key
		master := StreamID{Ms: binary.BigEndian.Uint64(key), Seq: binary.BigEndian.Uint64(key[8:])}
		blob, err := v.readBlob()
		if err != nil {
			return Value{}, err
		}
		if err := parseStreamNode(blob, master, s); err != nil {
			return Value{}, err
		}
	}
	length, err := v.r.readLen()
	if err != nil {
		return Value{}, err
	}
	if length != uint64(len(s.Entries)) {
		return Value{}, corruptf("stream length %d but %d live entries", length, len(s.Entries))
	}
	if s.LastID, err = v.readStreamIDLens(); err != nil {
		return Value{}, err
	}
	if n := len(s.Entries); n > 0 && s.LastID.less(s.Entries[n-1].ID) {
		return Value{}, corruptf("stream last ID is smaller than its last entry")
	}
	if v2 {
		if s.FirstID, err = v.readStreamIDLens(); err != nil {
			return Value{}, err
		}
		if s.MaxDeletedID, err = v.readStreamIDLens(); err != nil {
			return Value{}, err
		}
		if s.EntriesAdded, err = v.r.readLen(); err != nil {
			return Value{}, err
		}
	} else {
		s.EntriesAdded = length
		if len(s.Entries) > 0 {
			s.FirstID = s.Entries[0].ID
		}
	}
	groups, err := v.r.readCount("stream consumer group")
	if err != nil {
		return Value{}, err
	}
	var names dupChecker
	for i := 0; i < groups; i++ {
		g, err := v.readStreamGroup(s, v2)
		if err != nil {
			return Value{}, err
		}
		if !names.add(g.Name) {
			return Value{}, corruptf("duplicated consumer group name %q", g.Name)
		}
		s.Groups = append(s.Groups, g)
	}
	return Value{Kind: KindStream, Stream: s}, nil
}

func (v *valueReader) readStreamGroup(s *Stream, v2 bool) (StreamGroup, error) {
	var g StreamGroup
	var err error
	if g.Name, err = v.r.readString(); err != nil {
		return g, err
	}
	if g.LastID, err = v.readStreamIDLens(); err != nil {
		return g, err
	}
	if v2 {
		n, err := v.r.readLen()
		if err != nil {
			return g, err
		}
		if n == math.MaxUint64 {
			g.EntriesRead = -1
		} else {
			g.EntriesRead = int64(n)
		}
	} else {
		g.EntriesRead = estimateEntriesRead(s, g.LastID)
	}
	pel, err := v.r.readCount("stream PEL")
	if err != nil {
		return g, err
	}
	owner := make(map[StreamID]bool, min(pel, maxPrealloc))
	for i := 0; i < pel; i++ {
		id, err := v.readRawStreamID()
		if err != nil {
			return g, err
		}
		t, err := v.r.readUint64LE()
		if err != nil {
			return g, err
		}
		cnt, err := v.r.readLen()
		if err != nil {
			return g, err
		}
		if _, dup := owner[id]; dup {
			return g, corruptf("duplicated global PEL entry loading stream consumer group")
		}
		owner[id] = false
		g.Pending = append(g.Pending, StreamPending{ID: id, DeliveryTime: int64(t), DeliveryCount: cnt})
	}
	consumers, err := v.r.readCount("stream consumer")
	if err != nil {
		return g, err
	}
	var cnames dupChecker
	for i := 0; i < consumers; i++ {
		var c StreamConsumer
		if c.Name, err = v.r.readString(); err != nil {
			return g, err
		}
		if !cnames.add(c.Name) {
			return g, corruptf("duplicate stream consumer detected")
		}
		t, err := v.r.readUint64LE()
		if err != nil {
			return g, err
		}
		c.SeenTime = int64(t)
		n, err := v.r.readCount("stream consumer PEL")
		if err != nil {
			return g, err
		}
		for j := 0; j < n; j++ {
			id, err := v.readRawStreamID()
			if err != nil {
				return g, err
			}
			owned, ok := owner[id]
			if !ok {
				return g, corruptf("consumer entry not found in group global PEL")
			}
			if owned {
				return g, corruptf("duplicated consumer PEL entry loading a stream consumer group")
			}
			owner[id] = true
			c.Pending = append(c.Pending, id)
		}
		g.Consumers = append(g.Consumers, c)
	}
	return g, nil
}

// estimateEntriesRead mirrors streamEstimateDistanceFromFirstEverEntry, used
// to fill entries_read for groups loaded from version 1 streams.
func estimateEntriesRead(s *Stream, id StreamID) int64 {
	if s.EntriesAdded == 0 {
		return 0
	}
	length := len(s.Entries)
	if length == 0 && id.cmp(s.LastID) < 1 {
		return int64(s.EntriesAdded)
	}
	switch c := id.cmp(s.LastID); {
	case c == 0:
		return int64(s.EntriesAdded)
	case c > 0:
		return -1
	}
	if s.MaxDeletedID.isZero() || s.MaxDeletedID.less(s.FirstID) {
		switch id.cmp(s.FirstID) {
		case -1:
			return int64(s.EntriesAdded) - int64(length)
		case 0:
			return int64(s.EntriesAdded) - int64(length) + 1
		}
	}
	return -1
}

// parseStreamNode decodes one node listpack, appending its live entries.
func parseStreamNode(lp []byte, master StreamID, s *Stream) error {
	r, err := newLPReader(lp)
	if err != nil {
		return err
	}
	nextInt := func(what string) (int64, error) {
		e, ok, err := r.next()
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, corruptf("stream node: missing %s", what)
		}
		if !e.isInt {
			return 0, corruptf("stream node: %s is not an integer", what)
		}
		return e.ival, nil
	}
	nextStr := func(what string) ([]byte, error) {
		e, ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, corruptf("stream node: missing %s", what)
		}
		return e.appendTo(make([]byte, 0, e.textLen())), nil
	}
	count, err := nextInt("entry count")
	if err != nil {
		return err
	}
	deleted, err := nextInt("deleted count")
	if err != nil {
		return err
	}
	nmaster, err := nextInt("master field count")
	if err != nil {
		return err
	}
	// Every listpack element takes at least two bytes.
	maxElems := int64(len(lp) / 2)
	if count < 0 || deleted < 0 || nmaster < 0 ||
		count > maxElems || deleted > maxElems || nmaster > maxElems {
		return corruptf("stream node: invalid master entry counts")
	}
	masterFields := make([][]byte, 0, min(nmaster, maxPrealloc))
	for i := int64(0); i < nmaster; i++ {
		f, err := nextStr("master field")
		if err != nil {
			return err
		}
		masterFields = append(masterFields, f)
	}
	if z, err := nextInt("master terminator"); err != nil || z != 0 {
		if err == nil {
			err = corruptf("stream node: master entry not terminated by 0")
		}
		return err
	}
	live := int64(0)
	for i := int64(0); i < count+deleted; i++ {
		flags, err := nextInt("entry flags")
		if err != nil {
			return err
		}
		msDelta, err := nextInt("entry ms delta")
		if err != nil {
			return err
		}
		seqDelta, err := nextInt("entry seq delta")
		if err != nil {
			return err
		}
		id := StreamID{Ms: master.Ms + uint64(msDelta), Seq: master.Seq + uint64(seqDelta)}
		var fields [][]byte
		n := nmaster
		extra := int64(3)
		if flags&streamFlagSameFields == 0 {
			if n, err = nextInt("entry field count"); err != nil {
				return err
			}
			if n < 0 || n > maxElems {
				return corruptf("stream node: invalid field count")
			}
			extra += n + 1
		}
		fields = make([][]byte, 0, min(2*n, maxPrealloc))
		for j := int64(0); j < n; j++ {
			var f []byte
			if flags&streamFlagSameFields != 0 {
				f = masterFields[j]
			} else if f, err = nextStr("entry field"); err != nil {
				return err
			}
			val, err := nextStr("entry value")
			if err != nil {
				return err
			}
			fields = append(fields, f, val)
		}
		lpCount, err := nextInt("entry lp-count")
		if err != nil {
			return err
		}
		if lpCount != n+extra {
			return corruptf("stream node: lp-count %d, expected %d", lpCount, n+extra)
		}
		if flags&streamFlagDeleted != 0 {
			continue
		}
		live++
		if k := len(s.Entries); k > 0 && !s.Entries[k-1].ID.less(id) {
			return corruptf("stream entries out of order")
		}
		s.Entries = append(s.Entries, StreamEntry{ID: id, Fields: fields})
	}
	if live != count {
		return corruptf("stream node: %d live entries, master entry says %d", live, count)
	}
	if _, ok, err := r.next(); err != nil || ok {
		if err == nil {
			err = corruptf("stream node: trailing elements")
		}
		return err
	}
	return nil
}
