package server

// Blocking operations: the generic machinery behind BLPOP, BRPOP, BLMOVE,
// BRPOPLPUSH, BLMPOP and (for the sorted-set commands) BZPOPMIN, BZPOPMAX
// and BZMPOP, with Redis 7.0's semantics.
//
// # How a handler blocks
//
// A blocking handler first tries to serve the client at once, exactly like
// its non-blocking twin. When nothing can be served it calls Ctx.Block:
//
//	deadline, ok := c.ParseBlockTimeout(c.Args[len(c.Args)-1])
//	if !ok {
//		return // the error was replied
//	}
//	... try the keys; return when one could be served ...
//	if !c.CanBlock() { // inside MULTI/EXEC: behave as timed out
//		c.W.NullArray()
//		return
//	}
//	c.Block(BlockOptions{
//		Keys:     c.Args[1 : len(c.Args)-1],
//		Deadline: deadline,
//		Serve: func(c *Ctx, key []byte) bool {
//			// c is a fresh Ctx for the blocked client: c.Args is a private
//			// copy of the command's arguments, c.DB its database, c.W a
//			// private writer whose bytes become the client's reply. The
//			// slot locks of key (and of ExtraKeys) are held.
//			o := c.Lookup(key)
//			if o == nil || o.Type != store.TypeZSet {
//				return false // not servable: keep waiting, write nothing
//			}
//			... pop, c.Modified(key), write the reply ...
//			c.Propagate(...) // what the replicas apply: never the blocking form
//			return true
//		},
//	})
//
// Block registers the wait and returns at once; the handler then returns
// without writing a reply. The client's connection loop stops processing its
// input (pipelined commands wait, as in Redis) until the wait ends, keeps
// reading the socket meanwhile to notice a disconnection, and writes the
// reply when the wait ends:
//
//   - Served: a key the client waits on became ready (a command created it:
//     store.DB.Set calls store.Hooks.Added) and Serve returned true; the
//     bytes Serve wrote are the reply, and what it propagated (Ctx.Propagate,
//     the default being the blocking command as received, which a replica
//     must never get) is fed to the replication stream before the slot
//     locks are released. Serve may also reply with an error and
//     return true (BLMOVE whose destination has the wrong type).
//   - Timed out (the deadline passed) or CLIENT UNBLOCK [TIMEOUT]: the
//     TimeoutReply (null array when nil, as every list and zset command).
//   - CLIENT UNBLOCK ERROR: "-UNBLOCKED client unblocked via CLIENT UNBLOCK".
//   - Disconnected: the wait is dropped; Serve will never run for it, so no
//     element is taken on behalf of a gone client.
//
// # Serving order
//
// Keys become ready in the order commands create them; after each command
// (afterCommand, outside any slot lock and never inside EXEC) the ready keys
// are served in that order, and for each key the clients blocked on it are
// tried first-come first-served, until the key no longer exists. A client
// blocked on several keys is served by whichever becomes ready first, and
// only once. Serving may create more ready keys (BLMOVE pushes to its
// destination); they are served in the same pass. Only one goroutine serves
// at a time, so the FIFO order holds across connections, and a command that
// made keys ready replies only after the clients it woke were served.
//
// Unlike Redis, which serves before running any other command, a command
// of another connection may run between the end of the command that made
// a key ready and the serving (it is concurrent with that command anyway).
//
// # Locking
//
// Block must be called from a handler, whose key slot locks the dispatcher
// holds: registering under those locks is what makes "check the key, then
// wait" atomic with respect to a concurrent push. Serve runs with the slot
// lock of the ready key plus those of ExtraKeys (taken in ascending order)
// and must not take slot locks itself. The registry's own mutex is never
// held while a slot lock is being acquired.

import (
	"errors"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/store"
)

// ErrUnblocked is the reply of a client released by CLIENT UNBLOCK ... ERROR.
const ErrUnblocked = "UNBLOCKED client unblocked via CLIENT UNBLOCK"

