package server

import (
	"github.com/redcluster/redcluster/internal/fsutil"

	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/redcluster/redcluster/internal/cluster"
	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/store"
)

const errClusterDisabled = "ERR This instance has cluster support disabled"

func clusterCommands() []*Command {
	admin := FlagAdmin | FlagStale | FlagNoAsyncLoading
	adminCats := []string{"admin", "slow", "dangerous"}
	slow := []string{"slow"}
	sub := func(name string, arity int, flags Flag, h func(*Ctx), since string, cats []string, summary, complexity string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, Handler: h, Group: "cluster", Since: since,
			Categories: cats, Summary: summary, Complexity: complexity}
	}
	subs := []*Command{
		sub("addslots", -3, admin, cmdClusterAddSlots, "3.0.0", adminCats, "Assign new hash slots to receiving node",
			"O(N) where N is the total number of hash slot arguments"),
		sub("addslotsrange", -4, admin, cmdClusterAddSlotsRange, "7.0.0", adminCats, "Assign new hash slots to receiving node",
			"O(N) where N is the total number of the slots between the start slot and end slot arguments."),
		sub("bumpepoch", 2, admin, cmdClusterBumpEpoch, "3.0.0", adminCats, "Advance the cluster config epoch", "O(1)"),
		sub("count-failure-reports", 3, FlagAdmin|FlagStale, cmdClusterCountFailureReports, "3.0.0", adminCats,
			"Return the number of failure reports active for a given node", "O(N) where N is the number of failure reports"),
		sub("countkeysinslot", 3, FlagStale|flagAllSlots, cmdClusterCountKeysInSlot, "3.0.0", slow,
			"Return the number of local keys in the specified hash slot", "O(1)"),
		sub("delslots", -3, admin, cmdClusterDelSlots, "3.0.0", adminCats, "Set hash slots as unbound in receiving node",
			"O(N) where N is the total number of hash slot arguments"),
		sub("delslotsrange", -4, admin, cmdClusterDelSlotsRange, "7.0.0", adminCats, "Set hash slots as unbound in receiving node",
			"O(N) where N is the total number of the slots between the start slot and end slot arguments."),
		sub("failover", -2, admin, cmdClusterFailover, "3.0.0", adminCats, "Forces a replica to perform a manual failover of its master.", "O(1)"),
		sub("flushslots", 2, admin, cmdClusterFlushSlots, "3.0.0", adminCats, "Delete a node's own slots information", "O(1)"),
		sub("forget", 3, admin, cmdClusterForget, "3.0.0", adminCats, "Remove a node from the nodes table", "O(1)"),
		sub("getkeysinslot", 4, FlagStale|flagAllSlots, cmdClusterGetKeysInSlot, "3.0.0", slow,
			"Return local key names in the specified hash slot", "O(log(N)) where N is the number of requested keys"),
		sub("help", 2, FlagLoading|FlagStale, cmdClusterHelp, "5.0.0", slow, "Show helpful text about the different subcommands", "O(1)"),
		sub("info", 2, FlagStale, cmdClusterInfo, "3.0.0", slow, "Provides info about Redis Cluster node state", "O(1)"),
		sub("keyslot", 3, FlagStale, cmdClusterKeySlot, "3.0.0", slow, "Returns the hash slot of the specified key",
			"O(N) where N is the number of bytes in the key"),
		sub("links", 2, FlagStale, cmdClusterLinks, "7.0.0", slow, "Returns a list of all TCP links to and from peer nodes in cluster",
			"O(N) where N is the total number of Cluster nodes"),
		sub("meet", -4, admin, cmdClusterMeet, "3.0.0", adminCats, "Force a node cluster to handshake with another node", "O(1)"),
		sub("myid", 2, FlagStale, cmdClusterMyID, "3.0.0", slow, "Return the node id", "O(1)"),
		sub("nodes", 2, FlagStale, cmdClusterNodes, "3.0.0", slow, "Get Cluster config for the node",
			"O(N) where N is the total number of Cluster nodes"),
		sub("replicas", 3, FlagAdmin|FlagStale, cmdClusterReplicas, "5.0.0", adminCats, "List replica nodes of the specified master node", "O(1)"),
		sub("replicate", 3, admin, cmdClusterReplicate, "3.0.0", adminCats, "Reconfigure a node as a replica of the specified master node", "O(1)"),
		sub("reset", -2, FlagAdmin|FlagNoScript|FlagStale, cmdClusterReset, "3.0.0", adminCats, "Reset a Redis Cluster node",
			"O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect."),
		sub("saveconfig", 2, admin, cmdClusterSaveConfig, "3.0.0", adminCats, "Forces the node to save cluster state on disk", "O(1)"),
		sub("set-config-epoch", 3, admin, cmdClusterSetConfigEpoch, "3.0.0", adminCats, "Set the configuration epoch in a new node", "O(1)"),
		// flagAllSlots: its handler locks the slot it counts keys of, so
		// inside EXEC it needs every lock held rather than a subset.
		sub("setslot", -4, admin|flagAllSlots, cmdClusterSetSlot, "3.0.0", adminCats, "Bind a hash slot to a specific node", "O(1)"),
		sub("shards", 2, FlagStale, cmdClusterShards, "7.0.0", slow, "Get array of cluster slots to node mappings",
			"O(N) where N is the total number of cluster nodes"),
		sub("slaves", 3, FlagAdmin|FlagStale, cmdClusterReplicas, "3.0.0", adminCats, "List replica nodes of the specified master node", "O(1)"),
		sub("slots", 2, FlagStale, cmdClusterSlots, "3.0.0", slow, "Get array of Cluster slot to node mappings",
			"O(N) where N is the total number of Cluster nodes"),
	}
	m := make(map[string]*Command, len(subs))
	for _, s := range subs {
		m[s.Name] = s
	}
	conn := []string{"fast", "connection"}
	return []*Command{
		{Name: "cluster", Arity: -2, Subs: m, Group: "cluster", Since: "3.0.0", Categories: slow,
			Summary: "A container for cluster commands", Complexity: "Depends on subcommand."},
		{Name: "readonly", Arity: 1, Flags: FlagLoading | FlagStale | FlagFast, Handler: cmdReadonly, Group: "cluster", Since: "3.0.0",
			Categories: conn, Summary: "Enables read queries for a connection to a cluster replica node", Complexity: "O(1)"},
		{Name: "readwrite", Arity: 1, Flags: FlagLoading | FlagStale | FlagFast, Handler: cmdReadwrite, Group: "cluster", Since: "3.0.0",
			Categories: conn, Summary: "Disables read queries for a connection to a cluster replica node", Complexity: "O(1)"},
		{Name: "asking", Arity: 1, Flags: FlagFast, Handler: cmdAsking, Group: "cluster", Since: "3.0.0",
			Categories: conn, Summary: "Sent by cluster clients after an -ASK redirect", Complexity: "O(1)"},
	}
}

