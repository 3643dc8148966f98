package server

import (
	"context"
	"net"
	"strconv"
	"strings"

	"github.com/redcluster/redcluster/internal/replication"
	"github.com/redcluster/redcluster/internal/resp"
)

// replClient is a connection's replication state.
type replClient struct {
	// fromMaster marks the client that applies the master's stream.
	fromMaster bool
	// woff is the replication offset after this client's last propagated
	// write: WAIT waits for replicas to acknowledge it.
	woff int64
	// conf is what the client declared with REPLCONF (a would-be replica).
	conf replication.LinkConf
	// takeover, once set by SYNC/PSYNC, makes the connection loop stop
	// processing input and hand the connection over (repl.go takeOver).
	takeover takeOver
	// opBuf holds the default propagated form of a command; execOps
	// collects what the commands of an EXEC propagate.
	opBuf   [1]replication.Op
	execOps []replication.Op
}

func replicationCommands() []*Command {
	adm := FlagAdmin | FlagNoScript
	return []*Command{
		{Name: "replicaof", Arity: 3, Flags: adm | FlagStale | FlagNoAsyncLoading, Handler: cmdReplicaOf, Group: "server", Since: "5.0.0", Categories: []string{"admin", "slow", "dangerous"}},
		{Name: "slaveof", Arity: 3, Flags: adm | FlagStale | FlagNoAsyncLoading, Handler: cmdReplicaOf, Group: "server", Since: "1.0.0", Categories: []string{"admin", "slow", "dangerous"}},
		{Name: "role", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast, Handler: cmdRole, Group: "server", Since: "2.8.12", Categories: []string{"admin", "fast", "dangerous"}},
		{Name: "sync", Arity: 1, Flags: adm | FlagNoAsyncLoading | FlagNoMulti, Handler: cmdSync, Group: "server", Since: "1.0.0", Categories: []string{"admin", "slow", "dangerous"}},
		{Name: "psync", Arity: -3, Flags: adm | FlagNoAsyncLoading | FlagNoMulti, Handler: cmdSync, Group: "server", Since: "2.8.0", Categories: []string{"admin", "slow", "dangerous"}},
		{Name: "replconf", Arity: -1, Flags: adm | FlagLoading | FlagStale | FlagAllowBusy, Handler: cmdReplconf, Group: "server", Since: "3.0.0", Categories: []string{"admin", "slow", "dangerous"}},
		{Name: "wait", Arity: 3, Flags: FlagNoScript, Handler: cmdWait, Group: "generic", Since: "3.0.0", Categories: []string{"slow", "connection"}},
	}
}

// cmdReplicaOf is REPLICAOF / SLAVEOF host port | NO ONE (replicaofCommand).
func cmdReplicaOf(c *Ctx) {
	s := c.S
	if s.clusterMode() {
		c.Error("ERR REPLICAOF not allowed in cluster mode.")
		return
	}
	if strings.EqualFold(string(c.Args[1]), "no") && strings.EqualFold(string(c.Args[2]), "one") {
		if s.IsReplica() {
			s.replicaOfNoOne()
			s.Log.Info().Msgf("MASTER MODE enabled (user request from '%s')", c.C.Addr)
		}
		c.W.OK()
		return
	}
	port, ok := resp.ParseInt(c.Args[2])
	if !ok || port < 0 || port > 65535 {
		c.Error("ERR Invalid master port")
		return
	}
	host := string(c.Args[1])
	if !s.replicaOf(host, int(port)) {
		s.Log.Info().Msg("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.")
		c.W.Status("OK Already connected to specified master")
		return
	}
	s.Log.Info().Msgf("REPLICAOF %s:%d enabled (user request from '%s')", host, port, c.C.Addr)
	c.W.OK()
}

// cmdRole is ROLE.
func cmdRole(c *Ctx) {
	s := c.S
	mi := s.repl.master.Info()
	if s.IsReplica() {
		ri := s.repl.replica.Info()
		replication.WriteRole(c.W, &mi, &ri)
		return
	}
	replication.WriteRole(c.W, &mi, nil)
}

// cmdReplconf is REPLCONF from a would-be replica.
func cmdReplconf(c *Ctx) {
	msg, noReply := c.C.rc.conf.Replconf(c.Args)
	switch {
	case msg != "":
		c.Error(msg)
	case noReply:
	default:
		c.W.OK()
	}
}

// cmdSync is SYNC and PSYNC: after the checks, the connection leaves the
// client loop and becomes a replica link served by the Master.
func cmdSync(c *Ctx) {
	s, cl := c.S, c.C
	if cl.rc.fromMaster {
		return
	}
	if cl.W.Len() > 0 {
		c.Error("ERR SYNC and PSYNC are invalid with pending output")
		return
	}
	msg, fo := s.repl.master.CheckSync(c.Args, &cl.rc.conf)
	if msg != "" {
		c.Error(msg)
		return
	}
	if fo {
		// PSYNC <our replid> <offset> FAILOVER: FAILOVER's promotion of the
		// replica that receives it (replicationSetMaster's reverse).
		s.Log.Info().Msg("Failover request received for replid " + string(c.Args[1]) + ".")
		s.replicaOfNoOne()
	}
	args := make([][]byte, len(c.Args))
	for i, a := range c.Args {
		args[i] = append([]byte(nil), a...)
	}
	conf := cl.rc.conf
	cl.rc.takeover = func(nc net.Conn, pending []byte) {
		// Serve logs how the link ended.
		_ = s.repl.master.Serve(nc, pending, conf, args)
	}
}