// BlockOptions describes what a blocked client waits for; see the package
// comment of blocking.go.
type BlockOptions struct {
	// Keys are the keys to wait on, in the client's selected database
	// (duplicates are ignored). They must be among the command's keys.
	Keys [][]byte
	// Deadline is the absolute time (Unix ms) at which the wait times out,
	// as returned by ParseBlockTimeout; 0 waits forever.
	Deadline int64
	// ExtraKeys are the other keys Serve writes (BLMOVE's destination);
	// their slot locks are held while Serve runs.
	ExtraKeys [][]byte
	// Serve tries to serve the client now that key is ready. It runs on
	// another client's goroutine with a Ctx of its own (see above) and
	// returns true once it has written the reply, false (writing nothing) to
	// keep waiting.
	Serve func(c *Ctx, key []byte) bool
	// TimeoutReply writes the reply sent on timeout and on CLIENT UNBLOCK
	// (without ERROR); nil sends the null array.
	TimeoutReply func(w *resp.Writer)
}

// CanBlock reports whether the command may block. It is false inside
// MULTI/EXEC, where Redis 7.0 treats a blocking command as timed out at once
// (each command picks its own reply for that: a null array for BLPOP, a
// null bulk for BLMOVE).
func (c *Ctx) CanBlock() bool {
	return !c.inExec && c.C != nil && c.C.nc != nil
}

// Block makes the client wait for one of o.Keys to become ready. The
// handler must return right after it without replying. When the client
// cannot block (see CanBlock) it replies as on timeout instead.
func (c *Ctx) Block(o BlockOptions) {
	if !c.CanBlock() {
		blockTimeoutReplyTo(c.W, o.TimeoutReply)
		return
	}
	w := &blockWait{
		c:            c.C,
		db:           c.DB.ID,
		cmd:          c.Cmd,
		args:         blockCopyArgs(c.Args),
		serve:        o.Serve,
		timeoutReply: o.TimeoutReply,
		deadline:     o.Deadline,
		proto:        c.W.Proto,
		done:         make(chan struct{}),
	}
	for _, k := range o.Keys {
		bk := blockKey{db: w.db, key: string(k)}
		dup := false
		for _, x := range w.keys {
			if x == bk {
				dup = true
				break
			}
		}
		if !dup {
			w.keys = append(w.keys, bk)
		}
	}
	for _, k := range o.ExtraKeys {
		w.extra = append(w.extra, slots.KeySlot(k))
	}
	w.extra = blockSortedUnique(w.extra)
	c.S.blocking.add(w)
	c.C.blk = w
}

// ParseBlockTimeout parses a blocking command's timeout argument (seconds,
// a float) the way Redis 7.0 does and returns the absolute deadline in Unix
// ms, 0 meaning "forever". On error it replies and returns false.
func (c *Ctx) ParseBlockTimeout(arg []byte) (int64, bool) {
	ms, errMsg := blockTimeoutMs(arg)
	if errMsg != "" {
		c.Error(errMsg)
		return 0, false
	}
	if ms == 0 {
		return 0, true
	}
	if ms > math.MaxInt64-c.Now {
		return 0, true // unreachable in practice: wait forever
	}
	return c.Now + ms, true
}

// blockTimeoutMs converts seconds given as a C long double into whole
// milliseconds (rounded up), with Redis's error strings.
func blockTimeoutMs(arg []byte) (int64, string) {
	v, ok := blockParseLongDouble(arg)
	if !ok {
		return 0, resp.ErrTimeoutNotNum
	}
	ms := math.Ceil(v * 1000)
	// A value outside the long long range converts to LLONG_MIN in Redis,
	// which it then reports as negative.
	if ms >= 9.223372036854775807e18 || ms < -9.223372036854775807e18 {
		return 0, resp.ErrTimeoutNeg
	}
	n := int64(ms)
	if n < 0 {
		return 0, resp.ErrTimeoutNeg
	}
	return n, ""
}

// blockParseLongDouble accepts what strtold does on the whole string (decimal,
// hex, inf, infinity) except NaN and leading whitespace, like Redis's
// string2ld.
func blockParseLongDouble(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) >= 5*1024 {
		return 0, false
	}
	s := string(b)
	switch s[0] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return 0, false
	}
	if strings.IndexByte(s, '_') >= 0 {
		return 0, false
	}
	body := strings.TrimLeft(s, "+-")
	if len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') && !strings.ContainsAny(body, "pP") {
		s += "p0"
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
			return 0, false
		}
		if v == 0 { // underflow: a tiny non-zero value
			v = math.SmallestNonzeroFloat64
			if s[0] == '-' {
				v = -v
			}
		}
	}
	if math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// UnblockClient ends the wait of a blocked client (CLIENT UNBLOCK): with