// clusterRouter is the Router of cluster mode: it turns a dispatched
// command into a cluster.Query and asks the cluster state.
type clusterRouter struct {
	s   *Server
	st  *cluster.State
	bus *cluster.Bus
}

// initCluster creates the cluster state (loading or creating nodes.conf),
// its bus (bound by Listen, run by Serve) and installs the router.
func (s *Server) initCluster() error {
	cfg := s.Cfg
	port, cport := cfg.Port, cfg.ClusterPort
	if cfg.ClusterAnnouncePort != 0 {
		port = cfg.ClusterAnnouncePort
	}
	if cfg.ClusterAnnounceBusPort != 0 {
		cport = cfg.ClusterAnnounceBusPort
	} else if cport == 0 {
		cport = cfg.Port + 10000
	}
	st, err := cluster.New(cluster.Options{
		ConfigFile: clusterConfigPath(cfg.Dir, cfg.ClusterConfigFile),
		Port:       port,
		CPort:      cport,
		AnnounceIP: cfg.ClusterAnnounceIP,
		Hostname:   cfg.ClusterAnnounceHostname,
		Settings:   s.clusterSettings,
		ReplOffset: s.ReplOffset,
		ReplLink:   s.replLink,
		// clusterSaveConfigOrDie.
		OnSaveFailed: func(error) {
			s.Log.Warn().Msg("Fatal: can't update cluster config file.")
			os.Exit(1)
		},
		Log: s.Log,
	})
	if err != nil {
		return err
	}
	busPort := cfg.ClusterPort
	if busPort == 0 {
		busPort = cfg.Port + 10000
	}
	bus := cluster.NewBus(st, cluster.BusOptions{
		Listen:       busListenAddrs(cfg.Bind, busPort),
		OnPublish:    func(ch, msg []byte, shard bool) { s.Publish(nil, ch, msg, shard) },
		OnLostSlots:  func(lost []int) { s.dropShardSlots(nil, lost) },
		OnDeleteKeys: s.deleteKeysInSlots,
		// CLUSTER REPLICATE, a failover that demoted this node, or a
		// replica whose master changed: replicate from ip:port.
		OnSetMaster: func(id, ip string, port int) { s.replicaOf(ip, port) },
		// This node won an election (or was told to take over).
		OnUnsetMaster: s.replicaOfNoOne,
		// A manual failover pauses client writes with CLIENT PAUSE WRITE's
		// machinery (cluster-behaviour.md §8).
		OnPauseWrites:   func(until int64) { s.pauseClients(pauseWrite, until) },
		OnUnpauseWrites: s.unpauseClients,
		// startCron calls bus.Cron after the server's cron.
		ExternalCron: true,
		Log:          s.Log,
	})
	s.Router = &clusterRouter{s: s, st: st, bus: bus}
	return nil
}

