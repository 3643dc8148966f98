package server

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// serverExt is the server-wide state of the SERVER and CONNECTION
// commands: INFO's samples and error statistics, LASTSAVE, CLIENT PAUSE,
// SHUTDOWN hooks and DEBUG switches.
type serverExt struct {
	initOnce   sync.Once
	replID     string // guarded by hookMu
	startupMem int64
	lastSave   atomic.Int64 // unix seconds of the last successful save

	sampleMu sync.Mutex
	metrics  [3]instMetric // commands, net input, net output

	errMu     sync.Mutex
	errCounts map[string]int64

	pause pauseState

	activeExpireOff atomic.Bool // DEBUG SET-ACTIVE-EXPIRE 0

	hookMu        sync.Mutex
	shutdownHooks []func(save bool) error
	sections      map[string]func() string
}

// instMetric is one instantaneous_* figure: per-second rates sampled every
// cron tick into a ring, as Redis's trackInstantaneousMetric.
type instMetric struct {
	lastTime  int64 // ms
	lastCount int64
	idx       int
	samples   [16]int64
}

func (m *instMetric) track(now, count int64) {
	if m.lastTime != 0 {
		if dt := now - m.lastTime; dt > 0 {
			m.samples[m.idx] = (count - m.lastCount) * 1000 / dt
			m.idx = (m.idx + 1) % len(m.samples)
		}
	}
	m.lastTime, m.lastCount = now, count
}

func (m *instMetric) value() int64 {
	var sum int64
	for _, v := range m.samples {
		sum += v
	}
	return sum / int64(len(m.samples))
}

// x returns the lazily initialised extension state.
func (s *Server) x() *serverExt {
	e := &s.ext
	e.initOnce.Do(func() {
		e.replID = randomHex(40)
		e.startupMem = s.UsedMemory()
		if e.lastSave.Load() == 0 {
			e.lastSave.Store(s.startTime.Unix())
		}
	})
	return e
}

// sampleStats feeds the instantaneous_* rings; cron calls it every tick.
func (s *Server) sampleStats() {
	e := s.x()
	now := nowMs()
	e.sampleMu.Lock()
	e.metrics[0].track(now, s.Stats.Commands.Load())
	e.metrics[1].track(now, s.Stats.NetInput.Load())
	e.metrics[2].track(now, s.Stats.NetOutput.Load())
	e.sampleMu.Unlock()
}

// countError records an error reply (INFO errorstats); msg is the reply
// after its '-'.
func (s *Server) countError(msg []byte) {
	s.Stats.UnexpectedError.Add(1)
	name := []byte("ERR")
	lim := min(len(msg), 31)
	if i := bytes.IndexByte(msg[:lim], ' '); i > 0 {
		name = msg[:i]
	}
	e := &s.ext
	e.errMu.Lock()
	if e.errCounts == nil {
		e.errCounts = make(map[string]int64)
	}
	if _, ok := e.errCounts[string(name)]; ok || len(e.errCounts) < 1024 {
		e.errCounts[string(name)]++
	}
	e.errMu.Unlock()
}

// LastSave returns the unix time of the last successful save (LASTSAVE).
func (s *Server) LastSave() int64 { return s.x().lastSave.Load() }

// SetLastSave records a successful save at unix time t (persistence).
func (s *Server) SetLastSave(t int64) { s.x().lastSave.Store(t) }

// ActiveExpireEnabled reports whether active expiry runs (DEBUG
// SET-ACTIVE-EXPIRE turns it off, for tests).
func (s *Server) ActiveExpireEnabled() bool { return !s.ext.activeExpireOff.Load() }

// ReplID returns the replication ID INFO replication reports.
func (s *Server) ReplID() string {
	e := s.x()
	e.hookMu.Lock()
	defer e.hookMu.Unlock()
	return e.replID
}

// SetInfoSection replaces the body of an INFO section (lower-case name,
// e.g. "replication") with fn's output: lines "field:value\r\n" without
// the "# Title" header. Other parts of the server use it to report state
// they own.
func (s *Server) SetInfoSection(name string, fn func() string) {
	e := s.x()
	e.hookMu.Lock()
	defer e.hookMu.Unlock()
	if e.sections == nil {
		e.sections = make(map[string]func() string)
	}
	e.sections[name] = fn
}

