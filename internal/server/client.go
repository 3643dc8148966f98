package server

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redcluster/redcluster/internal/resp"
)

// Client is one connection's state.
type Client struct {
	ID       int64
	nc       net.Conn
	Addr     string
	LAddr    string
	Name     string
	DB       int
	W        *resp.Writer
	Authed   bool
	Created  time.Time
	LastCmd  string
	lastIO   atomic.Int64 // ms of the last command
	closing  bool         // close after the pending replies are written
	killed   atomic.Bool
	argvBuf  [][]byte
	posBuf   [16]int
	slotBuf  [16]int
	NoEvict  bool
	ReadOnly bool // READONLY was sent (cluster replicas)
	Asking   bool // ASKING was sent for the next command
	// routeArgs is the request being routed in cluster mode (the router
	// needs its first key); it aliases the read buffer like the args.
	routeArgs [][]byte

	// ctx is reused by every command of this client (dispatch.go call).
	ctx Ctx
	// parse is the progress through a big request still arriving.
	parse resp.Resume
	// batchNow is the time (ms) of the batch being processed, 0 outside one.
	batchNow int64

	// MULTI state
	InMulti    bool
	MultiDirty bool // a queueing error happened: EXEC replies EXECABORT
	Queue      []queuedCmd
	Watched    []watchedKey
	WatchDirty atomic.Bool

	// Pub/Sub state, guarded by the pubsub registry's lock.
	Channels  map[string]struct{}
	Patterns  map[string]struct{}
	SChannels map[string]struct{}
	// nsub mirrors the sizes of Channels, Patterns and SChannels (by
	// subKind) for lock-free reads: another goroutine may drop shard
	// channels (slot loss) while this client's loop runs.
	nsub [3]atomic.Int32

	// outMu guards the output state shared between this client's own loop
	// and the goroutines that push messages to it (Pub/Sub): outbox holds
	// pushed bytes not yet written; busy is set while the loop processes
	// requests (it then writes the outbox after its replies); writing while
	// some goroutine writes to the socket (only one does at a time).
	outMu     sync.Mutex
	outCond   *sync.Cond // signals the end of writing (created lazily)
	outbox    []byte
	outSpare  []byte // a written outbox kept for reuse
	busy      bool
	writing   bool
	outDead   bool  // the socket failed or the client went over its limit
	inflight  int   // outbox bytes being written by a drainer
	softSince int64 // unix s since when the soft output limit is exceeded
	// srv is the server, for delivery limits and statistics (nil in some tests).
	srv *Server

	// blk is the pending wait of a blocked command (blocking.go); only
	// the client's own goroutine reads or writes it.
	blk *blockWait

	// cs is the CONNECTION commands' bookkeeping (cmd_connection.go).
	cs connState
	// rc is the replication state of the connection (repl_cmd.go).
	rc replClient

	// lc is set while an event loop serves the connection (nil when a
	// goroutine of its own does); only the serving goroutine reads it.
	lc *loopConn
	// loopYield asks the event loop to hand the connection to a goroutine
	// of its own (CLIENT PAUSE holds requests back).
	loopYield bool
	// outBreak: the event loop stopped processing because the replies
	// grew big; it writes them and then goes on with the input.
	outBreak bool
}

type queuedCmd struct {
	cmd  *Command
	args [][]byte
}

// SubscriptionCount is the number of channels and patterns subscribed.
func (c *Client) SubscriptionCount() int {
	return int(c.nsub[kindChannel].Load() + c.nsub[kindPattern].Load())
}

// Deliver sends bytes produced outside the client's own loop (a Pub/Sub
// message). They are queued, never written by the caller, so a client that
// does not read cannot stall a publisher: while the client processes
// requests its loop writes them after its replies, otherwise a writer
// goroutine does. Like Redis, a client whose pending bytes pass the
// client-output-buffer-limit of the pubsub class is disconnected.
func (c *Client) Deliver(b []byte) {
	c.outMu.Lock()
	if c.outDead {
		c.outMu.Unlock()
		return
	}
	c.outbox = append(c.outbox, b...)
	if c.overOutputLimit() {
		c.outDead = true
		c.outbox = nil
		c.outMu.Unlock()
		if c.srv != nil {
			c.srv.Log.Warn().Str("addr", c.Addr).
				Msg("Client scheduled to be closed ASAP for overcoming of output buffer limits.")
		}
		c.nc.Close()
		return
	}
	start := !c.busy && !c.writing
	if start {
		c.writing = true
	}
	c.outMu.Unlock()
	if start {
		go c.drainOutbox()
	}
}