// busListenAddrs maps the bind addresses to the listeners of the cluster
// bus (the bus listens where the clients do; "-addr" is optional).
func busListenAddrs(bind []string, port int) []cluster.ListenAddr {
	if len(bind) == 0 {
		bind = []string{"*"}
	}
	p := strconv.Itoa(port)
	var out []cluster.ListenAddr
	for _, a := range bind {
		la := cluster.ListenAddr{Network: "tcp4"}
		if strings.HasPrefix(a, "-") {
			la.Optional = true
			a = a[1:]
		}
		switch a {
		case "*":
			a = "0.0.0.0"
		case "::*":
			a = "::"
		}
		if strings.Contains(a, ":") {
			la.Network = "tcp6"
		}
		la.Addr = net.JoinHostPort(a, p)
		out = append(out, la)
	}
	return out
}

// listenCluster binds the cluster bus port (Listen, cluster mode only).
func (s *Server) listenCluster() error {
	if r, ok := s.Router.(*clusterRouter); ok {
		return r.bus.Listen()
	}
	return nil
}

// startCluster runs the cluster bus until Close (Serve, cluster mode only).
func (s *Server) startCluster() {
	if r, ok := s.Router.(*clusterRouter); ok {
		r.bus.Start(s.closing, &s.wg)
	}
}

// clusterPublish propagates a client's PUBLISH / SPUBLISH over the bus.
func (s *Server) clusterPublish(channel, message []byte, shard bool) {
	if r, ok := s.Router.(*clusterRouter); ok {
		r.bus.Publish(channel, message, shard)
	}
}

// deleteKeysInSlots deletes every key of the given slots (a master lost
// them to a node with a greater configEpoch and stays a master).
func (s *Server) deleteKeysInSlots(ss []int) {
	db := s.KS.DBs[0]
	for _, slot := range ss {
		s.KS.Lock(slot)
		var keys []string
		db.ForEachInSlot(slot, func(k string, _ *store.Object) bool {
			keys = append(keys, k)
			return true
		})
		for _, k := range keys {
			db.DeleteSlot(slot, k)
		}
		s.KS.Unlock(slot)
		for _, k := range keys {
			s.touchWatchedString(0, k)
		}
	}
}

// clusterConfigPath resolves cluster-config-file. The config loader chdirs
// into "dir" like redis-server, so a relative name is relative to the
// working directory; only an absolute dir that is not the working
// directory (a server built in-process) is joined.
func clusterConfigPath(dir, file string) string {
	if file == "" || filepath.IsAbs(file) || !filepath.IsAbs(dir) {
		return file
	}
	if wd, err := os.Getwd(); err == nil && filepath.Clean(dir) == wd {
		return file
	}
	return filepath.Join(dir, file)
}

