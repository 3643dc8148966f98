// Package config holds redcluster's settings with redis.conf's names and
// defaults, and parses redis.conf files and "--name value" arguments the way
// redis-server 7.0 does. The option table (options.go) is the single source
// of names, aliases, types, ranges and defaults; CONFIG GET/SET/REWRITE and
// the loader all go through it.
package config

// Config is the node's configuration. Field comments give the redis.conf
// name. Options that redcluster stores but never acts on live in an internal
// map; read any option's CONFIG GET text with Get.
//
// The server reads a Config concurrently; CONFIG SET changes it under the
// server's configuration lock.
type Config struct {
	// ConfigFile is the absolute path of the configuration file the server
	// was started with ("" when none); CONFIG REWRITE writes it.
	ConfigFile string

	Port                         int      // port
	Bind                         []string // bind
	ProtectedMode                bool     // protected-mode
	Dir                          string   // dir as configured: Load already changed the working directory to it, so open files relative to the working directory
	LogFile                      string   // logfile
	LogLevel                     string   // loglevel: debug, verbose, notice or warning
	Daemonize                    bool     // daemonize
	PidFile                      string   // pidfile
	Databases                    int      // databases
	RequirePass                  string   // requirepass
	MaxClients                   int      // maxclients
	Timeout                      int      // timeout (seconds, 0 = never)
	TCPKeepAlive                 int      // tcp-keepalive (seconds)
	MaxMemory                    int64    // maxmemory (bytes, 0 = no limit; larger than int64 is clamped)
	MaxMemoryPolicy              string   // maxmemory-policy
	MaxMemorySamples             int      // maxmemory-samples
	ClusterEnabled               bool     // cluster-enabled
	ClusterConfigFile            string   // cluster-config-file
	ClusterNodeTimeout           int64    // cluster-node-timeout (ms)
	ClusterPort                  int      // cluster-port (0 = port+10000)
	ClusterAnnounceIP            string   // cluster-announce-ip
	ClusterRequireFullCoverage   bool     // cluster-require-full-coverage
	ClusterReplicaValidityFactor int      // cluster-replica-validity-factor
	ClusterMigrationBarrier      int      // cluster-migration-barrier
	ClusterAllowReadsWhenDown    bool     // cluster-allow-reads-when-down
	AppendOnly                   bool     // appendonly
	AppendFsync                  string   // appendfsync
	Save                         string   // save, as CONFIG GET prints it ("3600 1 300 100 60 10000", "" = none)
	DBFilename                   string   // dbfilename
	AppendFilename               string   // appendfilename
	ReplBacklogSize              int64    // repl-backlog-size
	MasterAuth                   string   // masterauth
	ReplicaReadOnly              bool     // replica-read-only
	ProtoMaxBulkLen              int64    // proto-max-bulk-len
	ClientQueryBufferLimit       int64    // client-query-buffer-limit

	// Encodings and data structure limits.
	HashMaxListpackEntries int64 // hash-max-listpack-entries
	HashMaxListpackValue   int64 // hash-max-listpack-value
	SetMaxIntsetEntries    int64 // set-max-intset-entries
	ZsetMaxListpackEntries int64 // zset-max-listpack-entries
	ZsetMaxListpackValue   int64 // zset-max-listpack-value
	ListMaxListpackSize    int   // list-max-listpack-size
	ListCompressDepth      int   // list-compress-depth
	StreamNodeMaxBytes     int64 // stream-node-max-bytes
	StreamNodeMaxEntries   int64 // stream-node-max-entries
	HllSparseMaxBytes      int64 // hll-sparse-max-bytes

	// Server cron, expiry and eviction.
	HZ                        int    // hz (clamped to 1..500 like Redis)
	DynamicHZ                 bool   // dynamic-hz
	ActiveExpireEffort        int    // active-expire-effort
	MaxMemoryEvictionTenacity int    // maxmemory-eviction-tenacity
	MaxMemoryClients          int64  // maxmemory-clients (negative = percent of maxmemory)
	LFULogFactor              int    // lfu-log-factor
	LFUDecayTime              int    // lfu-decay-time
	LazyfreeLazyEviction      bool   // lazyfree-lazy-eviction
	LazyfreeLazyExpire        bool   // lazyfree-lazy-expire
	LazyfreeLazyServerDel     bool   // lazyfree-lazy-server-del
	LazyfreeLazyUserDel       bool   // lazyfree-lazy-user-del
	LazyfreeLazyUserFlush     bool   // lazyfree-lazy-user-flush
	NotifyKeyspaceEvents      string // notify-keyspace-events, as CONFIG GET prints it ("" = off)

	// Diagnostics.
	SlowlogLogSlowerThan           int64     // slowlog-log-slower-than (µs, -1 = off)
	SlowlogMaxLen                  int64     // slowlog-max-len
	LatencyMonitorThreshold        int64     // latency-monitor-threshold (ms)
	LatencyTracking                bool      // latency-tracking
	LatencyTrackingInfoPercentiles []float64 // latency-tracking-info-percentiles
	BusyReplyThreshold             int64     // busy-reply-threshold (alias lua-time-limit), ms
	ACLLogMaxLen                   int64     // acllog-max-len
	TrackingTableMaxKeys           int64     // tracking-table-max-keys

	// Networking and clients.
	TCPBacklog              int                  // tcp-backlog
	UnixSocket              string               // unixsocket
	UnixSocketPerm          int                  // unixsocketperm (octal in redis.conf)
	ClientOutputBufferLimit [3]OutputBufferLimit // client-output-buffer-limit: normal, replica, pubsub
	IOThreads               int                  // io-threads
	EnableProtectedConfigs  string               // enable-protected-configs: no, yes, local
	EnableDebugCommand      string               // enable-debug-command: no, yes, local
	EnableModuleCommand     string               // enable-module-command: no, yes, local
	ShutdownOnSigint        string               // shutdown-on-sigint flags ("default", "save now" ...)
	ShutdownOnSigterm       string               // shutdown-on-sigterm flags
	ShutdownTimeout         int                  // shutdown-timeout (s)
	ProcTitleTemplate       string               // proc-title-template
	Supervised              string               // supervised
	ACLFile                 string               // aclfile
	ACLPubsubDefault        string               // acl-pubsub-default
	OOMScoreAdjValues       [3]int               // oom-score-adj-values
	RenameCommands          []RenameCommand      // rename-command directives, in order
	Users                   [][]string           // user directives (arguments after "user")

	// Cluster.
	ClusterAnnouncePort             int    // cluster-announce-port
	ClusterAnnounceBusPort          int    // cluster-announce-bus-port
	ClusterAnnounceTLSPort          int    // cluster-announce-tls-port
	ClusterAnnounceHostname         string // cluster-announce-hostname
	ClusterPreferredEndpointType    string // cluster-preferred-endpoint-type: ip, hostname, unknown-endpoint
	ClusterReplicaNoFailover        bool   // cluster-replica-no-failover
	ClusterAllowReplicaMigration    bool   // cluster-allow-replica-migration
	ClusterAllowPubsubshardWhenDown bool   // cluster-allow-pubsubshard-when-down
	ClusterLinkSendbufLimit         int64  // cluster-link-sendbuf-limit (bytes, clamped to int64)

	// Replication.
	ReplicaOf              string // replicaof: "host port" or "" for a master
	MasterUser             string // masteruser
	ReplicaPriority        int    // replica-priority
	ReplicaAnnounceIP      string // replica-announce-ip
	ReplicaAnnouncePort    int    // replica-announce-port
	ReplicaAnnounced       bool   // replica-announced
	ReplicaServeStaleData  bool   // replica-serve-stale-data
	ReplicaLazyFlush       bool   // replica-lazy-flush
	ReplicaIgnoreMaxmemory bool   // replica-ignore-maxmemory
	ReplTimeout            int    // repl-timeout (s)
	ReplPingReplicaPeriod  int    // repl-ping-replica-period (s)
	ReplBacklogTTL         int64  // repl-backlog-ttl (s)
	ReplDisklessSync       bool   // repl-diskless-sync
	ReplDisklessSyncDelay  int    // repl-diskless-sync-delay (s)
	ReplDisklessLoad       string // repl-diskless-load
	MinReplicasToWrite     int    // min-replicas-to-write
	MinReplicasMaxLag      int    // min-replicas-max-lag

	// Persistence.
	AppendDirname            string // appenddirname
	AutoAOFRewritePercentage int    // auto-aof-rewrite-percentage
	AutoAOFRewriteMinSize    int64  // auto-aof-rewrite-min-size
	AOFUseRDBPreamble        bool   // aof-use-rdb-preamble
	AOFLoadTruncated         bool   // aof-load-truncated
	AOFTimestampEnabled      bool   // aof-timestamp-enabled
	NoAppendfsyncOnRewrite   bool   // no-appendfsync-on-rewrite
	RDBCompression           bool   // rdbcompression
	RDBChecksum              bool   // rdbchecksum
	RDBDelSyncFiles          bool   // rdb-del-sync-files
	StopWritesOnBgsaveError  bool   // stop-writes-on-bgsave-error
	SanitizeDumpPayload      string // sanitize-dump-payload: no, yes, clients

	// LogLevelVar, when set (NewLogger sets it), follows loglevel so that
	// CONFIG SET loglevel takes effect at once.
	LogLevelVar *LevelVar

	// extra holds the CONFIG GET text of options redcluster does not act
	// on, by primary name.
	extra map[string]string
	// exact keeps unsigned 64-bit values that do not fit their int64 field
	// (maxmemory, cluster-link-sendbuf-limit), by primary name.
	exact map[string]uint64
	// saveLoaded is set once a "save" line has replaced the default save
	// points while reading configuration files (Redis resets them once).
	saveLoaded bool
}