// OnShutdown registers fn to run when SHUTDOWN stops the server; save
// says whether a final save is requested. An error aborts the shutdown
// unless FORCE was given.
func (s *Server) OnShutdown(fn func(save bool) error) {
	e := s.x()
	e.hookMu.Lock()
	e.shutdownHooks = append(e.shutdownHooks, fn)
	e.hookMu.Unlock()
}

// infoSection is one INFO section: its selector name, title and generator.
type infoSection struct {
	name, title string
	gen         func(s *Server, b *infoBuf)
	def         bool // printed by INFO without arguments
}

var infoSections = []infoSection{
	{"server", "Server", (*Server).infoServer, true},
	{"clients", "Clients", (*Server).infoClients, true},
	{"memory", "Memory", (*Server).infoMemory, true},
	{"persistence", "Persistence", (*Server).infoPersistence, true},
	{"stats", "Stats", (*Server).infoStats, true},
	{"replication", "Replication", (*Server).infoReplication, true},
	{"cpu", "CPU", (*Server).infoCPU, true},
	{"modules", "Modules", func(*Server, *infoBuf) {}, true},
	{"commandstats", "Commandstats", func(*Server, *infoBuf) {}, false},
	{"errorstats", "Errorstats", (*Server).infoErrorStats, true},
	{"latencystats", "Latencystats", func(*Server, *infoBuf) {}, false},
	{"cluster", "Cluster", (*Server).infoCluster, true},
	{"keyspace", "Keyspace", (*Server).infoKeyspace, true},
}

// infoBuf accumulates "field:value\r\n" lines.
type infoBuf struct{ b []byte }

func (ib *infoBuf) str(k, v string) {
	ib.b = append(ib.b, k...)
	ib.b = append(ib.b, ':')
	ib.b = append(ib.b, v...)
	ib.b = append(ib.b, '\r', '\n')
}

func (ib *infoBuf) int(k string, v int64) {
	ib.b = append(ib.b, k...)
	ib.b = append(ib.b, ':')
	ib.b = strconv.AppendInt(ib.b, v, 10)
	ib.b = append(ib.b, '\r', '\n')
}

func (ib *infoBuf) bool(k string, v bool) {
	if v {
		ib.int(k, 1)
	} else {
		ib.int(k, 0)
	}
}

func (ib *infoBuf) f2(k string, v float64) { ib.str(k, strconv.FormatFloat(v, 'f', 2, 64)) }

// GenInfo renders INFO for the given arguments (section names, "all",
// "everything", "default"), as Redis 7.0's INFO command.
func (s *Server) GenInfo(args []string) string {
	want := map[string]bool{}
	all := false
	if len(args) == 0 {
		want["default"] = true
	}
	for _, a := range args {
		a = strings.ToLower(a)
		switch a {
		case "all", "everything":
			all = true
		case "module_list":
			want["modules"] = true
		default:
			want[a] = true
		}
	}
	e := s.x()
	e.hookMu.Lock()
	custom := make(map[string]func() string, len(e.sections))
	for k, v := range e.sections {
		custom[k] = v
	}
	e.hookMu.Unlock()
	var ib infoBuf
	n := 0
	for _, sec := range infoSections {
		if !all && !want[sec.name] && !(want["default"] && sec.def) {
			continue
		}
		if n > 0 {
			ib.b = append(ib.b, '\r', '\n')
		}
		n++
		ib.b = append(ib.b, "# "...)
		ib.b = append(ib.b, sec.title...)
		ib.b = append(ib.b, '\r', '\n')
		if fn := custom[sec.name]; fn != nil {
			ib.b = append(ib.b, fn()...)
			continue
		}
		sec.gen(s, &ib)
	}
	return string(ib.b)
}

func cmdInfo(c *Ctx) {
	args := make([]string, 0, len(c.Args)-1)
	for _, a := range c.Args[1:] {
		args = append(args, string(a))
	}
	c.W.Verbatim(c.S.GenInfo(args), "txt")
}