// clusterSettings reads the run-time cluster options from the config.
func (s *Server) clusterSettings() cluster.Settings {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	set := cluster.DefaultSettings()
	set.NodeTimeout = s.Cfg.ClusterNodeTimeout
	set.RequireFullCoverage = s.Cfg.ClusterRequireFullCoverage
	set.AllowReadsWhenDown = s.Cfg.ClusterAllowReadsWhenDown
	set.AllowPubsubshardWhenDown = s.Cfg.ClusterAllowPubsubshardWhenDown
	set.EndpointType = s.Cfg.ClusterPreferredEndpointType
	set.AllowReplicaMigration = s.Cfg.ClusterAllowReplicaMigration
	set.AnnounceIP = s.Cfg.ClusterAnnounceIP
	set.AnnounceHostname = s.Cfg.ClusterAnnounceHostname
	set.ReplicaValidityFactor = s.Cfg.ClusterReplicaValidityFactor
	set.ReplPingReplicaPeriod = s.Cfg.ReplPingReplicaPeriod
	set.MigrationBarrier = s.Cfg.ClusterMigrationBarrier
	set.ReplicaNoFailover = s.Cfg.ClusterReplicaNoFailover
	return set
}

// clusterState returns the cluster state, nil when cluster mode is off.
func (s *Server) clusterState() *cluster.State {
	if r, ok := s.Router.(*clusterRouter); ok {
		return r.st
	}
	return nil
}

// Route implements Router with Redis's getNodeByQuery rules. It must be
// called without slot locks held: for a migrating or importing slot it
// takes that slot's lock to look the keys up.
func (r *clusterRouter) Route(c *Client, cmd *Command, slotList []int, cross bool) string {
	if len(slotList) == 0 {
		return ""
	}
	isExec := cmd.Parent == nil && cmd.Name == "exec"
	q := cluster.Query{
		Slot:      slotList[0],
		CrossSlot: cross,
		Write:     cmd.Flags&FlagWrite != 0,
		ReadOnly:  c.ReadOnly,
		Asking:    c.Asking || cmd.Flags&FlagAsking != 0,
		Migrate:   cmd.Parent == nil && cmd.Name == "migrate",
	}
	q.TxWrite = q.Write
	if isExec {
		for _, qc := range c.Queue {
			if qc.cmd.Flags&FlagWrite != 0 {
				q.TxWrite = true
			}
		}
	} else {
		// Only the shard Pub/Sub commands have both keys and the pubsub flag.
		q.ShardPubSub = cmd.Flags&FlagPubSub != 0
	}
	if cross {
		q.Slot = r.firstKeySlot(c, cmd, isExec)
	}
	slot := q.Slot
	q.Keys = func() (int, int, bool) { return r.countKeys(c, cmd, isExec, slot) }
	e := r.st.Route(&q)
	if !c.InMulti || isExec {
		c.Asking = false
	}
	return e
}

// firstKeySlot is the slot of the first key in argument order (for EXEC,
// of the first queued command that has keys).
func (r *clusterRouter) firstKeySlot(c *Client, cmd *Command, isExec bool) int {
	var buf [16]int
	if isExec {
		for _, q := range c.Queue {
			for _, p := range q.cmd.KeyPositions(q.args, buf[:]) {
				if p < len(q.args) {
					return slots.KeySlot(q.args[p])
				}
			}
		}
		return 0
	}
	args := c.routeArgs
	for _, p := range cmd.KeyPositions(args, buf[:]) {
		if p < len(args) {
			return slots.KeySlot(args[p])
		}
	}
	return 0
}

// countKeys counts, in db 0, the request's keys that are missing (or
// expired, not deleted) and present, and whether it names several distinct
// keys: what Route needs for a migrating or importing slot.
func (r *clusterRouter) countKeys(c *Client, cmd *Command, isExec bool, slot int) (missing, existing int, multi bool) {
	db := r.s.KS.DBs[0]
	now := nowMs()
	var first []byte
	var buf [16]int
	count := func(args [][]byte, cmd *Command) {
		for _, p := range cmd.KeyPositions(args, buf[:]) {
			if p >= len(args) {
				continue
			}
			k := args[p]
			if first == nil {
				first = k
			} else if string(first) != string(k) {
				multi = true
			}
			if o := db.Peek(k); o != nil && (o.Expire == 0 || o.Expire > now) {
				existing++
			} else {
				missing++
			}
		}
	}
	r.s.KS.Lock(slot)
	defer r.s.KS.Unlock(slot)
	if isExec {
		for _, q := range c.Queue {
			count(q.args, q.cmd)
		}
	} else {
		count(c.routeArgs, cmd)
	}
	return missing, existing, multi
}

