package server

import (
	"sort"
	"strconv"
	"sync"
	"unsafe"

	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/store"
)

// pubsubRegistry maps channels, patterns and shard channels to their
// subscribers. Its lock also guards every client's Channels, Patterns and
// SChannels maps: a client's own goroutine changes them (and may read them
// without the lock); other goroutines read them under the lock.
type pubsubRegistry struct {
	mu       sync.RWMutex
	channels map[string]map[*Client]struct{}
	patterns map[string]map[*Client]struct{}
	shard    map[string]map[*Client]struct{}
	// subs holds per-subscriber state for every client with at least one
	// subscription.
	subs map[*Client]*subState
}

// subState is what publishers need to know about a subscriber.
type subState struct {
	// proto is the subscriber's protocol, recorded by its own goroutine at
	// each Pub/Sub command, so that publishers never read its writer.
	proto int
	// patterns keeps the subscription order (PUNSUBSCRIBE without
	// arguments answers in that order, as Redis 7.0's pattern list does).
	patterns []string
}

// subKind is one of the three subscription namespaces.
type subKind int

const (
	kindChannel subKind = iota
	kindPattern
	kindShard
)

// Names of the replies and messages of each kind.
var (
	subscribeName   = [3]string{"subscribe", "psubscribe", "ssubscribe"}
	unsubscribeName = [3]string{"unsubscribe", "punsubscribe", "sunsubscribe"}
)

func (r *pubsubRegistry) table(k subKind) *map[string]map[*Client]struct{} {
	switch k {
	case kindPattern:
		return &r.patterns
	case kindShard:
		return &r.shard
	}
	return &r.channels
}

func clientSet(c *Client, k subKind) *map[string]struct{} {
	switch k {
	case kindPattern:
		return &c.Patterns
	case kindShard:
		return &c.SChannels
	}
	return &c.Channels
}

// count is the number Redis reports after a (un)subscription: channels +
// patterns for the classic kinds, shard channels for the shard kind.
func subCount(c *Client, k subKind) int {
	if k == kindShard {
		return len(c.SChannels)
	}
	return len(c.Channels) + len(c.Patterns)
}

// countSubs refreshes c's lock-free count of its subscriptions of kind k.
// Caller holds mu.
func (c *Client) countSubs(k subKind) {
	c.nsub[k].Store(int32(len(*clientSet(c, k))))
}

// state returns (creating) the subscriber state of c. Caller holds mu.
func (r *pubsubRegistry) state(c *Client) *subState {
	if r.subs == nil {
		r.subs = make(map[*Client]*subState)
	}
	st := r.subs[c]
	if st == nil {
		st = &subState{}
		r.subs[c] = st
	}
	st.proto = c.W.Proto
	return st
}

// forgetIfIdle drops the subscriber state of a client left without
// subscriptions. Caller holds mu.
func (r *pubsubRegistry) forgetIfIdle(c *Client) {
	if !c.hasSubscriptions() {
		delete(r.subs, c)
	}
}

// subscribe adds c to each name of kind k and writes one confirmation per
// name, as (P|S)SUBSCRIBE do. Runs on c's goroutine.
func (s *Server) subscribe(c *Client, k subKind, names [][]byte) {
	r := &s.pubsub
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.state(c)
	tab, set := r.table(k), clientSet(c, k)
	for _, nb := range names {
		name := string(nb)
		if _, ok := (*set)[name]; !ok {
			if *set == nil {
				*set = make(map[string]struct{})
			}
			(*set)[name] = struct{}{}
			c.countSubs(k)
			if *tab == nil {
				*tab = make(map[string]map[*Client]struct{})
			}
			m := (*tab)[name]
			if m == nil {
				m = make(map[*Client]struct{})
				(*tab)[name] = m
			}
			m[c] = struct{}{}
			if k == kindPattern {
				st.patterns = append(st.patterns, name)
			}
		}
		writeSubReply(c, subscribeName[k], nb, true, subCount(c, k))
	}
}

