package server

import (
	"errors"
	"net"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/store"
)

func configCommands() []*Command {
	admin := FlagAdmin | FlagNoScript | FlagLoading | FlagStale
	adminCats := []string{"admin", "slow", "dangerous"}
	return []*Command{{
		Name: "config", Arity: -2, Group: "server", Since: "2.0.0", Categories: []string{"slow"},
		Summary: "A container for server configuration commands", Complexity: "Depends on subcommand.",
		Subs: map[string]*Command{
			"get": {Name: "get", Arity: -3, Flags: admin, Handler: cmdConfigGet, Categories: adminCats,
				Group: "server", Since: "2.0.0", Summary: "Get the values of configuration parameters",
				Complexity: "O(N) when N is the number of configuration parameters provided"},
			"set": {Name: "set", Arity: -4, Flags: admin, Handler: cmdConfigSet, Categories: adminCats,
				Group: "server", Since: "2.0.0", Summary: "Set configuration parameters to the given values",
				Complexity: "O(N) when N is the number of configuration parameters provided"},
			"resetstat": {Name: "resetstat", Arity: 2, Flags: admin, Handler: cmdConfigResetStat, Categories: adminCats,
				Group: "server", Since: "2.0.0", Summary: "Reset the stats returned by INFO", Complexity: "O(1)"},
			"rewrite": {Name: "rewrite", Arity: 2, Flags: admin, Handler: cmdConfigRewrite, Categories: adminCats,
				Group: "server", Since: "2.8.0", Summary: "Rewrite the configuration file with the in memory configuration",
				Complexity: "O(1)"},
			"help": {Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: cmdConfigHelp, Categories: []string{"slow"},
				Group: "server", Since: "5.0.0", Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
		},
	}}
}

// CONFIG GET parameter [parameter ...]
func cmdConfigGet(c *Ctx) {
	pats := make([]string, len(c.Args)-2)
	for i, a := range c.Args[2:] {
		pats[i] = string(a)
	}
	c.S.cfgMu.RLock()
	pairs := c.S.Cfg.Match(pats, func(p, name string) bool {
		return store.GlobMatch([]byte(p), []byte(name), true)
	})
	c.S.cfgMu.RUnlock()
	c.W.Map(len(pairs))
	for _, p := range pairs {
		c.W.BulkString(p.Name)
		c.W.BulkString(p.Value)
	}
}

// CONFIG SET parameter value [parameter value ...]
func cmdConfigSet(c *Ctx) {
	if len(c.Args)%2 != 0 {
		c.Error("ERR syntax error")
		return
	}
	pairs := make([]string, len(c.Args)-2)
	for i, a := range c.Args[2:] {
		pairs[i] = string(a)
	}
	s := c.S
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	res, err := s.Cfg.SetMany(pairs, cfgIsLocalAddr(c.C.Addr))
	if err != nil {
		c.Error("ERR " + err.Error())
		return
	}
	if err := s.applyConfig(res); err != nil {
		c.Error("ERR " + err.Error())
		return
	}
	c.W.OK()
}

// applyConfig makes changed options take effect; on failure it restores
// the previous values (and listeners) and returns the CONFIG SET error.
// The caller holds cfgMu for writing.
func (s *Server) applyConfig(res *config.SetResult) error {
	defer s.refreshEncodingLimits()
	defer s.refreshOutputLimits()
	defer s.refreshReplSettings()
	s.protoMaxBulkLen.Store(s.Cfg.ProtoMaxBulkLen)
	s.queryBufLimit.Store(s.Cfg.ClientQueryBufferLimit)
	for _, name := range res.Changed {
		if name != "port" && name != "bind" {
			continue
		}
		// one rebind covers both port and bind
		bindChanged := cfgContains(res.Changed, "bind")
		if err := s.relisten(bindChanged); err != nil {
			s.Log.Warn().Err(err).Msg("Failed applying new configuration. Restoring previous settings.")
			res.Undo()
			s.protoMaxBulkLen.Store(s.Cfg.ProtoMaxBulkLen)
			s.queryBufLimit.Store(s.Cfg.ClientQueryBufferLimit)
			if bindChanged {
				if err := s.relisten(true); err != nil {
					s.Log.Warn().Err(err).Msg("Failed restoring the previous listening sockets")
				}
			}
			if name == "port" {
				return config.SetFailed("port", "Unable to listen on this port. Check server logs.")
			}
			return config.SetFailed("bind", "Failed to bind to specified addresses.")
		}
		break
	}
	return nil
}

// refreshOutputLimits publishes the pubsub client-output-buffer-limit
// that Client.Deliver enforces. The caller holds cfgMu (or owns s alone).
func (s *Server) refreshOutputLimits() {
	lim := s.Cfg.ClientOutputBufferLimit[2]
	s.pubsubOutLimit.Store(&lim)
}

func cfgContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// relisten opens listeners for the configured port and bind addresses and
// serves them. With closeFirst the old listeners are closed before (needed
// when the same port moves to other addresses); otherwise they are closed
// only once the new ones are up, and kept on failure.
func (s *Server) relisten(closeFirst bool) error {
	old := s.listeners
	if closeFirst {
		for _, ln := range old {
			ln.Close()
		}
	}
	s.listeners = nil
	if err := s.Listen(); err != nil {
		s.listeners = nil
		if !closeFirst {
			s.listeners = old
		}
		return err
	}
	if !closeFirst {
		for _, ln := range old {
			ln.Close()
		}
	}
	for _, ln := range s.listeners {
		s.wg.Add(1)
		go s.acceptOn(ln)
	}
	return nil
}

// acceptOn accepts connections on a listener opened by CONFIG SET port or
// bind, like Serve's loops.
func (s *Server) acceptOn(ln net.Listener) {
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-s.closing:
				return
			default:
			}
			var ne net.Error
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.Log.Warn().Err(err).Msg("accept")
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.Stats.Connections.Add(1)
		s.wg.Add(1) // before the goroutine starts, so Close's Wait sees it
		go s.serveConn(nc)
	}
}

