package server

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redcluster/redcluster/internal/resp"
)

// Client types of CLIENT LIST TYPE and CLIENT KILL TYPE.
const (
	clientTypeNormal = iota
	clientTypeReplica
	clientTypePubSub
	clientTypeMaster
)

func clientTypeByName(name string) int {
	switch strings.ToLower(name) {
	case "normal":
		return clientTypeNormal
	case "slave", "replica":
		return clientTypeReplica
	case "pubsub":
		return clientTypePubSub
	case "master":
		return clientTypeMaster
	}
	return -1
}

// clientType classifies a connection from its published state.
func clientType(p *connPub) int {
	if p.replica {
		return clientTypeReplica
	}
	if p.sub+p.psub+p.ssub > 0 {
		return clientTypePubSub
	}
	return clientTypeNormal
}

var clientHelp = []string{
	"CACHING (YES|NO)",
	"    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
	"GETREDIR",
	"    Return the client ID we are redirecting to when tracking is enabled.",
	"GETNAME",
	"    Return the name of the current connection.",
	"ID",
	"    Return the ID of the current connection.",
	"INFO",
	"    Return information about the current client connection.",
	"KILL <ip:port>",
	"    Kill connection made from <ip:port>.",
	"KILL <option> <value> [<option> <value> [...]]",
	"    Kill connections. Options are:",
	"    * ADDR (<ip:port>|<unixsocket>:0)",
	"      Kill connections made from the specified address",
	"    * LADDR (<ip:port>|<unixsocket>:0)",
	"      Kill connections made to specified local address",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Kill connections by type.",
	"    * USER <username>",
	"      Kill connections authenticated by <username>.",
	"    * SKIPME (YES|NO)",
	"      Skip killing current connection (default: yes).",
	"LIST [options ...]",
	"    Return information about client connections. Options:",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Return clients of specified type.",
	"UNPAUSE",
	"    Stop the current client pause, resuming traffic.",
	"PAUSE <timeout> [WRITE|ALL]",
	"    Suspend all, or just write, clients for <timeout> milliseconds.",
	"REPLY (ON|OFF|SKIP)",
	"    Control the replies sent to the current connection.",
	"SETNAME <name>",
	"    Assign the name <name> to the current connection.",
	"UNBLOCK <clientid> [TIMEOUT|ERROR]",
	"    Unblock the specified blocked client.",
	"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
	"         [OPTIN] [OPTOUT] [NOLOOP]",
	"    Control server assisted client side caching.",
	"TRACKINGINFO",
	"    Report tracking status for the current connection.",
	"NO-EVICT (ON|OFF)",
	"    Protect current client connection from eviction.",
}

// writeHelpReply writes a HELP reply the way Redis's addReplyHelp does.
func writeHelpReply(c *Ctx, lines []string) {
	c.W.Array(len(lines) + 3)
	c.W.Status(strings.ToUpper(string(c.Args[0])) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		c.W.Status(l)
	}
	c.W.Status("HELP")
	c.W.Status("    Prints this help.")
}

func cmdClientHelp(c *Ctx) { writeHelpReply(c, clientHelp) }

func cmdClientID(c *Ctx) { c.W.Int(c.C.ID) }

func cmdClientGetName(c *Ctx) {
	if c.C.Name == "" {
		c.W.Null()
		return
	}
	c.W.BulkString(c.C.Name)
}

func cmdClientSetName(c *Ctx) {
	if setClientName(c, c.Args[2]) {
		c.W.OK()
	}
}

func cmdClientInfo(c *Ctx) {
	c.C.publishConn()
	b := c.S.appendClientInfo(nil, c.C, c, time.Now().Unix())
	b = append(b, '\n')
	c.W.Verbatim(string(b), "txt")
}

func cmdClientList(c *Ctx) {
	typ := -1
	var ids []int64
	switch {
	case len(c.Args) == 4 && strings.EqualFold(string(c.Args[2]), "type"):
		typ = clientTypeByName(string(c.Args[3]))
		if typ < 0 {
			c.Error("ERR Unknown client type '" + string(c.Args[3]) + "'")
			return
		}
	case len(c.Args) > 3 && strings.EqualFold(string(c.Args[2]), "id"):
		for _, a := range c.Args[3:] {
			id, ok := resp.ParseInt(a)
			if !ok {
				c.Error("ERR Invalid client ID")
				return
			}
			ids = append(ids, id)
		}
	case len(c.Args) != 2:
		c.Error(resp.ErrSyntax)
		return
	}
	c.C.publishConn()
	now := time.Now().Unix()
	var b []byte
	if ids != nil {
		byID := map[int64]*Client{}
		for _, cl := range c.S.liveClients() {
			byID[cl.ID] = cl
		}
		for _, id := range ids {
			if cl := byID[id]; cl != nil {
				b = c.S.appendClientInfo(b, cl, c, now)
				b = append(b, '\n')
			}
		}
	} else {
		for _, cl := range c.S.liveClients() {
			if typ >= 0 {
				p := cl.readPub()
				if clientType(&p) != typ {
					continue
				}
			}
			b = c.S.appendClientInfo(b, cl, c, now)
			b = append(b, '\n')
		}
	}
	c.W.Verbatim(string(b), "txt")
}