// withError it replies "-UNBLOCKED ...", else as on timeout. It reports
// whether the client was blocked.
func (s *Server) UnblockClient(id int64, withError bool) bool {
	outcome := outcomeTimeout
	if withError {
		outcome = outcomeUnblockError
	}
	r := &s.blocking
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.byClient[id]
	if w == nil {
		return false
	}
	return r.cancelLocked(w, outcome) || w.state == waitServing
}

// BlockedClients is the number of clients blocked on keys (INFO clients
// blocked_clients).
func (s *Server) BlockedClients() int { return int(s.blocking.count.Load()) }

// blockKey is a key of one database.
type blockKey struct {
	db  int
	key string
}

// States of a blockWait, guarded by blockRegistry.mu.
const (
	waitWaiting = iota // registered, may be served or cancelled
	waitServing        // a server goroutine is running Serve
	waitDone           // finished; outcome is final and done is closed
)

// Outcomes of a wait.
const (
	outcomeNone = iota
	outcomeServed
	outcomeTimeout
	outcomeUnblockError
	outcomeClosed
)

// blockWait is one blocked client's wait.
type blockWait struct {
	c            *Client
	db           int
	keys         []blockKey
	extra        []int // sorted slots of BlockOptions.ExtraKeys
	cmd          *Command
	args         [][]byte
	serve        func(c *Ctx, key []byte) bool
	timeoutReply func(w *resp.Writer)
	deadline     int64
	proto        int
	out          *resp.Writer // what Serve wrote

	state     int // guarded by blockRegistry.mu
	outcome   int // guarded by blockRegistry.mu; final once done is closed
	cancelReq int // an outcome asked for while serving
	done      chan struct{}
}

// blockRegistry indexes the blocked clients by key and by client, and
// queues the keys that became ready.
type blockRegistry struct {
	count  atomic.Int64 // blocked clients; 0 makes the hooks free
	readyN atomic.Int64 // len(ready)
	// serving counts goroutines in serveReadyKeys: a command whose ready
	// keys another goroutine took waits for it, so that its reply is sent
	// after the clients it woke were served (as in Redis).
	serving atomic.Int64

	mu       sync.Mutex
	byKey    map[blockKey][]*blockWait // FIFO per key
	byClient map[int64]*blockWait
	ready    []blockKey
	readySet map[blockKey]struct{}

	// serveMu lets one goroutine at a time serve ready keys, which keeps
	// the first-come first-served order across connections.
	serveMu sync.Mutex
}

func (r *blockRegistry) add(w *blockWait) {
	r.mu.Lock()
	if r.byKey == nil {
		r.byKey = make(map[blockKey][]*blockWait)
		r.byClient = make(map[int64]*blockWait)
		r.readySet = make(map[blockKey]struct{})
	}
	for _, k := range w.keys {
		r.byKey[k] = append(r.byKey[k], w)
	}
	r.byClient[w.c.ID] = w
	r.count.Add(1)
	r.mu.Unlock()
}

// removeLocked drops w from the indexes; r.mu is held.
func (r *blockRegistry) removeLocked(w *blockWait) {
	for _, k := range w.keys {
		list := r.byKey[k]
		for i, x := range list {
			if x == w {
				copy(list[i:], list[i+1:])
				list[len(list)-1] = nil
				list = list[:len(list)-1]
				break
			}
		}
		if len(list) == 0 {
			delete(r.byKey, k)
		} else {
			r.byKey[k] = list
		}
	}
	if r.byClient[w.c.ID] == w {
		delete(r.byClient, w.c.ID)
	}
	r.count.Add(-1)
}

// finishLocked makes outcome final and wakes the client; r.mu is held.
func (r *blockRegistry) finishLocked(w *blockWait, outcome int) {
	r.removeLocked(w)
	w.state = waitDone
	w.outcome = outcome
	close(w.done)
}