// cmdWait is WAIT numreplicas timeout.
func cmdWait(c *Ctx) {
	s := c.S
	if s.IsReplica() {
		c.Error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
		return
	}
	num, ok := resp.ParseInt(c.Args[1])
	if !ok {
		c.Error("ERR value is not an integer or out of range")
		return
	}
	tmo, ok := resp.ParseInt(c.Args[2])
	if !ok {
		c.Error("ERR timeout is not an integer or out of range")
		return
	}
	if tmo < 0 {
		c.Error("ERR timeout is negative")
		return
	}
	m := s.repl.master
	off := c.C.rc.woff
	n := m.AckCount(off)
	if c.C.InMulti || !c.CanBlock() || int64(n) >= num {
		c.W.Int(int64(n))
		return
	}
	// Block like BLPOP (the connection stops processing its input, CLIENT
	// UNBLOCK works, a timeout replies with the count reached then); a
	// goroutine waiting for the acknowledgements serves the wait.
	deadline := int64(0)
	if tmo > 0 {
		deadline = c.Now + tmo
	}
	c.Block(BlockOptions{Deadline: deadline, TimeoutReply: func(w *resp.Writer) { w.Int(int64(m.AckCount(off))) }})
	w := c.C.blk
	if w == nil {
		return
	}
	go s.serveWait(w, off, int(num))
}

// serveWait ends a blocked WAIT once numreplicas replicas acknowledged
// offset; a wait that ends otherwise (timeout, CLIENT UNBLOCK, the client
// gone, shutdown) stops it.
func (s *Server) serveWait(w *blockWait, offset int64, numreplicas int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-w.done:
		case <-s.closing:
		}
		cancel()
	}()
	m := s.repl.master
	n := m.WaitAcks(ctx, offset, numreplicas)
	if n < numreplicas {
		return
	}
	r := &s.blocking
	if !r.claim(w) {
		return
	}
	out := &resp.Writer{Proto: w.proto}
	out.Int(int64(n))
	w.out = out
	r.release(w, true)
}

// infoReplication is INFO's replication section.
func (s *Server) infoReplication(ib *infoBuf) {
	mi := s.repl.master.Info()
	var ri *replication.ReplicaInfo
	if s.IsReplica() {
		r := s.repl.replica.Info()
		ri = &r
	}
	s.cfgMu.RLock()
	opts := replication.InfoOptions{
		ReplicaPriority:    s.Cfg.ReplicaPriority,
		ReplicaReadOnly:    s.Cfg.ReplicaReadOnly,
		ReplicaAnnounced:   s.Cfg.ReplicaAnnounced,
		MinReplicasToWrite: s.Cfg.MinReplicasToWrite,
		MinReplicasMaxLag:  s.Cfg.MinReplicasMaxLag,
	}
	s.cfgMu.RUnlock()
	sec := replication.AppendInfo(nil, &mi, ri, opts)
	// AppendInfo writes the section title; the INFO machinery writes its own.
	if i := strings.Index(string(sec), "\r\n"); i >= 0 {
		sec = sec[i+2:]
	}
	ib.b = append(ib.b, sec...)
}

// replicaWriteRefusal is the error a write command gets on a replica
// (replica-read-only) or on a master short of good replicas
// (min-replicas-to-write), "" when it may run; processCommand's order.
func (s *Server) replicaWriteRefusal(c *Client, cmd *Command) string {
	if c.rc.fromMaster {
		return ""
	}
	s.cfgMu.RLock()
	minRepl, maxLag, ro := s.Cfg.MinReplicasToWrite, s.Cfg.MinReplicasMaxLag, s.Cfg.ReplicaReadOnly
	s.cfgMu.RUnlock()
	isReplica := s.IsReplica()
	if !isReplica && minRepl > 0 && s.repl.master.GoodReplicas(int64(maxLag)) < minRepl {
		return "NOREPLICAS Not enough good replicas to write."
	}
	if isReplica && ro {
		return "READONLY You can't write against a read only replica."
	}
	return ""
}

// replicaOfFromConfig starts replicating when redis.conf has replicaof.
func (s *Server) replicaOfFromConfig() {
	ro := strings.Fields(s.Cfg.ReplicaOf)
	if len(ro) != 2 || s.clusterMode() {
		return
	}
	port, err := strconv.Atoi(ro[1])
	if err != nil {
		return
	}
	s.replicaOf(ro[0], port)
}

// isWriteCommand is processCommand's is_write_command: a write command, or
// an EXEC whose queue holds one.
func isWriteCommand(c *Client, cmd *Command, isExec bool) bool {
	if cmd.Flags&FlagWrite != 0 {
		return true
	}
	if isExec && c.InMulti {
		for _, q := range c.Queue {
			if q.cmd.Flags&FlagWrite != 0 {
				return true
			}
		}
	}
	return false
}