// liveClients returns the connected clients not being killed, by ID.
func (s *Server) liveClients() []*Client {
	all := s.Clients()
	out := all[:0]
	for _, cl := range all {
		if !cl.killed.Load() {
			out = append(out, cl)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// socketFD returns the connection's file descriptor (cached), or a
// plausible number when it cannot be known.
func (cl *Client) socketFD() int {
	if fd := cl.cs.fd.Load(); fd != 0 {
		return int(fd)
	}
	fd := int32(-1)
	if sc, ok := cl.nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			_ = rc.Control(func(f uintptr) { fd = int32(f) })
		}
	}
	if fd <= 0 {
		fd = int32(8 + cl.ID%1000)
	}
	cl.cs.fd.Store(fd)
	return int(fd)
}

// appendClientInfo appends one CLIENT LIST line (Redis 7.0's format) for
// cl, as seen by the command self runs.
func (s *Server) appendClientInfo(b []byte, cl *Client, self *Ctx, now int64) []byte {
	p := cl.readPub()
	flags := make([]byte, 0, 8)
	if p.replica {
		flags = append(flags, 'S')
	}
	if p.sub+p.psub+p.ssub > 0 {
		flags = append(flags, 'P')
	}
	if p.multi >= 0 {
		flags = append(flags, 'x')
	}
	if s.connIsBlocked(cl) {
		flags = append(flags, 'b')
	}
	if cl.WatchDirty.Load() {
		flags = append(flags, 'd')
	}
	if cl.killed.Load() {
		flags = append(flags, 'A')
	}
	if p.readOnly {
		flags = append(flags, 'r')
	}
	if p.noEvict {
		flags = append(flags, 'e')
	}
	if len(flags) == 0 {
		flags = append(flags, 'N')
	}
	qbuf, qfree, argvMem := 0, 20474, 0
	cmd := "NULL"
	if lc := cl.cs.lastCmd.Load(); lc != nil {
		cmd = lc.FullName()
	}
	if cl == self.C {
		qbuf = cl.cs.qbuf
		qfree = max(20474-qbuf, 0)
		for _, a := range self.Args {
			argvMem += len(a)
		}
		cmd = self.Cmd.FullName()
	}
	const rbs = 16384
	totMem := 1120 + qbuf + qfree + rbs + argvMem + p.multiMem
	idle := now - cl.lastIO.Load()/1000
	if idle < 0 {
		idle = 0
	}
	age := now - cl.Created.Unix()
	if age < 0 {
		age = 0
	}
	b = append(b, "id="...)
	b = strconv.AppendInt(b, cl.ID, 10)
	b = append(b, " addr="...)
	b = append(b, cl.Addr...)
	b = append(b, " laddr="...)
	b = append(b, cl.LAddr...)
	b = append(b, " fd="...)
	b = strconv.AppendInt(b, int64(cl.socketFD()), 10)
	b = append(b, " name="...)
	b = append(b, p.name...)
	b = appendKV(b, " age=", age)
	b = appendKV(b, " idle=", idle)
	b = append(b, " flags="...)
	b = append(b, flags...)
	b = appendKV(b, " db=", int64(p.db))
	b = appendKV(b, " sub=", int64(p.sub))
	b = appendKV(b, " psub=", int64(p.psub))
	b = appendKV(b, " ssub=", int64(p.ssub))
	b = appendKV(b, " multi=", int64(p.multi))
	b = appendKV(b, " qbuf=", int64(qbuf))
	b = appendKV(b, " qbuf-free=", int64(qfree))
	b = appendKV(b, " argv-mem=", int64(argvMem))
	b = appendKV(b, " multi-mem=", int64(p.multiMem))
	b = appendKV(b, " rbs=", rbs)
	b = appendKV(b, " rbp=", rbs)
	b = append(b, " obl=0 oll=0 omem=0"...)
	b = appendKV(b, " tot-mem=", int64(totMem))
	b = append(b, " events=r cmd="...)
	b = append(b, cmd...)
	b = append(b, " user=default redir=-1"...)
	b = appendKV(b, " resp=", int64(p.resp))
	return b
}

func appendKV(b []byte, k string, v int64) []byte {
	b = append(b, k...)
	return strconv.AppendInt(b, v, 10)
}

// connIsBlocked reports whether cl waits in a blocking command.
func (s *Server) connIsBlocked(cl *Client) bool {
	if s.BlockedClients() == 0 {
		return false
	}
	r := &s.blocking
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byClient[cl.ID] != nil
}

func cmdClientKill(c *Ctx) {
	var addr, laddr string
	var hasAddr, hasLAddr bool
	typ := -1
	id := int64(0)
	skipMe := true
	if len(c.Args) == 3 {
		addr, hasAddr = string(c.Args[2]), true
		skipMe = false
	} else {
		for i := 2; i < len(c.Args); i += 2 {
			if i+1 >= len(c.Args) {
				c.Error(resp.ErrSyntax)
				return
			}
			opt, val := strings.ToLower(string(c.Args[i])), string(c.Args[i+1])
			switch opt {
			case "id":
				n, ok := resp.ParseInt(c.Args[i+1])
				if !ok || n < 1 {
					c.Error("ERR client-id should be greater than 0")
					return
				}
				id = n
			case "type":
				typ = clientTypeByName(val)
				if typ < 0 {
					c.Error("ERR Unknown client type '" + val + "'")
					return
				}
			case "addr":
				addr, hasAddr = val, true
			case "laddr":
				laddr, hasLAddr = val, true
			case "user":
				if val != "default" {
					c.Error("ERR No such user '" + val + "'")
					return
				}
			case "skipme":
				switch strings.ToLower(val) {
				case "yes":
					skipMe = true
				case "no":
					skipMe = false
				default:
					c.Error(resp.ErrSyntax)
					return
				}
			default:
				c.Error(resp.ErrSyntax)
				return
			}
		}
	}
	c.C.publishConn()
	killed := 0
	closeSelf := false
	for _, cl := range c.S.liveClients() {
		if hasAddr && cl.Addr != addr {
			continue
		}
		if hasLAddr && cl.LAddr != laddr {
			continue
		}
		if typ >= 0 {
			p := cl.readPub()
			if clientType(&p) != typ {
				continue
			}
		}
		if id != 0 && cl.ID != id {
			continue
		}
		if cl == c.C && skipMe {
			continue
		}
		if cl == c.C {
			closeSelf = true
		} else {
			cl.Kill()
		}
		killed++
	}
	if len(c.Args) == 3 {
		if killed == 0 {
			c.Error("ERR No such client")
		} else {
			c.W.OK()
		}
	} else {
		c.W.Int(int64(killed))
	}
	if closeSelf {
		c.C.closing = true
	}
}

func cmdClientNoEvict(c *Ctx) {
	switch strings.ToLower(string(c.Args[2])) {
	case "on":
		c.C.NoEvict = true
	case "off":
		c.C.NoEvict = false
	default:
		c.Error(resp.ErrSyntax)
		return
	}
	c.W.OK()
}

func cmdClientReply(c *Ctx) {
	cs := &c.C.cs
	switch strings.ToLower(string(c.Args[2])) {
	case "on":
		cs.replyOff = false
		cs.replySkipNext = false
		c.W.OK()
	case "off":
		cs.replyOff = true
	case "skip":
		if !cs.replyOff {
			cs.replySkipNext = true
		}
	default:
		c.Error(resp.ErrSyntax)
	}
}

func cmdClientUnblock(c *Ctx) {
	if len(c.Args) > 4 {
		subcommandSyntaxError(c)
		return
	}
	withErr := false
	if len(c.Args) == 4 {
		switch strings.ToLower(string(c.Args[3])) {
		case "timeout":
		case "error":
			withErr = true
		default:
			c.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	}
	id, ok := resp.ParseInt(c.Args[2])
	if !ok {
		c.Error(resp.ErrNotInteger)
		return
	}
	if c.S.UnblockClient(id, withErr) {
		c.W.Int(1)
	} else {
		c.W.Int(0)
	}
}

func cmdClientPause(c *Ctx) {
	if len(c.Args) > 4 {
		subcommandSyntaxError(c)
		return
	}
	mode := pauseAll
	if len(c.Args) == 4 {
		switch strings.ToLower(string(c.Args[3])) {
		case "write":
			mode = pauseWrite
		case "all":
		default:
			c.Error("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	}
	ms, ok := resp.ParseInt(c.Args[2])
	if !ok {
		c.Error("ERR timeout is not an integer or out of range")
		return
	}
	if ms < 0 {
		c.Error("ERR timeout is negative")
		return
	}
	end := int64(0)
	if ms > 0 {
		end = nowMs() + ms
	}
	c.S.pauseClients(mode, end)
	c.W.OK()
}

func cmdClientUnpause(c *Ctx) {
	c.S.unpauseClients()
	c.W.OK()
}

// Client tracking (server-assisted client-side caching) is not supported:
// CLIENT TRACKING OFF is accepted, ON is refused.
func cmdClientTracking(c *Ctx) {
	switch strings.ToLower(string(c.Args[2])) {
	case "off":
		c.W.OK()
	case "on":
		c.Error("ERR client tracking is not supported by this server")
	default:
		c.Error(resp.ErrSyntax)
	}
}

func cmdClientCaching(c *Ctx) {
	c.Error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
}

func cmdClientGetRedir(c *Ctx) { c.W.Int(-1) }

func cmdClientTrackingInfo(c *Ctx) {
	w := c.W
	w.Map(3)
	w.BulkString("flags")
	w.Set(1)
	w.BulkString("off")
	w.BulkString("redirect")
	w.Int(-1)
	w.BulkString("prefixes")
	w.Array(0)
}

// CLIENT PAUSE modes.
const (
	pauseOff = iota
	pauseWrite
	pauseAll
)

// pauseState is the CLIENT PAUSE in force: commands of the paused kind
// wait in connBeforeDispatch until end (unix ms) or CLIENT UNPAUSE.
type pauseState struct {
	active  atomic.Bool // fast check on every request
	waiting atomic.Int64

	mu   sync.Mutex
	mode int
	end  int64
	wake chan struct{} // closed when the pause changes
}

// pauseClients starts or extends a pause (the stronger mode and the later
// end win, as in Redis).
func (s *Server) pauseClients(mode int, end int64) {
	p := &s.ext.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != pauseOff && nowMs() < p.end {
		mode = max(mode, p.mode)
		end = max(end, p.end)
	}
	if end <= nowMs() {
		p.setLocked(pauseOff, 0)
		return
	}
	p.setLocked(mode, end)
}

// unpauseClients ends the pause (CLIENT UNPAUSE).
func (s *Server) unpauseClients() {
	p := &s.ext.pause
	p.mu.Lock()
	p.setLocked(pauseOff, 0)
	p.mu.Unlock()
}

func (p *pauseState) setLocked(mode int, end int64) {
	p.mode, p.end = mode, end
	if p.wake != nil {
		close(p.wake)
	}
	p.wake = make(chan struct{})
	p.active.Store(mode != pauseOff)
}

// WritesPaused reports whether a CLIENT PAUSE holds back writes (active
// expiry and eviction pause with it, as in Redis).
func (s *Server) WritesPaused() bool {
	p := &s.ext.pause
	if !p.active.Load() {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode != pauseOff && nowMs() < p.end
}

// waitPause holds the request back while the pause applies to it.
func (s *Server) waitPause(c *Client, args [][]byte) {
	p := &s.ext.pause
	counted := false
	defer func() {
		if counted {
			p.waiting.Add(-1)
		}
	}()
	for {
		p.mu.Lock()
		mode, end, wake := p.mode, p.end, p.wake
		now := nowMs()
		if mode != pauseOff && now >= end {
			p.setLocked(pauseOff, 0)
			mode = pauseOff
		}
		p.mu.Unlock()
		if mode == pauseOff || (mode == pauseWrite && !s.mayReplicate(c, args)) {
			return
		}
		if !counted {
			counted = true
			p.waiting.Add(1)
		}
		t := time.NewTimer(time.Duration(end-now) * time.Millisecond)
		select {
		case <-wake:
		case <-t.C:
		case <-s.closing:
			t.Stop()
			return
		}
		t.Stop()
	}
}

// mayReplicate reports whether a request writes (or may propagate), which
// CLIENT PAUSE WRITE holds back; EXEC counts when it would run a write.
func (s *Server) mayReplicate(c *Client, args [][]byte) bool {
	cmd := s.Cmds.Lookup(args[0])
	if cmd == nil {
		return false
	}
	if cmd.Subs != nil && len(args) >= 2 {
		if sub := cmd.Subs[strings.ToLower(string(args[1]))]; sub != nil {
			cmd = sub
		}
	}
	const w = FlagWrite | FlagMayReplicate
	if cmd.Flags&w != 0 {
		return true
	}
	if cmd.Parent == nil && cmd.Name == "exec" && c.InMulti {
		for _, q := range c.Queue {
			if q.cmd.Flags&w != 0 {
				return true
			}
		}
	}
	return false
}