// OutputBufferLimit is one class of client-output-buffer-limit.
type OutputBufferLimit struct {
	Hard, Soft  uint64 // bytes, 0 = no limit
	SoftSeconds int64
}

// RenameCommand is a rename-command directive; To "" removes the command.
type RenameCommand struct{ From, To string }

// SavePoint is one "save <seconds> <changes>" pair.
type SavePoint struct {
	Seconds int64
	Changes int
}

// Default returns redis-server 7.0's defaults.
func Default() *Config {
	c := &Config{extra: map[string]string{}, exact: map[string]uint64{}}
	for _, o := range optionTable {
		if err := o.setDefault(c); err != "" {
			panic("config: bad default for " + o.name + ": " + err)
		}
	}
	return c
}

// Clone returns a deep copy of c (LogLevelVar stays shared).
func (c *Config) Clone() *Config {
	n := *c
	n.Bind = append([]string(nil), c.Bind...)
	n.LatencyTrackingInfoPercentiles = append([]float64(nil), c.LatencyTrackingInfoPercentiles...)
	n.RenameCommands = append([]RenameCommand(nil), c.RenameCommands...)
	n.Users = append([][]string(nil), c.Users...)
	n.extra = make(map[string]string, len(c.extra))
	for k, v := range c.extra {
		n.extra[k] = v
	}
	n.exact = make(map[string]uint64, len(c.exact))
	for k, v := range c.exact {
		n.exact[k] = v
	}
	return &n
}

// SavePoints returns the save option parsed into pairs.
func (c *Config) SavePoints() []SavePoint {
	f := splitSpaces(c.Save)
	out := make([]SavePoint, 0, len(f)/2)
	for i := 0; i+1 < len(f); i += 2 {
		s, _, _ := strtoll(f[i], 10)
		ch, _, _ := strtoll(f[i+1], 10)
		out = append(out, SavePoint{Seconds: s, Changes: int(ch)})
	}
	return out
}

// NotifyFlags returns notify-keyspace-events as Redis's NOTIFY_* bit set
// (K=1, E=2, g=4, $=8, l=16, s=32, h=64, z=128, x=256, e=512, t=1024,
// m=2048, d=8192, n=16384).
func (c *Config) NotifyFlags() int { return keyspaceEventsToFlags(c.NotifyKeyspaceEvents) }