// cancelLocked ends a waiting wait with outcome. When Serve is running it
// records the request instead (applied if Serve does not serve) and
// returns false, as it does for a finished wait. r.mu is held.
func (r *blockRegistry) cancelLocked(w *blockWait, outcome int) bool {
	switch w.state {
	case waitWaiting:
		r.finishLocked(w, outcome)
		return true
	case waitServing:
		if w.cancelReq == outcomeNone {
			w.cancelReq = outcome
		}
	}
	return false
}

func (r *blockRegistry) cancel(w *blockWait, outcome int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cancelLocked(w, outcome)
}

// claim moves a waiting wait to serving.
func (r *blockRegistry) claim(w *blockWait) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.state != waitWaiting {
		return false
	}
	w.state = waitServing
	return true
}

// release ends a Serve attempt.
func (r *blockRegistry) release(w *blockWait, served bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case served:
		r.finishLocked(w, outcomeServed)
	case w.cancelReq != outcomeNone:
		r.finishLocked(w, w.cancelReq)
	default:
		w.state = waitWaiting
	}
}

// keyAdded is the store's Added hook: it runs with the key's slot lock held
// whenever a key is created or replaced, and queues the key when a client
// waits on it.
func (s *Server) keyAdded(db int, key string, _ store.Type) {
	r := &s.blocking
	if r.count.Load() == 0 {
		return
	}
	bk := blockKey{db: db, key: key}
	r.mu.Lock()
	if _, waiting := r.byKey[bk]; waiting {
		if _, queued := r.readySet[bk]; !queued {
			r.readySet[bk] = struct{}{}
			r.ready = append(r.ready, bk)
			r.readyN.Store(int64(len(r.ready)))
		}
	}
	r.mu.Unlock()
}

func (r *blockRegistry) takeReady() []blockKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ready
	r.ready = nil
	clear(r.readySet)
	r.readyN.Store(0)
	return out
}

// handleBlockedOnKeys serves the clients blocked on keys that became ready.
// It runs after every command; inside EXEC it waits for the EXEC itself
// to end (the transaction's locks are still held then).
func (s *Server) handleBlockedOnKeys(c *Ctx) {
	r := &s.blocking
	if c.inExec || (r.readyN.Load() == 0 && r.serving.Load() == 0) {
		return
	}
	s.serveReadyKeys()
}

// serveReadyKeys serves ready keys until none is left. The caller holds
// no slot lock.
func (s *Server) serveReadyKeys() {
	r := &s.blocking
	r.serving.Add(1)
	defer r.serving.Add(-1)
	r.serveMu.Lock()
	defer r.serveMu.Unlock()
	for {
		keys := r.takeReady()
		if len(keys) == 0 {
			return
		}
		for _, k := range keys {
			s.serveKey(k)
		}
	}
}

// serveKey tries the clients blocked on k in FIFO order while k exists.
func (s *Server) serveKey(k blockKey) {
	r := &s.blocking
	r.mu.Lock()
	waiters := append([]*blockWait(nil), r.byKey[k]...)
	r.mu.Unlock()
	if len(waiters) == 0 {
		return
	}
	key := []byte(k.key)
	slot := slots.KeySlot(key)
	db := s.KS.DBs[k.db]
	s.KS.Lock(slot)
	for _, w := range waiters {
		if db.Peek(key) == nil {
			break
		}
		if !r.claim(w) {
			continue
		}
		if len(w.extra) > 0 && w.extra[0] < slot {
			// Locks go in ascending order: let go of the key's slot first.
			s.KS.Unlock(slot)
			all := blockSortedUnique(append([]int{slot}, w.extra...))
			s.KS.LockSlots(all)
			served := s.runServe(w, key, db)
			r.release(w, served)
			s.KS.UnlockSlots(all)
			s.KS.Lock(slot)
			continue
		}
		var more []int
		for _, x := range w.extra {
			if x != slot {
				more = append(more, x)
			}
		}
		s.KS.LockSlots(more)
		served := s.runServe(w, key, db)
		r.release(w, served)
		s.KS.UnlockSlots(more)
	}
	s.KS.Unlock(slot)
}