// unsubscribe removes c from each name (all of its subscriptions of kind k
// when names is empty) and writes the confirmations, or a single one with a
// null name when there was nothing to leave. Runs on c's goroutine.
func (s *Server) unsubscribe(c *Client, k subKind, names [][]byte) {
	r := &s.pubsub
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.hasSubscriptions() {
		r.state(c)
	}
	if len(names) > 0 {
		for _, nb := range names {
			r.remove(c, k, string(nb))
			writeSubReply(c, unsubscribeName[k], nb, true, subCount(c, k))
		}
		r.forgetIfIdle(c)
		return
	}
	all := r.names(c, k)
	for _, name := range all {
		r.remove(c, k, name)
		writeSubReply(c, unsubscribeName[k], []byte(name), true, subCount(c, k))
	}
	if len(all) == 0 {
		writeSubReply(c, unsubscribeName[k], nil, false, subCount(c, k))
	}
	r.forgetIfIdle(c)
}

// names lists c's subscriptions of kind k (patterns in subscription order).
// Caller holds mu.
func (r *pubsubRegistry) names(c *Client, k subKind) []string {
	if k == kindPattern {
		if st := r.subs[c]; st != nil {
			return append([]string(nil), st.patterns...)
		}
		return nil
	}
	set := *clientSet(c, k)
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	return out
}

// remove drops one subscription of c; it reports whether c had it. Caller
// holds mu.
func (r *pubsubRegistry) remove(c *Client, k subKind, name string) bool {
	set := clientSet(c, k)
	if _, ok := (*set)[name]; !ok {
		return false
	}
	delete(*set, name)
	c.countSubs(k)
	tab := *r.table(k)
	if m := tab[name]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(tab, name)
		}
	}
	if k == kindPattern {
		if st := r.subs[c]; st != nil {
			for i, p := range st.patterns {
				if p == name {
					st.patterns = append(st.patterns[:i], st.patterns[i+1:]...)
					break
				}
			}
		}
	}
	return true
}

// unsubscribeAll drops every subscription of c without replying (client
// close, RESET).
func (s *Server) unsubscribeAll(c *Client) {
	if !c.hasSubscriptions() {
		return
	}
	r := &s.pubsub
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range []subKind{kindChannel, kindPattern, kindShard} {
		for _, name := range r.names(c, k) {
			r.remove(c, k, name)
		}
	}
	delete(r.subs, c)
}

// writeSubReply appends a (un)subscribe confirmation to c's own writer.
func writeSubReply(c *Client, kind string, name []byte, hasName bool, count int) {
	w := c.pushWriter()
	w.Push(3)
	w.BulkString(kind)
	if hasName {
		w.Bulk(name)
	} else {
		w.Null()
	}
	w.Int(int64(count))
}

// delivery is one message to send after the registry lock is released.
type delivery struct {
	c       *Client
	proto   int
	pattern string // "" for a channel message
	byPat   bool
}

var deliveryPool = sync.Pool{New: func() any { s := make([]delivery, 0, 16); return &s }}

// Publish sends message to the subscribers of channel (and, unless shard,
// to the clients whose patterns match it) and returns how many received
// it. A receiver equal to self (the publishing client) gets the message in
// its own reply buffer, before the command's reply, as Redis does; the
// others get it through Deliver.
func (s *Server) Publish(self *Client, channel, message []byte, shard bool) int {
	r := &s.pubsub
	bp := deliveryPool.Get().(*[]delivery)
	ds := (*bp)[:0]
	r.mu.RLock()
	tab := r.channels
	if shard {
		tab = r.shard
	}
	for c := range tab[string(channel)] {
		ds = append(ds, delivery{c: c, proto: r.protoOf(c)})
	}
	if !shard {
		for pat, cs := range r.patterns {
			if !store.GlobMatch(unsafe.Slice(unsafe.StringData(pat), len(pat)), channel, false) {
				continue
			}
			for c := range cs {
				ds = append(ds, delivery{c: c, proto: r.protoOf(c), pattern: pat, byPat: true})
			}
		}
	}
	r.mu.RUnlock()
	n := len(ds)
	if n > 0 {
		kind := "message"
		if shard {
			kind = "smessage"
		}
		var enc [2][]byte // channel message, RESP2 and RESP3
		for _, d := range ds {
			if d.c == self {
				pw := self.pushWriter()
				pw.Buf = writeMessage(pw.Buf, pw.Proto, kind, d, channel, message)
				continue
			}
			if d.byPat {
				d.c.Deliver(writeMessage(nil, d.proto, kind, d, channel, message))
				continue
			}
			i := 0
			if d.proto == 3 {
				i = 1
			}
			if enc[i] == nil {
				enc[i] = writeMessage(nil, d.proto, kind, d, channel, message)
			}
			d.c.Deliver(enc[i])
		}
	}
	for i := range ds {
		ds[i] = delivery{}
	}
	*bp = ds[:0]
	deliveryPool.Put(bp)
	return n
}

