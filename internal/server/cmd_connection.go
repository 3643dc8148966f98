package server

import (
	"crypto/subtle"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redcluster/redcluster/internal/resp"
)

// serverVersion is the Redis version we implement and report.
const serverVersion = "7.0.15"

func connectionCommands() []*Command {
	cf := FlagNoScript | FlagLoading | FlagStale
	af := FlagAdmin | cf
	cat := []string{"connection"}
	sub := func(name string, arity int, flags Flag, h func(*Ctx), since string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, Handler: h, Group: "connection", Since: since, Categories: cat}
	}
	noAuth := FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagNoAuth | FlagAllowBusy
	return []*Command{
		{Name: "ping", Arity: -1, Flags: FlagFast | FlagSentinel, Handler: cmdPing, Group: "connection", Since: "1.0.0", Categories: []string{"fast", "connection"}},
		{Name: "echo", Arity: 2, Flags: FlagLoading | FlagStale | FlagFast, Handler: cmdEcho, Group: "connection", Since: "1.0.0", Categories: []string{"fast", "connection"}},
		{Name: "quit", Arity: -1, Flags: FlagAllowBusy | FlagNoAuth | FlagLoading | FlagStale | FlagFast | FlagNoScript, Handler: cmdQuit, Group: "connection", Since: "1.0.0", Categories: []string{"fast", "connection"}},
		{Name: "select", Arity: 2, Flags: FlagLoading | FlagStale | FlagFast, Handler: cmdSelect, Group: "connection", Since: "1.0.0", Categories: []string{"fast", "connection"}},
		{Name: "auth", Arity: -2, Flags: noAuth | FlagSentinel, Handler: cmdAuth, Group: "connection", Since: "1.0.0", Categories: []string{"fast", "connection"}},
		{Name: "hello", Arity: -1, Flags: noAuth | FlagSentinel, Handler: cmdHello, Group: "connection", Since: "6.0.0", Categories: []string{"fast", "connection"}},
		{Name: "reset", Arity: 1, Flags: noAuth, Handler: cmdReset, Group: "connection", Since: "6.2.0", Categories: []string{"fast", "connection"}},
		{Name: "client", Arity: -2, Group: "connection", Since: "2.4.0", Categories: []string{"slow"}, Subs: map[string]*Command{
			"caching":      sub("caching", 3, cf, cmdClientCaching, "6.0.0"),
			"getname":      sub("getname", 2, cf, cmdClientGetName, "2.6.9"),
			"getredir":     sub("getredir", 2, cf, cmdClientGetRedir, "6.0.0"),
			"help":         sub("help", 2, FlagLoading|FlagStale, cmdClientHelp, "5.0.0"),
			"id":           sub("id", 2, cf, cmdClientID, "5.0.0"),
			"info":         sub("info", 2, cf, cmdClientInfo, "6.2.0"),
			"kill":         sub("kill", -3, af, cmdClientKill, "2.4.0"),
			"list":         sub("list", -2, af, cmdClientList, "2.4.0"),
			"no-evict":     sub("no-evict", 3, af, cmdClientNoEvict, "7.0.0"),
			"pause":        sub("pause", -3, af, cmdClientPause, "2.9.50"),
			"reply":        sub("reply", 3, cf, cmdClientReply, "3.2.0"),
			"setname":      sub("setname", 3, cf, cmdClientSetName, "2.6.9"),
			"tracking":     sub("tracking", -3, cf, cmdClientTracking, "6.0.0"),
			"trackinginfo": sub("trackinginfo", 2, cf, cmdClientTrackingInfo, "6.2.0"),
			"unblock":      sub("unblock", -3, af, cmdClientUnblock, "5.0.0"),
			"unpause":      sub("unpause", 2, af, cmdClientUnpause, "6.2.0"),
		}},
	}
}

// connState is the per-connection bookkeeping of the CONNECTION commands:
// what CLIENT LIST shows of a connection to other connections, and the
// CLIENT REPLY mode.
type connState struct {
	// mu guards pub, which other connections read (CLIENT LIST/KILL).
	mu  sync.Mutex
	pub connPub
	// lastCmd is the last command run (cmd= of CLIENT LIST).
	lastCmd atomic.Pointer[Command]
	// fd caches the socket's descriptor for CLIENT LIST (0: not looked up).
	fd atomic.Int32

	// Owned by the connection's goroutine.
	qbuf          int // bytes of the request being run
	replyOff      bool
	replySkip     bool // drop the reply of the current command
	replySkipNext bool // drop the reply of the next command
	// pushW collects the Pub/Sub pushes of a command whose reply CLIENT
	// REPLY OFF/SKIP drops: Redis sends those anyway (CLIENT_PUSHING).
	pushW *resp.Writer
}

// connPub is the copy of a connection's state published to others.
type connPub struct {
	name            string
	db              int
	resp            int
	multi           int // queued commands, -1 outside MULTI
	multiMem        int
	sub, psub, ssub int
	readOnly        bool
	noEvict         bool
	inited          bool
	replica         bool // the connection became a replica link (SYNC/PSYNC)
}