// overOutputLimit applies the pubsub client-output-buffer-limit to the
// pending pushed bytes, as Redis's checkClientOutputBufferLimits does: over
// the hard limit, or over the soft one for more than its seconds. Caller
// holds outMu.
func (c *Client) overOutputLimit() bool {
	if c.srv == nil {
		return false
	}
	lim := c.srv.pubsubOutLimit.Load()
	if lim == nil {
		return false
	}
	pending := uint64(len(c.outbox) + c.inflight)
	if lim.Hard > 0 && pending >= lim.Hard {
		return true
	}
	if lim.Soft == 0 || pending < lim.Soft {
		c.softSince = 0
		return false
	}
	now := time.Now().Unix()
	if c.softSince == 0 {
		c.softSince = now
		return false
	}
	return now-c.softSince > lim.SoftSeconds
}

// drainOutbox writes the outbox while the client's loop is idle; it runs
// on its own goroutine with c.writing set, and stops when the outbox is
// empty or the loop starts processing (the loop then writes what is left
// after its replies, keeping replies and pushes in order).
func (c *Client) drainOutbox() {
	c.outMu.Lock()
	for len(c.outbox) > 0 && !c.busy && !c.outDead {
		chunk := c.outbox
		c.outbox, c.outSpare = c.outSpare[:0], nil
		c.inflight = len(chunk)
		c.outMu.Unlock()
		n, err := c.nc.Write(chunk)
		if c.srv != nil {
			c.srv.Stats.NetOutput.Add(int64(n))
		}
		c.outMu.Lock()
		c.inflight = 0
		if cap(chunk) <= 64<<10 {
			c.outSpare = chunk[:0]
		}
		if err != nil {
			c.outDead = true
			c.outbox = nil
			c.nc.Close()
		}
	}
	c.writing = false
	if c.outCond != nil {
		c.outCond.Broadcast()
	}
	c.outMu.Unlock()
}

// waitWriterLocked waits until no other goroutine writes to the socket.
// Caller holds outMu.
func (c *Client) waitWriterLocked() {
	for c.writing {
		if c.outCond == nil {
			c.outCond = sync.NewCond(&c.outMu)
		}
		c.outCond.Wait()
	}
}

// Kill closes the connection from another goroutine (CLIENT KILL).
func (c *Client) Kill() {
	c.killed.Store(true)
	c.nc.Close()
}

const readChunk = 16 * 1024

// loopOutBreak is the size of pending replies at which an event loop
// stops running a client's pipelined requests to write them first.
const loopOutBreak = 64 * 1024

// serveConn runs one connection; the caller did s.wg.Add(1) for it. With
// event loops (the default) the connection is handed to one of them and
// serveConn returns; otherwise it serves the connection itself.
func (s *Server) serveConn(nc net.Conn) {
	defer s.wg.Done()
	cs := s.connSettings()
	if tc, ok := nc.(*net.TCPConn); ok && cs.keepAlive > 0 {
		_ = tc.SetKeepAlive(true)
		_ = tc.SetKeepAlivePeriod(time.Duration(cs.keepAlive) * time.Second)
	}
	c := &Client{
		ID:      s.nextID.Add(1),
		nc:      nc,
		Addr:    nc.RemoteAddr().String(),
		LAddr:   nc.LocalAddr().String(),
		W:       resp.NewWriter(),
		Created: time.Now(),
		Authed:  cs.requirePass == "",
		srv:     s,
	}
	if l := s.pickLoop(); l != nil {
		if lc := newLoopConn(l, c, nc); lc != nil {
			c.nc, c.lc = lc, lc
			// Pushes are only queued while a loop serves the client: the
			// loop hands subscribers to a goroutine, which writes them.
			c.busy = true
		}
	}
	c.lastIO.Store(nowMs())
	c.republishConn() // CLIENT LIST shows it as fresh (flags=N multi=-1 resp=2) until it runs a command
	if !s.addClient(c) {
		if c.lc != nil {
			c.lc.abandon([]byte("-ERR max number of clients reached\r\n"))
		} else {
			nc.Write([]byte("-ERR max number of clients reached\r\n"))
			nc.Close()
		}
		s.Stats.Rejected.Add(1)
		return
	}
	select {
	case <-s.closing: // Close ran before this client was registered
		if c.lc != nil {
			c.lc.abandon(nil)
		}
		s.removeClient(c)
		return
	default:
	}
	if c.lc != nil {
		if !c.lc.loop.add(c.lc) {
			c.lc.abandon(nil)
			s.removeClient(c)
		}
		return
	}
	defer s.removeClient(c)
	s.serveGoroutine(c, nil)
}

// serveDetached serves, on a goroutine of its own, a connection an event
// loop gave up (see eventloop_linux.go): buf is its unprocessed input,
// c.W may hold replies not yet written and c.blk a wait to finish. The
// caller did s.wg.Add(1).
func (s *Server) serveDetached(c *Client, buf []byte) {
	defer s.wg.Done()
	if !s.serveGoroutine(c, buf) {
		s.removeClient(c)
	}
}