// clusterOf returns the cluster state, replying with the cluster-disabled
// error (and returning nil) in standalone mode.
func clusterOf(c *Ctx) *cluster.State {
	st := c.S.clusterState()
	if st == nil {
		c.Error(errClusterDisabled)
	}
	return st
}

func replyErr(c *Ctx, err error) bool {
	if err != nil {
		c.Error(err.Error())
		return true
	}
	return false
}

func cmdClusterAddSlots(c *Ctx)      { clusterAssign(c, false, false) }
func cmdClusterDelSlots(c *Ctx)      { clusterAssign(c, true, false) }
func cmdClusterAddSlotsRange(c *Ctx) { clusterAssign(c, false, true) }
func cmdClusterDelSlotsRange(c *Ctx) { clusterAssign(c, true, true) }

func clusterAssign(c *Ctx, del, ranges bool) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	if ranges && len(c.Args)%2 == 1 {
		c.ArityError()
		return
	}
	lost, err := st.AssignSlots(c.Args[2:], del, ranges)
	if replyErr(c, err) {
		return
	}
	c.S.dropShardSlots(c.C, lost)
	c.W.OK()
}

func cmdClusterFlushSlots(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	if c.S.KS.DBs[0].Size() != 0 {
		c.Error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
		return
	}
	c.S.dropShardSlots(c.C, st.FlushSlots())
	c.W.OK()
}

func cmdClusterBumpEpoch(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	c.W.Status(cluster.FormatBumpReply(st.BumpEpoch()))
}

func cmdClusterCountFailureReports(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	n, err := st.CountFailureReports(c.Args[2])
	if replyErr(c, err) {
		return
	}
	c.W.Int(int64(n))
}

// parseSlotNumber is getLongLongFromObjectOrReply for a slot argument.
func parseSlotNumber(c *Ctx, b []byte) (int64, bool) {
	n, ok := resp.ParseInt(b)
	if !ok {
		c.Error(resp.ErrNotInteger)
	}
	return n, ok
}

func cmdClusterCountKeysInSlot(c *Ctx) {
	if clusterOf(c) == nil {
		return
	}
	slot, ok := parseSlotNumber(c, c.Args[2])
	if !ok {
		return
	}
	if slot < 0 || slot >= slots.Count {
		c.Error("ERR Invalid slot")
		return
	}
	c.LockSlot(int(slot))
	n := c.S.KS.DBs[0].SlotSize(int(slot))
	c.UnlockSlot(int(slot))
	c.W.Int(int64(n))
}

func cmdClusterGetKeysInSlot(c *Ctx) {
	if clusterOf(c) == nil {
		return
	}
	slot, ok := parseSlotNumber(c, c.Args[2])
	if !ok {
		return
	}
	max, ok := parseSlotNumber(c, c.Args[3])
	if !ok {
		return
	}
	if slot < 0 || slot >= slots.Count || max < 0 {
		c.Error("ERR Invalid slot or number of keys")
		return
	}
	var keys []string
	c.LockSlot(int(slot))
	if max > 0 {
		c.S.KS.DBs[0].ForEachInSlot(int(slot), func(k string, _ *store.Object) bool {
			keys = append(keys, k)
			return int64(len(keys)) < max
		})
	}
	c.UnlockSlot(int(slot))
	c.W.Array(len(keys))
	for _, k := range keys {
		c.W.BulkString(k)
	}
}

func cmdClusterFailover(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	if len(c.Args) > 3 {
		subcmdSyntaxError(c)
		return
	}
	if replyErr(c, st.Failover(c.Args[2:])) {
		return
	}
	c.W.OK()
}

func cmdClusterForget(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	if replyErr(c, st.Forget(c.Args[2])) {
		return
	}
	c.W.OK()
}

func cmdClusterInfo(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	c.W.Verbatim(st.InfoText(), "txt")
}

func cmdClusterKeySlot(c *Ctx) {
	if clusterOf(c) == nil {
		return
	}
	c.W.Int(int64(slots.KeySlot(c.Args[2])))
}

func cmdClusterLinks(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	bus := c.S.Router.(*clusterRouter).bus
	links := st.Links()
	w := c.W
	w.Array(len(links))
	for _, l := range links {
		events, alloc, used := bus.LinkStats(l.ID)
		w.Map(6)
		w.BulkString("direction")
		if l.Inbound {
			w.BulkString("from")
		} else {
			w.BulkString("to")
		}
		w.BulkString("node")
		w.BulkString(l.Node)
		w.BulkString("create-time")
		w.Int(l.CreateTime)
		w.BulkString("events")
		w.BulkString(events)
		w.BulkString("send-buffer-allocated")
		w.Int(alloc)
		w.BulkString("send-buffer-used")
		w.Int(used)
	}
}