// snapshotPub computes the current publishable state; only the
// connection's goroutine calls it.
func (c *Client) snapshotPub(prev *connPub) connPub {
	p := connPub{name: c.Name, db: c.DB, resp: c.W.Proto, multi: -1,
		sub: int(c.nsub[kindChannel].Load()), psub: int(c.nsub[kindPattern].Load()), ssub: int(c.nsub[kindShard].Load()),
		readOnly: c.ReadOnly, noEvict: c.NoEvict, inited: true, replica: c.rc.takeover != nil}
	if c.InMulti {
		p.multi = len(c.Queue)
		switch {
		case prev.multi >= 0 && prev.multi <= p.multi:
			p.multiMem = prev.multiMem
			for _, q := range c.Queue[prev.multi:] {
				p.multiMem += queuedMem(q.args)
			}
		default:
			for _, q := range c.Queue {
				p.multiMem += queuedMem(q.args)
			}
		}
	}
	return p
}

// queuedMem is what Redis counts as multi-mem for one queued command.
func queuedMem(args [][]byte) int {
	n := 8 * len(args)
	for _, a := range args {
		n += len(a)
	}
	return n
}

// publishConn refreshes what other connections see of c when it changed.
func (c *Client) publishConn() {
	p := &c.cs.pub
	multi := -1
	if c.InMulti {
		multi = len(c.Queue)
	}
	if p.inited && p.db == c.DB && p.multi == multi && p.resp == c.W.Proto && p.name == c.Name &&
		p.sub == int(c.nsub[kindChannel].Load()) && p.psub == int(c.nsub[kindPattern].Load()) &&
		p.ssub == int(c.nsub[kindShard].Load()) &&
		p.readOnly == c.ReadOnly && p.noEvict == c.NoEvict && p.replica == (c.rc.takeover != nil) {
		return
	}
	c.republishConn()
}

func (c *Client) republishConn() {
	cs := &c.cs
	p := c.snapshotPub(&cs.pub)
	cs.mu.Lock()
	cs.pub = p
	cs.mu.Unlock()
}

// readPub returns the published state of c (any goroutine).
func (c *Client) readPub() connPub {
	c.cs.mu.Lock()
	p := c.cs.pub
	c.cs.mu.Unlock()
	return p
}

// connBeforeDispatch runs before each request: it records the request size
// and waits while CLIENT PAUSE holds the command back.
func (s *Server) connBeforeDispatch(c *Client, args [][]byte, n int) {
	c.cs.qbuf = n
	if s.ext.pause.active.Load() {
		s.waitPause(c, args)
	}
}

// connAfterDispatch runs after each request: error statistics, CLIENT
// REPLY OFF/SKIP, and publishing the connection state for CLIENT LIST.
func (s *Server) connAfterDispatch(c *Client, mark int) {
	cs := &c.cs
	if len(c.W.Buf) > mark && c.W.Buf[mark] == '-' {
		s.countError(c.W.Buf[mark+1:])
	}
	if cs.replyOff || cs.replySkip {
		if len(c.W.Buf) > mark {
			c.W.Buf = c.W.Buf[:mark]
		}
	}
	if cs.pushW != nil && len(cs.pushW.Buf) > 0 {
		c.W.Buf = append(c.W.Buf, cs.pushW.Buf...)
		cs.pushW.Reset()
	}
	cs.replySkip = false
	if cs.replySkipNext {
		cs.replySkip = true
		cs.replySkipNext = false
	}
	c.publishConn()
}

// pushWriter is where Pub/Sub pushes to c's own connection go: its reply
// writer, or while CLIENT REPLY OFF/SKIP silences the command's reply a
// side writer that connAfterDispatch appends after the silenced reply.
func (c *Client) pushWriter() *resp.Writer {
	cs := &c.cs
	if !cs.replyOff && !cs.replySkip {
		return c.W
	}
	if cs.pushW == nil {
		cs.pushW = resp.NewWriter()
	}
	cs.pushW.Proto = c.W.Proto
	return cs.pushW
}

func cmdPing(c *Ctx) {
	if len(c.Args) > 2 {
		c.ArityError()
		return
	}
	if c.C.hasSubscriptions() && c.W.Proto == 2 {
		c.W.Array(2)
		c.W.BulkString("pong")
		if len(c.Args) == 2 {
			c.W.Bulk(c.Args[1])
		} else {
			c.W.BulkString("")
		}
		return
	}
	if len(c.Args) == 2 {
		c.W.Bulk(c.Args[1])
		return
	}
	c.W.Status("PONG")
}

func cmdEcho(c *Ctx) { c.W.Bulk(c.Args[1]) }

func cmdQuit(c *Ctx) {
	c.W.OK()
	c.C.closing = true
}