// tcpPort is the port clients connect to (the bound one when configured 0).
func (s *Server) tcpPort() int {
	if s.Cfg.Port == 0 && len(s.listeners) > 0 {
		if a, ok := s.listeners[0].Addr().(interface{ String() string }); ok {
			if i := strings.LastIndexByte(a.String(), ':'); i >= 0 {
				p, _ := strconv.Atoi(a.String()[i+1:])
				return p
			}
		}
	}
	return s.Cfg.Port
}

var (
	osNameOnce sync.Once
	osName     string
)

// unameString is "sysname release machine" like uname(2) gives Redis.
func unameString() string {
	osNameOnce.Do(func() {
		sys := runtime.GOOS
		if sys != "" {
			sys = strings.ToUpper(sys[:1]) + sys[1:]
		}
		rel := "unknown"
		if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
			rel = strings.TrimSpace(string(b))
		}
		mach := runtime.GOARCH
		switch mach {
		case "amd64":
			mach = "x86_64"
		case "arm64":
			mach = "aarch64"
		case "386":
			mach = "i686"
		}
		osName = sys + " " + rel + " " + mach
	})
	return osName
}

func (s *Server) infoServer(ib *infoBuf) {
	now := time.Now()
	uptime := int64(now.Sub(s.startTime) / time.Second)
	mode := "standalone"
	if s.clusterMode() {
		mode = "cluster"
	}
	exe, _ := os.Executable()
	s.cfgMu.RLock()
	hz, cfgFile := s.Cfg.HZ, s.Cfg.ConfigFile
	s.cfgMu.RUnlock()
	if hz <= 0 {
		hz = 10
	}
	ib.str("redis_version", serverVersion)
	ib.str("redis_git_sha1", "00000000")
	ib.int("redis_git_dirty", 0)
	ib.str("redis_build_id", "726564636c7573")
	ib.str("redis_mode", mode)
	ib.str("os", unameString())
	ib.int("arch_bits", strconv.IntSize)
	ib.str("monotonic_clock", "POSIX clock_gettime")
	ib.str("multiplexing_api", "epoll")
	ib.str("atomicvar_api", "c11-builtin")
	ib.str("gcc_version", "0.0.0")
	ib.int("process_id", int64(os.Getpid()))
	ib.str("process_supervised", "no")
	ib.str("run_id", s.RunID())
	ib.int("tcp_port", int64(s.tcpPort()))
	ib.int("server_time_usec", now.UnixMicro())
	ib.int("uptime_in_seconds", uptime)
	ib.int("uptime_in_days", uptime/86400)
	ib.int("hz", int64(hz))
	ib.int("configured_hz", int64(hz))
	ib.int("lru_clock", (now.UnixMilli()/1000)&(1<<24-1))
	ib.str("executable", exe)
	ib.str("config_file", cfgFile)
	ib.int("io_threads_active", 0)
}

func (s *Server) infoClients(ib *infoBuf) {
	s.clientsMu.Lock()
	n := len(s.clients)
	s.clientsMu.Unlock()
	ib.int("connected_clients", int64(n))
	ib.int("cluster_connections", 0)
	ib.int("maxclients", int64(s.connSettings().maxClients))
	ib.int("client_recent_max_input_buffer", 20480)
	ib.int("client_recent_max_output_buffer", 0)
	ib.int("blocked_clients", int64(s.BlockedClients())+s.ext.pause.waiting.Load())
	ib.int("tracking_clients", 0)
	ib.int("clients_in_timeout_table", 0)
}

// bytesToHuman formats n like Redis's bytesToHuman (100B, 1.50K, 2.00M...).
func bytesToHuman(n int64) string {
	if n < 0 {
		n = 0
	}
	units := []string{"K", "M", "G", "T", "P"}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	d := float64(n) / 1024
	for _, u := range units {
		if d < 1024 {
			return strconv.FormatFloat(d, 'f', 2, 64) + u
		}
		d /= 1024
	}
	return strconv.FormatInt(n, 10) + "B"
}