// (The pattern bytes handed to GlobMatch above alias the map key without a
// copy; GlobMatch only reads them.)

// protoOf is the recorded protocol of a subscriber. Caller holds mu.
func (r *pubsubRegistry) protoOf(c *Client) int {
	if st := r.subs[c]; st != nil {
		return st.proto
	}
	return 2
}

// writeMessage appends a message, pmessage or smessage push to b.
func writeMessage(b []byte, proto int, kind string, d delivery, channel, message []byte) []byte {
	head := byte('*')
	if proto == 3 {
		head = '>'
	}
	if d.byPat {
		b = append(b, head, '4', '\r', '\n')
		b = appendBulk(b, []byte("pmessage"))
		b = appendBulk(b, []byte(d.pattern))
	} else {
		b = append(b, head, '3', '\r', '\n')
		b = appendBulk(b, []byte(kind))
	}
	b = appendBulk(b, channel)
	return appendBulk(b, message)
}

func appendBulk(b, v []byte) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(v)), 10)
	b = append(b, '\r', '\n')
	b = append(b, v...)
	return append(b, '\r', '\n')
}

// dropShardSlots unsubscribes every client from the shard channels hashing
// to the given slots, telling each with an sunsubscribe push, as Redis does
// when this node stops serving a slot. self is the client running the
// command (its notification goes to its own reply buffer).
func (s *Server) dropShardSlots(self *Client, lost []int) {
	if len(lost) == 0 {
		return
	}
	var gone slots.Bitmap
	for _, sl := range lost {
		gone.Set(sl)
	}
	type note struct {
		c *Client
		b []byte
	}
	var notes []note
	r := &s.pubsub
	r.mu.Lock()
	// Redis walks its slot-to-channels index: by slot, then by name.
	type victim struct {
		slot int
		name string
	}
	var victims []victim
	for name := range r.shard {
		if sl := slots.KeySlot([]byte(name)); gone.Has(sl) {
			victims = append(victims, victim{sl, name})
		}
	}
	sort.Slice(victims, func(i, j int) bool {
		if victims[i].slot != victims[j].slot {
			return victims[i].slot < victims[j].slot
		}
		return victims[i].name < victims[j].name
	})
	for _, v := range victims {
		name := v.name
		for c := range r.shard[name] {
			delete(c.SChannels, name)
			c.countSubs(kindShard)
			proto := r.protoOf(c)
			if c == self {
				proto = c.W.Proto
			}
			head := byte('*')
			if proto == 3 {
				head = '>'
			}
			b := append([]byte{head}, "3\r\n"...)
			b = appendBulk(b, []byte("sunsubscribe"))
			b = appendBulk(b, []byte(name))
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(len(c.SChannels)), 10)
			b = append(b, '\r', '\n')
			notes = append(notes, note{c, b})
			if !c.hasSubscriptions() {
				delete(r.subs, c)
			}
		}
		delete(r.shard, name)
	}
	r.mu.Unlock()
	for _, n := range notes {
		if n.c == self {
			self.pushWriter().Raw(n.b)
		} else {
			n.c.Deliver(n.b)
		}
	}
}

// PubSubCounts returns the numbers INFO prints: channels, patterns and
// shard channels with at least one subscriber.
func (s *Server) PubSubCounts() (channels, patterns, shard int) {
	r := &s.pubsub
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.channels), len(r.patterns), len(r.shard)
}

// ClientSubCounts returns c's numbers of channels, patterns and shard
// channels (CLIENT LIST sub/psub/ssub), safe from any goroutine.
func (s *Server) ClientSubCounts(c *Client) (sub, psub, ssub int) {
	r := &s.pubsub
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(c.Channels), len(c.Patterns), len(c.SChannels)
}