func cmdSelect(c *Ctx) {
	v, ok := resp.ParseInt(c.Args[1])
	if !ok {
		c.Error(resp.ErrNotInteger)
		return
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		c.Error("ERR value is out of range, value must between -2147483648 and 2147483647")
		return
	}
	n := int(v)
	if c.S.Router != nil && n != 0 {
		c.Error("ERR SELECT is not allowed in cluster mode")
		return
	}
	if n < 0 || n >= len(c.S.KS.DBs) {
		c.Error("ERR DB index is out of range")
		return
	}
	c.C.DB = n
	c.DB = c.S.KS.DBs[n]
	c.W.OK()
}

// requirePass returns the configured requirepass ("" for none).
func (s *Server) requirePass() string {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return s.Cfg.RequirePass
}

// checkUserPass reports whether user/pass authenticate: only the
// "default" user exists; without requirepass it takes any password.
func (s *Server) checkUserPass(user, pass []byte) bool {
	if string(user) != "default" {
		return false
	}
	rp := s.requirePass()
	if rp == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(rp), pass) == 1
}

const errWrongPass = "WRONGPASS invalid username-password pair or user is disabled."

func cmdAuth(c *Ctx) {
	if len(c.Args) > 3 {
		c.Error(resp.ErrSyntax)
		return
	}
	user, pass := []byte("default"), c.Args[1]
	if len(c.Args) == 2 {
		if c.S.requirePass() == "" {
			c.Error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
			return
		}
	} else {
		user, pass = c.Args[1], c.Args[2]
	}
	if !c.S.checkUserPass(user, pass) {
		c.Error(errWrongPass)
		return
	}
	c.C.Authed = true
	c.W.OK()
}

// validClientName reports whether name fits CLIENT LIST (printable ASCII
// without spaces).
func validClientName(name []byte) bool {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

const errClientName = "ERR Client names cannot contain spaces, newlines or special characters."

// setClientName applies CLIENT SETNAME / HELLO SETNAME, replying with the
// error when the name is invalid.
func setClientName(c *Ctx, name []byte) bool {
	if !validClientName(name) {
		c.Error(errClientName)
		return false
	}
	c.C.Name = string(name)
	return true
}

func cmdHello(c *Ctx) {
	ver := int64(0)
	next := 1
	if len(c.Args) >= 2 {
		v, ok := resp.ParseInt(c.Args[1])
		if !ok {
			c.Error("ERR Protocol version is not an integer or out of range")
			return
		}
		if v < 2 || v > 3 {
			c.Error("NOPROTO unsupported protocol version")
			return
		}
		ver = v
		next = 2
	}
	for j := next; j < len(c.Args); j++ {
		more := len(c.Args) - 1 - j
		opt := string(c.Args[j])
		switch {
		case strings.EqualFold(opt, "auth") && more >= 2:
			if !c.S.checkUserPass(c.Args[j+1], c.Args[j+2]) {
				c.Error(errWrongPass)
				return
			}
			c.C.Authed = true
			j += 2
		case strings.EqualFold(opt, "setname") && more >= 1:
			if !setClientName(c, c.Args[j+1]) {
				return
			}
			j++
		default:
			c.Error("ERR Syntax error in HELLO option '" + opt + "'")
			return
		}
	}
	if !c.C.Authed {
		c.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if ver != 0 {
		c.S.connSetProto(c.C, int(ver))
	}
	w := c.W
	w.Map(7)
	w.BulkString("server")
	w.BulkString("redis")
	w.BulkString("version")
	w.BulkString(serverVersion)
	w.BulkString("proto")
	w.Int(int64(w.Proto))
	w.BulkString("id")
	w.Int(c.C.ID)
	w.BulkString("mode")
	if c.S.clusterMode() {
		w.BulkString("cluster")
	} else {
		w.BulkString("standalone")
	}
	w.BulkString("role")
	w.BulkString("master")
	w.BulkString("modules")
	w.Array(0)
}

// clusterMode reports whether the node runs with cluster-enabled.
func (s *Server) clusterMode() bool { return s.Router != nil || s.Cfg.ClusterEnabled }

// cmdReset brings the connection back to a just-connected state.
func cmdReset(c *Ctx) {
	s, cl := c.S, c.C
	s.discardTransaction(cl)
	cl.DB = 0
	c.DB = s.KS.DBs[0]
	s.connDropSubscriptions(cl)
	s.connSetProto(cl, 2)
	cl.Name = ""
	cl.Authed = s.requirePass() == ""
	cl.ReadOnly = false
	cl.Asking = false
	cl.cs.replyOff = false
	cl.cs.replySkipNext = false
	c.W.Status("RESET")
}

// connDropSubscriptions unsubscribes the client from every channel,
// pattern and shard channel without notifying it (RESET).
func (s *Server) connDropSubscriptions(cl *Client) { s.unsubscribeAll(cl) }

// connSetProto switches the client's protocol, telling the Pub/Sub
// registry so that messages reach a subscriber in its new protocol.
func (s *Server) connSetProto(cl *Client, proto int) {
	cl.W.Proto = proto
	if cl.hasSubscriptions() {
		r := &s.pubsub
		r.mu.Lock()
		if st := r.subs[cl]; st != nil {
			st.proto = proto
		}
		r.mu.Unlock()
	}
}