// processRSS returns the resident set size in bytes (0 when unknown).
func processRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// totalSystemMemory returns the machine's memory in bytes (0 when unknown).
func totalSystemMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func ratio(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (s *Server) infoMemory(ib *infoBuf) {
	e := s.x()
	used := s.UsedMemory()
	peak := max(s.UsedMemoryPeak(), used)
	rss := processRSS()
	ms := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(ms)
	u := func(i int) int64 {
		if ms[i].Value.Kind() == metrics.KindUint64 {
			return int64(ms[i].Value.Uint64())
		}
		return 0
	}
	allocated := u(0)
	active := allocated + u(1)
	resident := u(2) - u(3)
	if rss == 0 {
		rss = resident
	}
	resident = min(resident, rss)
	s.clientsMu.Lock()
	nclients := int64(len(s.clients))
	s.clientsMu.Unlock()
	clientsMem := nclients * 37 * 1024 / 2
	startup := min(e.startupMem, used)
	overhead := startup + clientsMem
	if overhead > used {
		overhead = used
	}
	dataset := used - overhead
	net := used - startup
	datasetPerc := 0.0
	if net > 0 {
		datasetPerc = float64(dataset) * 100 / float64(net)
	}
	s.cfgMu.RLock()
	maxmem, policy := s.Cfg.MaxMemory, s.Cfg.MaxMemoryPolicy
	s.cfgMu.RUnlock()
	total := totalSystemMemory()

	ib.int("used_memory", used)
	ib.str("used_memory_human", bytesToHuman(used))
	ib.int("used_memory_rss", rss)
	ib.str("used_memory_rss_human", bytesToHuman(rss))
	ib.int("used_memory_peak", peak)
	ib.str("used_memory_peak_human", bytesToHuman(peak))
	ib.str("used_memory_peak_perc", strconv.FormatFloat(ratio(used, peak)*100, 'f', 2, 64)+"%")
	ib.int("used_memory_overhead", overhead)
	ib.int("used_memory_startup", startup)
	ib.int("used_memory_dataset", dataset)
	ib.str("used_memory_dataset_perc", strconv.FormatFloat(datasetPerc, 'f', 2, 64)+"%")
	ib.int("allocator_allocated", allocated)
	ib.int("allocator_active", active)
	ib.int("allocator_resident", resident)
	ib.int("total_system_memory", total)
	ib.str("total_system_memory_human", bytesToHuman(total))
	ib.int("used_memory_lua", 0)
	ib.int("used_memory_vm_eval", 0)
	ib.str("used_memory_lua_human", "0B")
	ib.int("used_memory_scripts_eval", 0)
	ib.int("number_of_cached_scripts", 0)
	ib.int("number_of_functions", 0)
	ib.int("number_of_libraries", 0)
	ib.int("used_memory_vm_functions", 0)
	ib.int("used_memory_vm_total", 0)
	ib.str("used_memory_vm_total_human", "0B")
	ib.int("used_memory_functions", 0)
	ib.int("used_memory_scripts", 0)
	ib.str("used_memory_scripts_human", "0B")
	ib.int("maxmemory", maxmem)
	ib.str("maxmemory_human", bytesToHuman(maxmem))
	ib.str("maxmemory_policy", policy)
	ib.f2("allocator_frag_ratio", ratio(active, allocated))
	ib.int("allocator_frag_bytes", active-allocated)
	ib.f2("allocator_rss_ratio", ratio(resident, active))
	ib.int("allocator_rss_bytes", resident-active)
	ib.f2("rss_overhead_ratio", ratio(rss, resident))
	ib.int("rss_overhead_bytes", rss-resident)
	ib.f2("mem_fragmentation_ratio", ratio(rss, used))
	ib.int("mem_fragmentation_bytes", rss-used)
	ib.int("mem_not_counted_for_evict", 0)
	backlogMem := int64(0)
	if mi := s.repl.master.Info(); mi.BacklogActive {
		backlogMem = mi.BacklogSize
	}
	ib.int("mem_replication_backlog", backlogMem)
	ib.int("mem_total_replication_buffers", backlogMem)
	ib.int("mem_clients_slaves", 0)
	ib.int("mem_clients_normal", clientsMem)
	ib.int("mem_cluster_links", 0)
	ib.int("mem_aof_buffer", 0)
	ib.str("mem_allocator", runtime.Version())
	ib.int("active_defrag_running", 0)
	ib.int("lazyfree_pending_objects", 0)
	ib.int("lazyfreed_objects", 0)
}

func (s *Server) infoPersistence(ib *infoBuf) {
	s.cfgMu.RLock()
	aof := s.Cfg.AppendOnly
	s.cfgMu.RUnlock()
	pi := s.persistInfo()
	// The dataset loads before clients are accepted: never "loading".
	ib.int("loading", 0)
	ib.int("async_loading", 0)
	ib.int("current_cow_peak", 0)
	ib.int("current_cow_size", 0)
	ib.int("current_cow_size_age", 0)
	ib.str("current_fork_perc", "0.00")
	ib.int("current_save_keys_processed", 0)
	ib.int("current_save_keys_total", pi.keysTotal)
	ib.int("rdb_changes_since_last_save", max(s.Stats.Dirty.Load(), 0))
	ib.bool("rdb_bgsave_in_progress", pi.bgInProgress)
	ib.int("rdb_last_save_time", s.LastSave())
	if pi.lastOK {
		ib.str("rdb_last_bgsave_status", "ok")
	} else {
		ib.str("rdb_last_bgsave_status", "err")
	}
	ib.int("rdb_last_bgsave_time_sec", pi.lastBgsaveSecs)
	ib.int("rdb_current_bgsave_time_sec", pi.curBgsaveSecs)
	ib.int("rdb_saves", pi.saves)
	ib.int("rdb_last_cow_size", 0)
	ib.int("rdb_last_load_keys_expired", pi.loadExpired)
	ib.int("rdb_last_load_keys_loaded", pi.loadLoaded)
	ib.bool("aof_enabled", aof)
	ib.int("aof_rewrite_in_progress", 0)
	ib.int("aof_rewrite_scheduled", 0)
	ib.int("aof_last_rewrite_time_sec", -1)
	ib.int("aof_current_rewrite_time_sec", -1)
	ib.str("aof_last_bgrewrite_status", "ok")
	ib.int("aof_rewrites", 0)
	ib.int("aof_rewrites_consecutive_failures", 0)
	ib.str("aof_last_write_status", "ok")
	ib.int("aof_last_cow_size", 0)
	ib.int("module_fork_in_progress", 0)
	ib.int("module_fork_last_cow_size", 0)
	if aof {
		ib.int("aof_current_size", 0)
		ib.int("aof_base_size", 0)
		ib.int("aof_pending_rewrite", 0)
		ib.int("aof_buffer_length", 0)
		ib.int("aof_pending_bio_fsync", 0)
		ib.int("aof_delayed_fsync", 0)
	}
}

func (s *Server) infoStats(ib *infoBuf) {
	e := s.x()
	e.sampleMu.Lock()
	ops, in, out := e.metrics[0].value(), e.metrics[1].value(), e.metrics[2].value()
	e.sampleMu.Unlock()
	st := &s.Stats
	cmds := st.Commands.Load()
	chans, pats, shards := s.infoPubSubCounts()
	ib.int("total_connections_received", st.Connections.Load())
	ib.int("total_commands_processed", cmds)
	ib.int("instantaneous_ops_per_sec", ops)
	ib.int("total_net_input_bytes", st.NetInput.Load())
	ib.int("total_net_output_bytes", st.NetOutput.Load())
	ib.int("total_net_repl_input_bytes", 0)
	ib.int("total_net_repl_output_bytes", 0)
	ib.f2("instantaneous_input_kbps", float64(in)/1024)
	ib.f2("instantaneous_output_kbps", float64(out)/1024)
	ib.str("instantaneous_input_repl_kbps", "0.00")
	ib.str("instantaneous_output_repl_kbps", "0.00")
	ib.int("rejected_connections", st.Rejected.Load())
	ss := s.repl.master.Stats()
	ib.int("sync_full", ss.Full)
	ib.int("sync_partial_ok", ss.PartialOK)
	ib.int("sync_partial_err", ss.PartialErr)
	ib.int("expired_keys", st.ExpiredKeys.Load())
	ib.str("expired_stale_perc", "0.00")
	ib.int("expired_time_cap_reached_count", 0)
	ib.int("expire_cycle_cpu_milliseconds", 0)
	ib.int("evicted_keys", st.EvictedKeys.Load())
	ib.int("evicted_clients", 0)
	ib.int("total_eviction_exceeded_time", 0)
	ib.int("current_eviction_exceeded_time", 0)
	ib.int("keyspace_hits", st.KeyspaceHits.Load())
	ib.int("keyspace_misses", st.KeyspaceMisses.Load())
	ib.int("pubsub_channels", chans)
	ib.int("pubsub_patterns", pats)
	ib.int("pubsubshard_channels", shards)
	ib.int("latest_fork_usec", 0)
	ib.int("total_forks", 0)
	ib.int("migrate_cached_sockets", 0)
	ib.int("slave_expires_tracked_keys", 0)
	ib.int("active_defrag_hits", 0)
	ib.int("active_defrag_misses", 0)
	ib.int("active_defrag_key_hits", 0)
	ib.int("active_defrag_key_misses", 0)
	ib.int("total_active_defrag_time", 0)
	ib.int("current_active_defrag_time", 0)
	ib.int("tracking_total_keys", 0)
	ib.int("tracking_total_items", 0)
	ib.int("tracking_total_prefixes", 0)
	ib.int("unexpected_error_replies", 0)
	ib.int("total_error_replies", st.UnexpectedError.Load())
	ib.int("dump_payload_sanitizations", 0)
	ib.int("total_reads_processed", cmds)
	ib.int("total_writes_processed", cmds)
	ib.int("io_threaded_reads_processed", 0)
	ib.int("io_threaded_writes_processed", 0)
	ib.int("reply_buffer_shrinks", 0)
	ib.int("reply_buffer_expands", 0)
}

func rusageTime(tv syscall.Timeval) string {
	return fmt.Sprintf("%d.%06d", tv.Sec, tv.Usec)
}

func (s *Server) infoCPU(ib *infoBuf) {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	ib.str("used_cpu_sys", rusageTime(self.Stime))
	ib.str("used_cpu_user", rusageTime(self.Utime))
	ib.str("used_cpu_sys_children", rusageTime(children.Stime))
	ib.str("used_cpu_user_children", rusageTime(children.Utime))
	ib.str("used_cpu_sys_main_thread", rusageTime(self.Stime))
	ib.str("used_cpu_user_main_thread", rusageTime(self.Utime))
}

func (s *Server) infoErrorStats(ib *infoBuf) {
	e := &s.ext
	e.errMu.Lock()
	names := make([]string, 0, len(e.errCounts))
	for k := range e.errCounts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		safe := strings.Map(func(r rune) rune {
			switch r {
			case '#', ':', '\n', '\r':
				return '_'
			}
			return r
		}, k)
		ib.str("errorstat_"+safe, "count="+strconv.FormatInt(e.errCounts[k], 10))
	}
	e.errMu.Unlock()
}