// runServe calls a wait's Serve with a Ctx of the blocked client.
func (s *Server) runServe(w *blockWait, key []byte, db *store.DB) bool {
	out := &resp.Writer{Proto: w.proto}
	ctx := Ctx{S: s, C: w.c, Cmd: w.cmd, Args: w.args, W: out, DB: db, Now: nowMs(), locked: true,
		feeding: s.feedingNow()}
	served := w.serve(&ctx, key)
	// What Serve propagated (the non-blocking twin of the command: LPOP,
	// LMOVE, ZPOPMIN ...) is fed now, under the slot locks, so that the
	// stream orders it after the write that made the key ready.
	if served && (ctx.Dirty > 0 || ctx.propSet) {
		s.propagate(&ctx)
	}
	if ctx.Dirty > 0 {
		s.Stats.Dirty.Add(int64(ctx.Dirty))
	}
	if served {
		w.out = out
	}
	return served
}

// readResult is one read of the socket made while the client is blocked.
type readResult struct {
	data []byte
	err  error
}

// waitBlocked runs on the client's goroutine after a command blocked: it
// waits for the wait to end while reading the socket (to notice a closed
// connection; whatever arrives is appended to buf for later), then appends
// the reply to c.W. It returns the grown buf and false when the connection
// is gone.
func (s *Server) waitBlocked(c *Client, buf []byte) ([]byte, bool) {
	w := c.blk
	r := &s.blocking
	nc := c.nc
	_ = nc.SetReadDeadline(time.Time{}) // blocked clients never idle out

	reads := make(chan readResult, 1)
	go func() {
		for {
			b := make([]byte, readChunk)
			n, err := nc.Read(b)
			reads <- readResult{data: b[:n], err: err}
			if err != nil {
				return
			}
		}
	}()

	var timeout <-chan time.Time
	if w.deadline > 0 {
		// Redis times a client out once the clock (in ms) is past the
		// deadline; firing at the deadline's own millisecond could answer
		// before the timeout has fully elapsed.
		t := time.NewTimer(time.Until(time.UnixMilli(w.deadline + 1)))
		defer t.Stop()
		timeout = t.C
	}
	alive, readerDone := true, false
wait:
	for {
		select {
		case <-w.done:
			break wait
		case <-timeout:
			r.cancel(w, outcomeTimeout)
			<-w.done
			break wait
		case rr := <-reads:
			s.Stats.NetInput.Add(int64(len(rr.data)))
			buf = append(buf, rr.data...)
			overLimit := int64(len(buf)) > s.queryBufLimit.Load()
			if rr.err != nil || overLimit {
				readerDone = rr.err != nil
				alive = false
				r.cancel(w, outcomeClosed)
				<-w.done
				break wait
			}
		}
	}
	if !readerDone {
		// Interrupt the pending read and keep what it got.
		_ = nc.SetReadDeadline(time.Unix(1, 0))
		for rr := range reads {
			buf = append(buf, rr.data...)
			s.Stats.NetInput.Add(int64(len(rr.data)))
			if rr.err != nil {
				var ne net.Error
				if !errors.As(rr.err, &ne) || !ne.Timeout() {
					alive = false
				}
				break
			}
		}
		_ = nc.SetReadDeadline(time.Time{})
	}
	c.blk = nil
	switch w.outcome {
	case outcomeServed:
		c.W.Raw(w.out.Buf)
	case outcomeTimeout:
		blockTimeoutReplyTo(c.W, w.timeoutReply)
	case outcomeUnblockError:
		c.W.Error(ErrUnblocked)
	}
	return buf, alive
}

// dropBlocked cancels the wait of a closing client, if any.
func (s *Server) dropBlocked(c *Client) {
	w := c.blk
	if w == nil {
		return
	}
	s.blocking.cancel(w, outcomeClosed)
	<-w.done
	c.blk = nil
}

func blockTimeoutReplyTo(w *resp.Writer, f func(*resp.Writer)) {
	if f != nil {
		f(w)
		return
	}
	w.NullArray()
}

// blockCopyArgs copies arguments into one private buffer.
func blockCopyArgs(args [][]byte) [][]byte {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(args))
	for i, a := range args {
		buf = append(buf, a...)
		out[i] = buf[len(buf)-len(a) : len(buf) : len(buf)]
	}
	return out
}

func blockSortedUnique(xs []int) []int {
	if len(xs) < 2 {
		return xs
	}
	sort.Ints(xs)
	out := xs[:1]
	for _, x := range xs[1:] {
		if x != out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}