func cmdClusterMeet(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	if len(c.Args) != 4 && len(c.Args) != 5 {
		subcmdSyntaxError(c)
		return
	}
	if replyErr(c, st.Meet(c.Args[2:])) {
		return
	}
	c.W.OK()
}

func cmdClusterMyID(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	c.W.BulkString(st.MyID())
}

func cmdClusterNodes(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	c.W.Verbatim(st.NodesText(), "txt")
}

func cmdClusterReplicas(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	lines, err := st.Replicas(c.Args[2])
	if replyErr(c, err) {
		return
	}
	c.W.Array(len(lines))
	for _, l := range lines {
		c.W.BulkString(l)
	}
}

func cmdClusterReplicate(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	_, err := st.Replicate(c.Args[2], c.S.KS.DBs[0].Size() == 0)
	if replyErr(c, err) {
		return
	}
	c.W.OK()
}

func cmdClusterReset(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	if len(c.Args) > 3 {
		subcmdSyntaxError(c)
		return
	}
	lost, err := st.Reset(c.Args[2:], c.DB.Size() != 0)
	if replyErr(c, err) {
		return
	}
	c.S.dropShardSlots(c.C, lost)
	c.W.OK()
}

func cmdClusterSaveConfig(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	if err := st.SaveConfig(); err != nil {
		c.Error("ERR error saving the cluster node config: " + fsutil.Strerror(err))
		return
	}
	c.W.OK()
}

func cmdClusterSetConfigEpoch(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	if replyErr(c, st.SetConfigEpoch(c.Args[2])) {
		return
	}
	c.W.OK()
}

func cmdClusterSetSlot(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	// Lock order is slot, then cluster state: EXEC runs SETSLOT with the
	// slot locks held already, so the slot is locked before SetSlot takes
	// the state's lock rather than from inside it.
	locked := -1
	if n, err := strconv.Atoi(string(c.Args[2])); err == nil && n >= 0 && n < slots.Count {
		locked = n
		c.LockSlot(n)
	}
	lost, err := st.SetSlot(c.Args[2:], func(slot int) int {
		if slot != locked {
			c.LockSlot(slot)
			defer c.UnlockSlot(slot)
		}
		return c.S.KS.DBs[0].SlotSize(slot)
	})
	if locked >= 0 {
		c.UnlockSlot(locked)
	}
	if replyErr(c, err) {
		return
	}
	c.S.dropShardSlots(c.C, lost)
	c.W.OK()
}

func cmdClusterSlots(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	ranges := st.Slots()
	etype := c.S.clusterSettings().EndpointType
	w := c.W
	w.Array(len(ranges))
	for _, r := range ranges {
		w.Array(2 + len(r.Nodes))
		w.Int(int64(r.Start))
		w.Int(int64(r.End))
		for _, n := range r.Nodes {
			writeSlotsNode(w, n, etype)
		}
	}
}

// writeSlotsNode is one node of a CLUSTER SLOTS range: preferred endpoint,
// port, id and a map of the other known endpoints.
func writeSlotsNode(w *resp.Writer, n cluster.NodeEntry, etype string) {
	w.Array(4)
	if etype == "unknown-endpoint" {
		w.Null()
	} else {
		w.BulkString(n.Endpoint)
	}
	w.Int(int64(n.Port))
	w.BulkString(n.ID)
	withIP := etype == "hostname" || etype == "unknown-endpoint"
	withHost := etype != "hostname" && n.Hostname != ""
	fields := 0
	if withIP {
		fields++
	}
	if withHost {
		fields++
	}
	w.Map(fields)
	if withIP {
		w.BulkString("ip")
		w.BulkString(n.IP)
	}
	if withHost {
		w.BulkString("hostname")
		w.BulkString(n.Hostname)
	}
}