// cfgIsLocalAddr tells whether a client address is on the loopback (for
// enable-protected-configs local).
func cfgIsLocalAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr == "" || strings.HasPrefix(addr, "/") // unix socket
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CONFIG RESETSTAT
func cmdConfigResetStat(c *Ctx) {
	c.S.ResetStats()
	c.W.OK()
}

// ResetStats zeroes the INFO stats counters, as CONFIG RESETSTAT: every
// atomic counter of Stats except Dirty (rdb_changes_since_last_save).
func (s *Server) ResetStats() {
	s.ResetInfoStats()
	v := reflect.ValueOf(&s.Stats).Elem()
	t := v.Type()
	for i := 0; i < v.NumField(); i++ {
		if t.Field(i).Name == "Dirty" {
			continue
		}
		if ctr, ok := v.Field(i).Addr().Interface().(*atomic.Int64); ok {
			ctr.Store(0)
		}
	}
}

// CONFIG REWRITE
func cmdConfigRewrite(c *Ctx) {
	s := c.S
	s.cfgMu.RLock()
	file := s.Cfg.ConfigFile
	var err error
	if file != "" {
		err = s.Cfg.Rewrite()
	}
	s.cfgMu.RUnlock()
	if file == "" {
		c.Error("ERR The server is running without a config file")
		return
	}
	if err != nil {
		s.Log.Warn().Msg("CONFIG REWRITE failed: " + err.Error())
		c.Error("ERR Rewriting config file: " + err.Error())
		return
	}
	s.Log.Warn().Msg("CONFIG REWRITE executed with success.")
	c.W.OK()
}

var configHelp = []string{
	"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET <pattern>",
	"    Return parameters matching the glob-like <pattern> and their values.",
	"SET <directive> <value>",
	"    Set the configuration <directive> to <value>.",
	"RESETSTAT",
	"    Reset statistics reported by the INFO command.",
	"REWRITE",
	"    Rewrite the configuration file.",
	"HELP",
	"    Prints this help.",
}

// CONFIG HELP
func cmdConfigHelp(c *Ctx) {
	c.W.Array(len(configHelp))
	for _, l := range configHelp {
		c.W.Status(l)
	}
}

// CommandTable returns a fresh command table, for checking rename-command
// lines before the server exists.
func CommandTable() Table { return buildTable() }

// RenameCommands applies rename-command directives to the command table
// (to "" removes the command). Call it before Serve.
func (s *Server) RenameCommands(renames []config.RenameCommand) {
	for _, r := range renames {
		from := strings.ToLower(r.From)
		cmd := s.Cmds[from]
		if cmd == nil {
			continue
		}
		delete(s.Cmds, from)
		if r.To != "" {
			s.Cmds[strings.ToLower(r.To)] = cmd
		}
	}
}