// reattachAfter is how many batches in a row a detached connection must
// run without blocking before it goes back to its event loop (a client
// that blocks every few requests would otherwise move back and forth).
const reattachAfter = 64

// serveGoroutine is the goroutine-per-connection loop: read, run the
// whole requests, write the replies. buf is input already read; it and
// c.W are processed first. It returns true when it gave a detached
// connection back to its event loop (the client lives on), false when the
// connection is over.
func (s *Server) serveGoroutine(c *Client, buf []byte) bool {
	nc := c.nc
	lc, _ := nc.(*loopConn) // set when an event loop detached the connection
	quiet := 0              // batches in a row that did not block
	if cap(buf) < readChunk {
		nb := make([]byte, len(buf), readChunk)
		copy(nb, buf)
		buf = nb
	}
	armed := false // a read deadline for the idle timeout is set
	pending := true
	for {
		var readErr error
		idleTimeout := 0
		if !pending {
			if lc != nil && quiet >= reattachAfter && len(buf) == 0 && s.reattach(c, lc) {
				return true
			}
			if cap(buf)-len(buf) < readChunk/2 {
				nb := make([]byte, len(buf), 2*cap(buf)+readChunk)
				copy(nb, buf)
				buf = nb
				c.dropArgs()
			}
			idleTimeout = s.connSettings().timeout
			if t := idleTimeout; t > 0 && !c.hasSubscriptions() {
				nc.SetReadDeadline(time.Now().Add(time.Duration(t) * time.Second))
				armed = true
			} else if armed {
				// Subscribed since, or the timeout was turned off: Redis
				// never times such clients out.
				nc.SetReadDeadline(time.Time{})
				armed = false
			}
			n, err := nc.Read(buf[len(buf):cap(buf)])
			if n > 0 {
				s.Stats.NetInput.Add(int64(n))
				buf = buf[:len(buf)+n]
			}
			readErr = err
			pending = n > 0
		}
		if pending {
			pending = false
			for {
				pos := s.processInput(c, buf)
				// keep the unprocessed tail at the front of the buffer
				rest := copy(buf, buf[pos:])
				buf = buf[:rest]
				if cap(buf) > 4*readChunk && len(buf) < readChunk {
					nb := make([]byte, len(buf), readChunk)
					copy(nb, buf)
					buf = nb
					c.dropArgs()
				}
				if int64(len(buf)) > s.queryBufLimit.Load() {
					s.Log.Warn().Str("addr", c.Addr).Int("qbuf", len(buf)).
						Msg("closing client that reached max query buffer length")
					c.closing = true
				}
				if !s.flush(c) || c.closing {
					return false
				}
				if c.rc.takeover != nil {
					// SYNC/PSYNC: the connection becomes a replica link.
					nc.SetReadDeadline(time.Time{})
					c.rc.takeover(nc, buf)
					return false
				}
				if c.blk == nil {
					quiet++
					break
				}
				// A command blocked: wait for it (reading what arrives
				// meanwhile), then process the rest of the input.
				quiet = 0
				var alive bool
				if buf, alive = s.waitBlocked(c, buf); !alive {
					return false
				}
			}
		}
		if readErr != nil {
			var ne net.Error
			if errors.As(readErr, &ne) && ne.Timeout() && idleTimeout > 0 {
				s.Log.Debug().Str("addr", c.Addr).Msg("closing idle client")
			}
			return false
		}
	}
}

// reattach gives a detached connection back to its event loop, once
// nothing holds it to a goroutine any more: no blocked command,
// subscription, pending replies or pushes, CLIENT PAUSE. Its goroutine
// then ends without closing it; false leaves it to the goroutine.
func (s *Server) reattach(c *Client, lc *loopConn) bool {
	if c.blk != nil || c.rc.takeover != nil || c.hasSubscriptions() || c.W.Len() > 0 || s.ext.pause.active.Load() {
		return false
	}
	c.outMu.Lock()
	if c.writing || c.outDead || len(c.outbox) > 0 {
		c.outMu.Unlock()
		return false
	}
	// As for every client a loop serves, pushes are only queued.
	c.busy = true
	c.outMu.Unlock()
	if !lc.reattach() {
		c.outMu.Lock()
		c.busy = false
		c.outMu.Unlock()
		return false
	}
	return true
}

// processInput parses and runs every whole request in buf for a client
// served by its own goroutine; it returns how many bytes were consumed.
func (s *Server) processInput(c *Client, buf []byte) int {
	c.outMu.Lock()
	c.busy = true
	c.outMu.Unlock()
	return s.processRequests(c, buf, nowMs())
}