func cmdClusterShards(c *Ctx) {
	st := clusterOf(c)
	if st == nil {
		return
	}
	shards := st.Shards()
	w := c.W
	w.Array(len(shards))
	for _, sh := range shards {
		w.Map(2)
		w.BulkString("slots")
		w.Array(2 * len(sh.Slots))
		for _, r := range sh.Slots {
			w.Int(int64(r.Start))
			w.Int(int64(r.End))
		}
		w.BulkString("nodes")
		w.Array(len(sh.Nodes))
		for _, n := range sh.Nodes {
			writeShardNode(w, n)
		}
	}
}

func writeShardNode(w *resp.Writer, n cluster.NodeEntry) {
	fields := 6
	if n.Port != 0 {
		fields++
	}
	if n.Hostname != "" {
		fields++
	}
	w.Map(fields)
	w.BulkString("id")
	w.BulkString(n.ID)
	if n.Port != 0 {
		w.BulkString("port")
		w.Int(int64(n.Port))
	}
	w.BulkString("ip")
	w.BulkString(n.IP)
	w.BulkString("endpoint")
	w.BulkString(n.Endpoint)
	if n.Hostname != "" {
		w.BulkString("hostname")
		w.BulkString(n.Hostname)
	}
	w.BulkString("role")
	if n.Replica {
		w.BulkString("replica")
	} else {
		w.BulkString("master")
	}
	w.BulkString("replication-offset")
	w.Int(n.ReplOffset)
	w.BulkString("health")
	switch {
	case n.Failed:
		w.BulkString("fail")
	case n.Replica && n.ReplOffset == 0:
		w.BulkString("loading")
	default:
		w.BulkString("online")
	}
}

func cmdClusterHelp(c *Ctx) {
	if clusterOf(c) == nil {
		return
	}
	writeSubcmdHelp(c, "CLUSTER", clusterHelpLines)
}

var clusterHelpLines = []string{
	"ADDSLOTS <slot> [<slot> ...]",
	"    Assign slots to current node.",
	"ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
	"    Assign slots which are between <start-slot> and <end-slot> to current node.",
	"BUMPEPOCH",
	"    Advance the cluster config epoch.",
	"COUNT-FAILURE-REPORTS <node-id>",
	"    Return number of failure reports for <node-id>.",
	"COUNTKEYSINSLOT <slot>",
	"    Return the number of keys in <slot>.",
	"DELSLOTS <slot> [<slot> ...]",
	"    Delete slots information from current node.",
	"DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
	"    Delete slots information which are between <start-slot> and <end-slot> from current node.",
	"FAILOVER [FORCE|TAKEOVER]",
	"    Promote current replica node to being a master.",
	"FORGET <node-id>",
	"    Remove a node from the cluster.",
	"GETKEYSINSLOT <slot> <count>",
	"    Return key names stored by current node in a slot.",
	"FLUSHSLOTS",
	"    Delete current node own slots information.",
	"INFO",
	"    Return information about the cluster.",
	"KEYSLOT <key>",
	"    Return the hash slot for <key>.",
	"MEET <ip> <port> [<bus-port>]",
	"    Connect nodes into a working cluster.",
	"MYID",
	"    Return the node id.",
	"NODES",
	"    Return cluster configuration seen by node. Output format:",
	"    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
	"REPLICATE <node-id>",
	"    Configure current node as replica to <node-id>.",
	"RESET [HARD|SOFT]",
	"    Reset current node (default: soft).",
	"SET-CONFIG-EPOCH <epoch>",
	"    Set config epoch of current node.",
	"SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
	"    Set slot state.",
	"REPLICAS <node-id>",
	"    Return <node-id> replicas.",
	"SAVECONFIG",
	"    Force saving cluster configuration on disk.",
	"SLOTS",
	"    Return information about slots range mappings. Each range is made of:",
	"    start, end, master and replicas IP addresses, ports and ids",
	"SHARDS",
	"    Return information about slot range mappings and the nodes associated with them.",
	"LINKS",
	"    Return information about all network links between this node and its peers.",
	"    Output format is an array where each array element is a map containing attributes of a link",
}

func cmdReadonly(c *Ctx) {
	if clusterOf(c) == nil {
		return
	}
	c.C.ReadOnly = true
	c.W.OK()
}

func cmdReadwrite(c *Ctx) {
	if clusterOf(c) == nil {
		return
	}
	c.C.ReadOnly = false
	c.W.OK()
}

func cmdAsking(c *Ctx) {
	if clusterOf(c) == nil {
		return
	}
	c.C.Asking = true
	c.W.OK()
}
