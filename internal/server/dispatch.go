package server

import (
	"strings"

	"github.com/redcluster/redcluster/internal/resp"
)

// Router decides whether this node serves a command's slot (cluster mode).
// It returns "" to run the command here, or the error to reply with
// (MOVED, ASK, CROSSSLOT, CLUSTERDOWN ...).
type Router interface {
	Route(c *Client, cmd *Command, slots []int, crossSlot bool) string
}

// dispatch runs one request the way Redis 7.0's processCommand does.
func (s *Server) dispatch(c *Client, args [][]byte) {
	s.Stats.Commands.Add(1)
	now := c.batchNow
	if now == 0 {
		now = nowMs()
	}
	c.lastIO.Store(now)
	cmd := s.Cmds.Lookup(args[0])
	if cmd == nil {
		s.rejectInMulti(c, unknownCommandError(args))
		return
	}
	if cmd.Subs != nil && len(args) >= 2 {
		sub := cmd.Subs[strings.ToLower(string(args[1]))]
		if sub == nil {
			s.rejectInMulti(c, "ERR unknown subcommand '"+truncate(string(args[1]), 128)+"'. Try "+strings.ToUpper(cmd.Name)+" HELP.")
			return
		}
		cmd = sub
	}
	c.cs.lastCmd.Store(cmd) // CLIENT LIST cmd=, set at lookup as in Redis
	isExec := cmd.Handler != nil && cmd.Name == "exec" && cmd.Parent == nil
	if (cmd.Arity > 0 && cmd.Arity != len(args)) || len(args) < -cmd.Arity {
		s.reject(c, isExec, "ERR wrong number of arguments for '"+cmd.FullName()+"' command")
		return
	}
	if !c.Authed && cmd.Flags&FlagNoAuth == 0 {
		s.reject(c, isExec, resp.ErrNoAuth)
		return
	}
	if c.InMulti && cmd.Flags&FlagNoMulti != 0 {
		s.rejectInMulti(c, "ERR Command not allowed inside a transaction")
		return
	}
	slotList, cross := keySlots(cmd, args, c.posBuf[:], c.slotBuf[:])
	if r := s.router(); r != nil && (len(slotList) > 0 || isExec) {
		// EXEC is routed on its queued keys, but locks none itself here
		// (cmdExec takes the locks), so keep those slots out of slotList.
		routeSlots, routeCross := slotList, cross
		if isExec && c.InMulti {
			routeSlots, routeCross = s.execSlots(c)
		}
		c.routeArgs = args
		if e := r.Route(c, cmd, routeSlots, routeCross); e != "" {
			if isExec {
				s.discardTransaction(c)
				c.W.Error(e)
				return
			}
			s.rejectInMulti(c, e)
			return
		}
	}
	if rejectOnOOM(c, cmd, isExec) && !s.memoryOK(c) {
		s.reject(c, isExec, resp.ErrOOM)
		return
	}
	if s.persist.bgsaveFailed.Load() && !c.rc.fromMaster && (isWriteCommand(c, cmd, isExec) || (cmd.Name == "ping" && cmd.Parent == nil)) {
		if e := s.diskErrorRefusal(); e != "" {
			s.reject(c, isExec, e)
			return
		}
	}
	if (s.repl.minReplicas.Load() > 0 || s.repl.isReplica.Load()) && isWriteCommand(c, cmd, isExec) {
		if e := s.replicaWriteRefusal(c, cmd); e != "" {
			s.reject(c, isExec, e)
			return
		}
	}
	if c.hasSubscriptions() && c.W.Proto == 2 && !allowedInSubscribedContext(cmd) {
		s.reject(c, isExec, "ERR Can't execute '"+cmd.FullName()+"': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return
	}
	if s.repl.denyStale.Load() && s.repl.isReplica.Load() && cmd.Flags&FlagStale == 0 && !c.rc.fromMaster && !s.repl.replica.Info().LinkUp {
		s.reject(c, isExec, "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
		return
	}
	if c.InMulti && !isMultiControl(cmd) {
		// Like Redis, a transaction that EXEC will refuse anyway keeps no
		// more commands (a pipelined client may send many after an error).
		if !c.MultiDirty && !c.WatchDirty.Load() {
			q := queuedCmd{cmd: cmd, args: make([][]byte, len(args))}
			for i, a := range args {
				q.args[i] = append([]byte(nil), a...)
			}
			c.Queue = append(c.Queue, q)
		}
		c.W.Status("QUEUED")
		return
	}
	s.call(c, cmd, args, slotList, now)
}

// call runs a command's handler with the locks of its key slots held. The
// Ctx lives in the client and is reused, so a command costs no allocation;
// no handler may keep the *Ctx after it returns.
func (s *Server) call(c *Client, cmd *Command, args [][]byte, slotList []int, now int64) {
	ctx := &c.ctx
	*ctx = Ctx{S: s, C: c, Cmd: cmd, Args: args, W: c.W, DB: s.KS.DBs[c.DB], Now: now, master: c.rc.fromMaster}
	if len(slotList) == 1 && cmd.Keys == nil && cmd.FirstKey > 0 && cmd.FirstKey < len(args) {
		ctx.key1, ctx.slot1 = args[cmd.FirstKey], slotList[0]
	}
	switch {
	case len(slotList) > 0:
		s.KS.LockSlots(slotList)
		ctx.locked = true
		ctx.feeding = s.feedingNow()
		cmd.Handler(ctx)
		if ctx.Dirty > 0 || ctx.propSet {
			s.propagate(ctx)
		}
		s.KS.UnlockSlots(slotList)
	case cmd.Flags&(FlagWrite|flagAllSlots) == FlagWrite|flagAllSlots:
		// FLUSHALL, FLUSHDB, SWAPDB: every lock is held until the command
		// is in the stream, so no write can come between.
		s.KS.LockAll()
		ctx.allLocked = true
		ctx.feeding = s.feedingNow()
		cmd.Handler(ctx)
		if ctx.Dirty > 0 || ctx.propSet {
			s.propagate(ctx)
		}
		s.KS.UnlockAll()
	default:
		ctx.feeding = s.feedingNow()
		cmd.Handler(ctx)
		if ctx.Dirty > 0 || ctx.propSet {
			s.propagate(ctx)
		}
	}
	c.LastCmd = cmd.FullName()
	if ctx.Dirty > 0 {
		s.Stats.Dirty.Add(int64(ctx.Dirty))
	}
	s.afterCommand(ctx)
	ctx.Args = nil
}

func isMultiControl(cmd *Command) bool {
	if cmd.Parent != nil {
		return false
	}
	switch cmd.Name {
	case "exec", "discard", "multi", "watch", "quit", "reset":
		return true
	}
	return false
}

func allowedInSubscribedContext(cmd *Command) bool {
	if cmd.Parent != nil {
		return false
	}
	switch cmd.Name {
	case "ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
		"psubscribe", "punsubscribe", "quit", "reset":
		return true
	}
	return false
}

// rejectOnOOM reports whether the command is refused when used memory is
// over maxmemory (Redis 7.0's processCommand): denyoom commands, an EXEC
// whose queue holds one, and inside MULTI every command but EXEC, DISCARD,
// QUIT and RESET (queueing would grow memory without bound).
func rejectOnOOM(c *Client, cmd *Command, isExec bool) bool {
	if cmd.Flags&FlagDenyOOM != 0 {
		return true
	}
	if !c.InMulti {
		return false
	}
	if isExec {
		for _, q := range c.Queue {
			if q.cmd.Flags&FlagDenyOOM != 0 {
				return true
			}
		}
		return false
	}
	if cmd.Parent == nil {
		switch cmd.Name {
		case "discard", "quit", "reset":
			return false
		}
	}
	return true
}

// reject refuses a request before it runs, as Redis's rejectCommand: the
// error flags an open transaction, and a refused EXEC discards the
// transaction and answers "EXECABORT Transaction discarded because of:
// <reason>" (the reason without its ERR code), even outside MULTI.
func (s *Server) reject(c *Client, isExec bool, msg string) {
	if !isExec {
		s.rejectInMulti(c, msg)
		return
	}
	s.discardTransaction(c)
	c.W.Error("EXECABORT Transaction discarded because of: " + strings.TrimPrefix(msg, "ERR "))
}

// rejectInMulti replies with an error and, inside MULTI, marks the
// transaction so that EXEC answers EXECABORT.
func (s *Server) rejectInMulti(c *Client, msg string) {
	if c.InMulti {
		c.MultiDirty = true
	}
	c.W.Error(msg)
}

func unknownCommandError(args [][]byte) string {
	var b strings.Builder
	for _, a := range args[1:] {
		if b.Len() >= 128 {
			break
		}
		b.WriteByte('\'')
		b.WriteString(truncate(string(a), 128-b.Len()))
		b.WriteString("' ")
	}
	return "ERR unknown command '" + truncate(string(args[0]), 128) + "', with args beginning with: " + b.String()
}

func truncate(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) > n {
		return s[:n]
	}
	return s
}

// router returns the cluster router, nil in standalone mode.
func (s *Server) router() Router { return s.Router }