// processRequests runs the whole requests at the front of buf until one
// closes the connection, blocks or hands the connection over (and, under
// an event loop, until a request must not run on the loop or the replies
// grew big); it returns how many bytes were consumed. now is the clock
// read of the caller's batch (an event loop reads it once per iteration,
// as Redis does); the commands see it as their time.
func (s *Server) processRequests(c *Client, buf []byte, now int64) int {
	pos := 0
	c.batchNow = now
	inLoop := c.lc != nil
	for pos < len(buf) && !c.closing && c.blk == nil && c.rc.takeover == nil {
		if inLoop && (c.W.Len() > loopOutBreak || s.ext.pause.active.Load()) {
			if c.W.Len() > loopOutBreak {
				c.outBreak = true
			} else {
				// The wait for CLIENT UNPAUSE must not hold the loop.
				c.loopYield = true
			}
			break
		}
		lim := resp.Limits{MaxBulkLen: s.protoMaxBulkLen.Load(), Unauthenticated: !c.Authed}
		args, n, err := resp.ParseResume(buf[pos:], lim, c.argvBuf, &c.parse)
		if err == resp.ErrIncomplete {
			break
		}
		if err != nil {
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				s.Log.Debug().Str("addr", c.Addr).Str("err", pe.Msg).Msg("protocol error from client")
				c.W.Error("ERR " + pe.Msg)
			}
			c.closing = true
			pos = len(buf)
			break
		}
		pos += n
		if args == nil {
			continue
		}
		c.argvBuf = args[:0]
		mark := c.W.Len()
		s.connBeforeDispatch(c, args, n)
		s.dispatch(c, args)
		s.connAfterDispatch(c, mark)
		if !inLoop && c.W.Len() > 64*1024 {
			if !s.flush(c) {
				c.closing = true
			}
			c.outMu.Lock()
			c.busy = true
			c.outMu.Unlock()
		}
	}
	c.batchNow = 0
	return pos
}

// flush writes pending replies (and queued pushes after them) and ends
// the busy state; false when the socket failed. The write happens without
// outMu held, so that publishers never wait for this client's socket.
func (s *Server) flush(c *Client) bool {
	c.outMu.Lock()
	c.waitWriterLocked()
	c.busy = false
	if c.outDead {
		c.outMu.Unlock()
		return false
	}
	if len(c.outbox) > 0 {
		c.W.Buf = append(c.W.Buf, c.outbox...)
		if cap(c.outbox) > 1<<20 {
			c.outbox = nil
		} else {
			c.outbox = c.outbox[:0]
		}
	}
	if c.W.Len() == 0 {
		c.outMu.Unlock()
		return true
	}
	c.writing = true
	c.outMu.Unlock()
	n, err := c.nc.Write(c.W.Buf)
	s.Stats.NetOutput.Add(int64(n))
	if cap(c.W.Buf) > 1<<20 {
		c.W.Buf = nil
	} else {
		c.W.Reset()
	}
	c.outMu.Lock()
	if err != nil {
		c.outDead = true
		c.outbox = nil
	}
	// Pushes that arrived during the write: hand them to a writer.
	start := len(c.outbox) > 0 && !c.outDead
	c.writing = start
	if !start && c.outCond != nil {
		c.outCond.Broadcast()
	}
	c.outMu.Unlock()
	if start {
		go c.drainOutbox()
	}
	return err == nil
}

// dropArgs forgets the arguments of past requests, which alias the read
// buffer: once the loop replaces the buffer they would keep the old one
// (as big as the biggest request seen) from being freed.
func (c *Client) dropArgs() {
	clear(c.argvBuf[:cap(c.argvBuf)])
	c.routeArgs = nil
}

func (c *Client) hasSubscriptions() bool {
	return c.nsub[kindChannel].Load()+c.nsub[kindPattern].Load()+c.nsub[kindShard].Load() > 0
}

func (s *Server) addClient(c *Client) bool {
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	if len(s.clients) >= s.connSettings().maxClients {
		return false
	}
	s.clients[c.ID] = c
	return true
}

func (s *Server) removeClient(c *Client) {
	c.nc.Close()
	s.unwatchAll(c)
	s.onClientClose(c)
	s.clientsMu.Lock()
	delete(s.clients, c.ID)
	s.clientsMu.Unlock()
}

// Clients returns a snapshot of the connected clients.
func (s *Server) Clients() []*Client {
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	out := make([]*Client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, c)
	}
	return out
}

// connSettings are the options the connection loop reads, taken under the
// configuration lock because CONFIG SET may change them at any time.
type connSettings struct {
	timeout, keepAlive, maxClients int
	requirePass                    string
}

func (s *Server) connSettings() connSettings {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return connSettings{timeout: s.Cfg.Timeout, keepAlive: s.Cfg.TCPKeepAlive, maxClients: s.Cfg.MaxClients, requirePass: s.Cfg.RequirePass}
}