func (s *Server) infoCluster(ib *infoBuf) {
	ib.bool("cluster_enabled", s.clusterMode())
}

func (s *Server) infoKeyspace(ib *infoBuf) {
	for i, db := range s.KS.DBs {
		keys, exp := db.Size(), db.ExpiresCount()
		if keys == 0 && exp == 0 {
			continue
		}
		ib.str("db"+strconv.Itoa(i), "keys="+strconv.FormatInt(keys, 10)+
			",expires="+strconv.FormatInt(exp, 10)+",avg_ttl=0")
	}
}

// infoPubSubCounts returns the numbers of channels, patterns and shard
// channels with subscribers.
func (s *Server) infoPubSubCounts() (int64, int64, int64) {
	r := &s.pubsub
	r.mu.RLock()
	defer r.mu.RUnlock()
	return int64(len(r.channels)), int64(len(r.patterns)), int64(len(r.shard))
}

// ResetInfoStats clears what INFO keeps beyond Stats: the error
// statistics and the instantaneous rates. CONFIG RESETSTAT should call it
// along with resetting Stats.
func (s *Server) ResetInfoStats() {
	e := s.x()
	e.errMu.Lock()
	e.errCounts = nil
	e.errMu.Unlock()
	e.sampleMu.Lock()
	e.metrics = [3]instMetric{}
	e.sampleMu.Unlock()
}
