package config

import (
	"math"
	"strconv"
	"strings"
)

// C limits used by Redis's option bounds.
const (
	intMax   = math.MaxInt32
	intMin   = math.MinInt32
	uintMax  = math.MaxUint32
	longMax  = math.MaxInt64
	ullMax   = -1 // ULLONG_MAX as an int64 bit pattern (unsigned bounds)
	ssizeMax = math.MaxInt64
)

func boolOpt(name, alias string, fl optFlag, def bool, field func(*Config) any) *option {
	d := "no"
	if def {
		d = "yes"
	}
	return &option{name: name, alias: alias, flags: fl, kind: kindBool, def: d, field: field}
}

func strOpt(name, alias string, fl optFlag, emptyIsNull bool, def string, check func(*Config, string) string, field func(*Config) any) *option {
	return &option{name: name, alias: alias, flags: fl, kind: kindString, def: def, emptyIsNull: emptyIsNull, check: check, field: field}
}

func enumOpt(name, alias string, fl optFlag, items []enumItem, def string, field func(*Config) any) *option {
	return &option{name: name, alias: alias, flags: fl, kind: kindEnum, def: def, items: items, field: field}
}

func numOpt(name, alias string, fl optFlag, lo, hi, def int64, nf numFlag, field func(*Config) any) *option {
	o := &option{name: name, alias: alias, flags: fl, kind: kindNum, lo: lo, hi: hi, nflags: nf, field: field}
	o.def = o.formatNum(def)
	return o
}

func unumOpt(name, alias string, fl optFlag, lo, hi, def int64, nf numFlag, field func(*Config) any) *option {
	o := numOpt(name, alias, fl, lo, hi, def, nf, field)
	o.unsigned = true
	o.def = o.formatNum(def)
	return o
}

func specialOpt(name, alias string, fl optFlag, def string,
	set func(*Config, *env, []string) (int, string), get func(*Config) string,
	rewrite func(*Config, *option, *rewriteState)) *option {
	return &option{name: name, alias: alias, flags: fl, kind: kindSpecial, def: def, setFn: set, getFn: get, rewriteFn: rewrite}
}

func items(names ...string) []enumItem {
	out := make([]enumItem, len(names))
	for i, n := range names {
		out[i] = enumItem{name: n, val: i}
	}
	return out
}

var protectedActionEnum = items("no", "yes", "local")

var shutdownOnSigEnum = []enumItem{{"default", 0}, {"save", 1}, {"nosave", 2}, {"now", 4}, {"force", 8}}

// optionTable lists every redis-server 7.0 option in Redis's order.
var optionTable = []*option{
	// booleans
	boolOpt("rdbchecksum", "", immutable, true, func(c *Config) any { return &c.RDBChecksum }),
	boolOpt("daemonize", "", immutable, false, func(c *Config) any { return &c.Daemonize }),
	boolOpt("io-threads-do-reads", "", immutable, false, nil),
	boolOpt("always-show-logo", "", immutable, false, nil),
	boolOpt("protected-mode", "", 0, true, func(c *Config) any { return &c.ProtectedMode }),
	boolOpt("rdbcompression", "", 0, true, func(c *Config) any { return &c.RDBCompression }),
	boolOpt("rdb-del-sync-files", "", 0, false, func(c *Config) any { return &c.RDBDelSyncFiles }),
	boolOpt("activerehashing", "", 0, true, nil),
	boolOpt("stop-writes-on-bgsave-error", "", 0, true, func(c *Config) any { return &c.StopWritesOnBgsaveError }),
	boolOpt("set-proc-title", "", immutable, true, nil),
	boolOpt("dynamic-hz", "", 0, true, func(c *Config) any { return &c.DynamicHZ }),
	boolOpt("lazyfree-lazy-eviction", "", 0, false, func(c *Config) any { return &c.LazyfreeLazyEviction }),
	boolOpt("lazyfree-lazy-expire", "", 0, false, func(c *Config) any { return &c.LazyfreeLazyExpire }),
	boolOpt("lazyfree-lazy-server-del", "", 0, false, func(c *Config) any { return &c.LazyfreeLazyServerDel }),
	boolOpt("lazyfree-lazy-user-del", "", 0, false, func(c *Config) any { return &c.LazyfreeLazyUserDel }),
	boolOpt("lazyfree-lazy-user-flush", "", 0, false, func(c *Config) any { return &c.LazyfreeLazyUserFlush }),
	boolOpt("repl-disable-tcp-nodelay", "", 0, false, nil),
	boolOpt("repl-diskless-sync", "", 0, true, func(c *Config) any { return &c.ReplDisklessSync }),
	boolOpt("aof-rewrite-incremental-fsync", "", 0, true, nil),
	boolOpt("no-appendfsync-on-rewrite", "", 0, false, func(c *Config) any { return &c.NoAppendfsyncOnRewrite }),
	boolOpt("cluster-require-full-coverage", "", 0, true, func(c *Config) any { return &c.ClusterRequireFullCoverage }),
	boolOpt("rdb-save-incremental-fsync", "", 0, true, nil),
	boolOpt("aof-load-truncated", "", 0, true, func(c *Config) any { return &c.AOFLoadTruncated }),
	boolOpt("aof-use-rdb-preamble", "", 0, true, func(c *Config) any { return &c.AOFUseRDBPreamble }),
	boolOpt("aof-timestamp-enabled", "", 0, false, func(c *Config) any { return &c.AOFTimestampEnabled }),
	boolOpt("cluster-replica-no-failover", "cluster-slave-no-failover", 0, false, func(c *Config) any { return &c.ClusterReplicaNoFailover }),
	boolOpt("replica-lazy-flush", "slave-lazy-flush", 0, false, func(c *Config) any { return &c.ReplicaLazyFlush }),
	boolOpt("replica-serve-stale-data", "slave-serve-stale-data", 0, true, func(c *Config) any { return &c.ReplicaServeStaleData }),
	boolOpt("replica-read-only", "slave-read-only", 0, true, func(c *Config) any { return &c.ReplicaReadOnly }),
	boolOpt("replica-ignore-maxmemory", "slave-ignore-maxmemory", 0, true, func(c *Config) any { return &c.ReplicaIgnoreMaxmemory }),
	boolOpt("jemalloc-bg-thread", "", 0, true, nil),
	withBoolCheck(boolOpt("activedefrag", "", 0, false, nil), checkActiveDefrag),
	boolOpt("syslog-enabled", "", immutable, false, nil),
	boolOpt("cluster-enabled", "", immutable, false, func(c *Config) any { return &c.ClusterEnabled }),
	boolOpt("appendonly", "", denyLoading, false, func(c *Config) any { return &c.AppendOnly }),
	boolOpt("cluster-allow-reads-when-down", "", 0, false, func(c *Config) any { return &c.ClusterAllowReadsWhenDown }),
	boolOpt("cluster-allow-pubsubshard-when-down", "", 0, true, func(c *Config) any { return &c.ClusterAllowPubsubshardWhenDown }),
	boolOpt("crash-log-enabled", "", 0, true, nil),
	boolOpt("crash-memcheck-enabled", "", 0, true, nil),
	boolOpt("use-exit-on-panic", "", hidden, false, nil),
	boolOpt("disable-thp", "", immutable, true, nil),
	boolOpt("cluster-allow-replica-migration", "", 0, true, func(c *Config) any { return &c.ClusterAllowReplicaMigration }),
	boolOpt("replica-announced", "", 0, true, func(c *Config) any { return &c.ReplicaAnnounced }),
	boolOpt("latency-tracking", "", 0, true, func(c *Config) any { return &c.LatencyTracking }),
	boolOpt("aof-disable-auto-gc", "", 0, false, nil),
	boolOpt("replica-ignore-disk-write-errors", "", 0, false, nil),

	// strings
	strOpt("aclfile", "", immutable, false, "", nil, func(c *Config) any { return &c.ACLFile }),
	strOpt("unixsocket", "", immutable, true, "", nil, func(c *Config) any { return &c.UnixSocket }),
	strOpt("pidfile", "", immutable, true, "", nil, func(c *Config) any { return &c.PidFile }),
	strOpt("replica-announce-ip", "slave-announce-ip", 0, true, "", nil, func(c *Config) any { return &c.ReplicaAnnounceIP }),
	strOpt("masteruser", "", sensitive, true, "", nil, func(c *Config) any { return &c.MasterUser }),
	strOpt("cluster-announce-ip", "", 0, true, "", nil, func(c *Config) any { return &c.ClusterAnnounceIP }),
	strOpt("cluster-config-file", "", immutable, false, "nodes.conf", nil, func(c *Config) any { return &c.ClusterConfigFile }),
	strOpt("cluster-announce-hostname", "", 0, true, "", checkHostname, func(c *Config) any { return &c.ClusterAnnounceHostname }),
	strOpt("syslog-ident", "", immutable, false, "redis", nil, nil),
	strOpt("dbfilename", "", protected, false, "dump.rdb", checkDBFilename, func(c *Config) any { return &c.DBFilename }),
	strOpt("appendfilename", "", immutable, false, "appendonly.aof", checkAOFFilename, func(c *Config) any { return &c.AppendFilename }),
	strOpt("appenddirname", "", immutable, false, "appendonlydir", checkAOFDirname, func(c *Config) any { return &c.AppendDirname }),
	strOpt("server_cpulist", "", immutable, true, "", nil, nil),
	strOpt("bio_cpulist", "", immutable, true, "", nil, nil),
	strOpt("aof_rewrite_cpulist", "", immutable, true, "", nil, nil),
	strOpt("bgsave_cpulist", "", immutable, true, "", nil, nil),
	strOpt("ignore-warnings", "", 0, false, "", nil, nil),
	strOpt("proc-title-template", "", 0, false, "{title} {listen-addr} {server-mode}", checkProcTitle, func(c *Config) any { return &c.ProcTitleTemplate }),
	strOpt("bind-source-addr", "", 0, true, "", nil, nil),
	strOpt("logfile", "", immutable, false, "", nil, func(c *Config) any { return &c.LogFile }),
	strOpt("masterauth", "", sensitive, true, "", nil, func(c *Config) any { return &c.MasterAuth }),
	strOpt("requirepass", "", sensitive, true, "", nil, func(c *Config) any { return &c.RequirePass }),

	// enums
	enumOpt("supervised", "", immutable, items("upstart", "systemd", "auto", "no"), "no", func(c *Config) any { return &c.Supervised }),
	enumOpt("syslog-facility", "", immutable, items("user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"), "local0", nil),
	enumOpt("repl-diskless-load", "", denyLoading, items("disabled", "on-empty-db", "swapdb"), "disabled", func(c *Config) any { return &c.ReplDisklessLoad }),
	withPost(enumOpt("loglevel", "", 0, items("debug", "verbose", "notice", "warning"), "notice", func(c *Config) any { return &c.LogLevel }), updateLogLevel),
	enumOpt("maxmemory-policy", "", 0, items("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"), "noeviction", func(c *Config) any { return &c.MaxMemoryPolicy }),
	enumOpt("appendfsync", "", 0, items("everysec", "always", "no"), "everysec", func(c *Config) any { return &c.AppendFsync }),
	enumOpt("oom-score-adj", "", 0, []enumItem{{"no", 0}, {"yes", 1}, {"relative", 1}, {"absolute", 2}}, "no", nil),
	enumOpt("acl-pubsub-default", "", 0, []enumItem{{"allchannels", 1}, {"resetchannels", 0}}, "resetchannels", func(c *Config) any { return &c.ACLPubsubDefault }),
	enumOpt("sanitize-dump-payload", "", 0, items("no", "yes", "clients"), "no", func(c *Config) any { return &c.SanitizeDumpPayload }),
	enumOpt("enable-protected-configs", "", immutable, protectedActionEnum, "no", func(c *Config) any { return &c.EnableProtectedConfigs }),
	enumOpt("enable-debug-command", "", immutable, protectedActionEnum, "no", func(c *Config) any { return &c.EnableDebugCommand }),
	enumOpt("enable-module-command", "", immutable, protectedActionEnum, "no", func(c *Config) any { return &c.EnableModuleCommand }),
	enumOpt("cluster-preferred-endpoint-type", "", 0, items("ip", "hostname", "unknown-endpoint"), "ip", func(c *Config) any { return &c.ClusterPreferredEndpointType }),
	enumOpt("propagation-error-behavior", "", 0, items("ignore", "panic", "panic-on-replicas"), "ignore", nil),
	withEnumCheck(enumOpt("shutdown-on-sigint", "", multiArg, shutdownOnSigEnum, "default", func(c *Config) any { return &c.ShutdownOnSigint }), checkShutdownFlags),
	withEnumCheck(enumOpt("shutdown-on-sigterm", "", multiArg, shutdownOnSigEnum, "default", func(c *Config) any { return &c.ShutdownOnSigterm }), checkShutdownFlags),

	// int
	numOpt("databases", "", immutable, 1, intMax, 16, 0, func(c *Config) any { return &c.Databases }),
	numOpt("port", "", 0, 0, 65535, 6379, 0, func(c *Config) any { return &c.Port }),
	numOpt("io-threads", "", immutable, 1, 128, 1, 0, func(c *Config) any { return &c.IOThreads }),
	numOpt("auto-aof-rewrite-percentage", "", 0, 0, intMax, 100, 0, func(c *Config) any { return &c.AutoAOFRewritePercentage }),
	numOpt("cluster-replica-validity-factor", "cluster-slave-validity-factor", 0, 0, intMax, 10, 0, func(c *Config) any { return &c.ClusterReplicaValidityFactor }),
	numOpt("list-max-listpack-size", "list-max-ziplist-size", 0, intMin, intMax, -2, 0, func(c *Config) any { return &c.ListMaxListpackSize }),
	numOpt("tcp-keepalive", "", 0, 0, intMax, 300, 0, func(c *Config) any { return &c.TCPKeepAlive }),
	numOpt("cluster-migration-barrier", "", 0, 0, intMax, 1, 0, func(c *Config) any { return &c.ClusterMigrationBarrier }),
	numOpt("active-defrag-cycle-min", "", 0, 1, 99, 1, 0, nil),
	numOpt("active-defrag-cycle-max", "", 0, 1, 99, 25, 0, nil),
	numOpt("active-defrag-threshold-lower", "", 0, 0, 1000, 10, 0, nil),
	numOpt("active-defrag-threshold-upper", "", 0, 0, 1000, 100, 0, nil),
	numOpt("lfu-log-factor", "", 0, 0, intMax, 10, 0, func(c *Config) any { return &c.LFULogFactor }),
	numOpt("lfu-decay-time", "", 0, 0, intMax, 1, 0, func(c *Config) any { return &c.LFUDecayTime }),
	numOpt("replica-priority", "slave-priority", 0, 0, intMax, 100, 0, func(c *Config) any { return &c.ReplicaPriority }),
	numOpt("repl-diskless-sync-delay", "", 0, 0, intMax, 5, 0, func(c *Config) any { return &c.ReplDisklessSyncDelay }),
	numOpt("maxmemory-samples", "", 0, 1, intMax, 5, 0, func(c *Config) any { return &c.MaxMemorySamples }),
	numOpt("maxmemory-eviction-tenacity", "", 0, 0, 100, 10, 0, func(c *Config) any { return &c.MaxMemoryEvictionTenacity }),
	numOpt("timeout", "", 0, 0, intMax, 0, 0, func(c *Config) any { return &c.Timeout }),
	numOpt("replica-announce-port", "slave-announce-port", 0, 0, 65535, 0, 0, func(c *Config) any { return &c.ReplicaAnnouncePort }),
	numOpt("tcp-backlog", "", immutable, 0, intMax, 511, 0, func(c *Config) any { return &c.TCPBacklog }),
	numOpt("cluster-port", "", immutable, 0, 65535, 0, 0, func(c *Config) any { return &c.ClusterPort }),
	numOpt("cluster-announce-bus-port", "", 0, 0, 65535, 0, 0, func(c *Config) any { return &c.ClusterAnnounceBusPort }),
	numOpt("cluster-announce-port", "", 0, 0, 65535, 0, 0, func(c *Config) any { return &c.ClusterAnnouncePort }),
	numOpt("cluster-announce-tls-port", "", 0, 0, 65535, 0, 0, func(c *Config) any { return &c.ClusterAnnounceTLSPort }),
	numOpt("repl-timeout", "", 0, 1, intMax, 60, 0, func(c *Config) any { return &c.ReplTimeout }),
	numOpt("repl-ping-replica-period", "repl-ping-slave-period", 0, 1, intMax, 10, 0, func(c *Config) any { return &c.ReplPingReplicaPeriod }),
	numOpt("list-compress-depth", "", 0, 0, intMax, 0, 0, func(c *Config) any { return &c.ListCompressDepth }),
	numOpt("rdb-key-save-delay", "", hidden, intMin, intMax, 0, 0, nil),
	numOpt("key-load-delay", "", hidden, intMin, intMax, 0, 0, nil),
	numOpt("active-expire-effort", "", 0, 1, 10, 1, 0, func(c *Config) any { return &c.ActiveExpireEffort }),
	withPost(numOpt("hz", "", 0, 0, intMax, 10, 0, func(c *Config) any { return &c.HZ }), clampHZ),
	numOpt("min-replicas-to-write", "min-slaves-to-write", 0, 0, intMax, 0, 0, func(c *Config) any { return &c.MinReplicasToWrite }),
	numOpt("min-replicas-max-lag", "min-slaves-max-lag", 0, 0, intMax, 10, 0, func(c *Config) any { return &c.MinReplicasMaxLag }),
	numOpt("watchdog-period", "", hidden, 0, intMax, 0, 0, nil),
	numOpt("shutdown-timeout", "", 0, 0, intMax, 10, 0, func(c *Config) any { return &c.ShutdownTimeout }),
	numOpt("repl-diskless-sync-max-replicas", "", 0, 0, intMax, 0, 0, nil),

	// unsigned int
	unumOpt("maxclients", "", 0, 1, uintMax, 10000, 0, func(c *Config) any { return &c.MaxClients }),
	unumOpt("unixsocketperm", "", immutable, 0, 0o777, 0, numOctal, func(c *Config) any { return &c.UnixSocketPerm }),
	unumOpt("socket-mark-id", "", immutable, 0, uintMax, 0, 0, nil),

	// unsigned long
	unumOpt("active-defrag-max-scan-fields", "", 0, 1, longMax, 1000, 0, nil),
	unumOpt("slowlog-max-len", "", 0, 0, longMax, 128, 0, func(c *Config) any { return &c.SlowlogMaxLen }),
	unumOpt("acllog-max-len", "", 0, 0, longMax, 128, 0, func(c *Config) any { return &c.ACLLogMaxLen }),

	// long long
	numOpt("busy-reply-threshold", "lua-time-limit", 0, 0, longMax, 5000, 0, func(c *Config) any { return &c.BusyReplyThreshold }),
	numOpt("cluster-node-timeout", "", 0, 0, longMax, 15000, 0, func(c *Config) any { return &c.ClusterNodeTimeout }),
	numOpt("slowlog-log-slower-than", "", 0, -1, longMax, 10000, 0, func(c *Config) any { return &c.SlowlogLogSlowerThan }),
	numOpt("latency-monitor-threshold", "", 0, 0, longMax, 0, 0, func(c *Config) any { return &c.LatencyMonitorThreshold }),
	numOpt("proto-max-bulk-len", "", 0, 1024*1024, longMax, 512*1024*1024, numMemory, func(c *Config) any { return &c.ProtoMaxBulkLen }),
	numOpt("stream-node-max-entries", "", 0, 0, longMax, 100, 0, func(c *Config) any { return &c.StreamNodeMaxEntries }),
	numOpt("repl-backlog-size", "", 0, 1, longMax, 1024*1024, numMemory, func(c *Config) any { return &c.ReplBacklogSize }),

	// unsigned long long
	unumOpt("maxmemory", "", 0, 0, ullMax, 0, numMemory, func(c *Config) any { return &c.MaxMemory }),
	unumOpt("cluster-link-sendbuf-limit", "", 0, 0, ullMax, 0, numMemory, func(c *Config) any { return &c.ClusterLinkSendbufLimit }),

	// size_t
	unumOpt("hash-max-listpack-entries", "hash-max-ziplist-entries", 0, 0, longMax, 512, 0, func(c *Config) any { return &c.HashMaxListpackEntries }),
	unumOpt("set-max-intset-entries", "", 0, 0, longMax, 512, 0, func(c *Config) any { return &c.SetMaxIntsetEntries }),
	unumOpt("zset-max-listpack-entries", "zset-max-ziplist-entries", 0, 0, longMax, 128, 0, func(c *Config) any { return &c.ZsetMaxListpackEntries }),
	unumOpt("active-defrag-ignore-bytes", "", 0, 1, longMax, 100<<20, numMemory, nil),
	unumOpt("hash-max-listpack-value", "hash-max-ziplist-value", 0, 0, longMax, 64, numMemory, func(c *Config) any { return &c.HashMaxListpackValue }),
	unumOpt("stream-node-max-bytes", "", 0, 0, longMax, 4096, numMemory, func(c *Config) any { return &c.StreamNodeMaxBytes }),
	unumOpt("zset-max-listpack-value", "zset-max-ziplist-value", 0, 0, longMax, 64, numMemory, func(c *Config) any { return &c.ZsetMaxListpackValue }),
	unumOpt("hll-sparse-max-bytes", "", 0, 0, longMax, 3000, numMemory, func(c *Config) any { return &c.HllSparseMaxBytes }),
	unumOpt("tracking-table-max-keys", "", 0, 0, longMax, 1000000, 0, func(c *Config) any { return &c.TrackingTableMaxKeys }),
	unumOpt("client-query-buffer-limit", "", 0, 1024*1024, longMax, 1024*1024*1024, numMemory, func(c *Config) any { return &c.ClientQueryBufferLimit }),
	numOpt("maxmemory-clients", "", 0, -100, ssizeMax, 0, numMemory|numPercent, func(c *Config) any { return &c.MaxMemoryClients }),

	// time_t, off_t
	numOpt("repl-backlog-ttl", "", 0, 0, longMax, 3600, 0, func(c *Config) any { return &c.ReplBacklogTTL }),
	numOpt("auto-aof-rewrite-min-size", "", 0, 0, longMax, 64*1024*1024, numMemory, func(c *Config) any { return &c.AutoAOFRewriteMinSize }),
	numOpt("loading-process-events-interval-bytes", "", hidden, 1024, intMax, 2*1024*1024, 0, nil),

	// TLS (accepted and stored; redcluster serves plain TCP only)
	numOpt("tls-port", "", 0, 0, 65535, 0, 0, nil),
	numOpt("tls-session-cache-size", "", 0, 0, intMax, 20*1024, 0, nil),
	numOpt("tls-session-cache-timeout", "", 0, 0, intMax, 300, 0, nil),
	boolOpt("tls-cluster", "", 0, false, nil),
	boolOpt("tls-replication", "", 0, false, nil),
	enumOpt("tls-auth-clients", "", 0, items("no", "yes", "optional"), "yes", nil),
	boolOpt("tls-prefer-server-ciphers", "", 0, false, nil),
	boolOpt("tls-session-caching", "", 0, true, nil),
	strOpt("tls-cert-file", "", volatile, true, "", nil, nil),
	strOpt("tls-key-file", "", volatile, true, "", nil, nil),
	strOpt("tls-key-file-pass", "", 0, true, "", nil, nil),
	strOpt("tls-client-cert-file", "", volatile, true, "", nil, nil),
	strOpt("tls-client-key-file", "", volatile, true, "", nil, nil),
	strOpt("tls-client-key-file-pass", "", 0, true, "", nil, nil),
	strOpt("tls-dh-params-file", "", volatile, true, "", nil, nil),
	strOpt("tls-ca-cert-file", "", volatile, true, "", nil, nil),
	strOpt("tls-ca-cert-dir", "", volatile, true, "", nil, nil),
	strOpt("tls-protocols", "", 0, true, "", nil, nil),
	strOpt("tls-ciphers", "", 0, true, "", nil, nil),
	strOpt("tls-ciphersuites", "", 0, true, "", nil, nil),

	// special
	specialOpt("dir", "", protected|denyLoading, ".", setDir, getDir, rewriteDir),
	specialOpt("save", "", multiArg, "3600 1 300 100 60 10000", setSave, func(c *Config) string { return c.Save }, rewriteSave),
	specialOpt("client-output-buffer-limit", "", multiArg, defaultObufLimits, setObufLimits, getObufLimits, rewriteObufLimits),
	specialOpt("oom-score-adj-values", "", multiArg, "0 200 800", setOOMScoreAdjValues, getOOMScoreAdjValues, rewriteOOMScoreAdjValues),
	specialOpt("notify-keyspace-events", "", 0, "", setNotifyKeyspaceEvents, func(c *Config) string { return c.NotifyKeyspaceEvents }, rewriteNotifyKeyspaceEvents),
	specialOpt("bind", "", multiArg, "* -::*", setBind, func(c *Config) string { return strings.Join(c.Bind, " ") }, rewriteBind),
	specialOpt("replicaof", "slaveof", immutable|multiArg, "", setReplicaOf, func(c *Config) string { return c.ReplicaOf }, rewriteReplicaOf),
	specialOpt("latency-tracking-info-percentiles", "", multiArg, "50 99 99.9", setPercentiles, getPercentiles, rewritePercentiles),
}

func withPost(o *option, post func(*Config)) *option {
	o.post = post
	return o
}

func withBoolCheck(o *option, check func(bool) string) *option {
	o.checkBool = check
	return o
}

// checkActiveDefrag refuses activedefrag yes like a Redis built without
// defragmentation support: redcluster has none either.
func checkActiveDefrag(v bool) string {
	if v {
		return "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution"
	}
	return ""
}

func withEnumCheck(o *option, check func(int) string) *option {
	o.checkEnum = check
	return o
}

// optionIndex maps lower-case names and aliases to options; it is built
// once and never changed.
var optionIndex = buildIndex()

type indexEntry struct {
	opt     *option
	isAlias bool
}

func buildIndex() map[string]indexEntry {
	m := make(map[string]indexEntry, 2*len(optionTable))
	for _, o := range optionTable {
		m[o.name] = indexEntry{opt: o}
		if o.alias != "" {
			m[o.alias] = indexEntry{opt: o, isAlias: true}
		}
	}
	return m
}

// lookup finds an option by name or alias, case-insensitively. name is the
// registered name matched (the alias when an alias was used).
func lookup(name string) (o *option, registered string) {
	e, ok := optionIndex[strings.ToLower(name)]
	if !ok {
		return nil, ""
	}
	if e.isAlias {
		return e.opt, e.opt.alias
	}
	return e.opt, e.opt.name
}

func clampHZ(c *Config) {
	if c.HZ < 1 {
		c.HZ = 1
	}
	if c.HZ > 500 {
		c.HZ = 500
	}
}

func updateLogLevel(c *Config) {
	if c.LogLevelVar != nil {
		c.LogLevelVar.Set(c.LogLevel)
	}
}

func checkDBFilename(_ *Config, v string) string {
	if strings.ContainsAny(v, `/\`) {
		return "dbfilename can't be a path, just a filename"
	}
	return ""
}

func checkAOFFilename(_ *Config, v string) string {
	if v == "" {
		return "appendfilename can't be empty"
	}
	if strings.ContainsAny(v, `/\`) {
		return "appendfilename can't be a path, just a filename"
	}
	return ""
}

func checkAOFDirname(_ *Config, v string) string {
	if v == "" {
		return "appenddirname can't be empty"
	}
	if strings.ContainsAny(v, `/\`) {
		return "appenddirname can't be a path, just a dirname"
	}
	return ""
}

func checkHostname(_ *Config, v string) string {
	if len(v) >= 256 {
		return "Hostnames must be less than 256 characters"
	}
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.') {
			return "Hostnames may only contain alphanumeric characters, hyphens or dots"
		}
	}
	return ""
}

func checkShutdownFlags(v int) string {
	if v&1 != 0 && v&2 != 0 {
		return "shutdown options SAVE and NOSAVE can't be used simultaneously"
	}
	return ""
}

// checkProcTitle expands the template like Redis; it is invalid when a
// variable is unknown, a brace is unbalanced or the result is empty.
func checkProcTitle(c *Config, v string) string {
	if s, ok := expandProcTitle(c, v, ""); !ok || s == "" {
		return "template format is invalid or contains unknown variables"
	}
	return ""
}

// expandProcTitle expands a proc-title-template with the given title.
func expandProcTitle(c *Config, tmpl, title string) (string, bool) {
	var b strings.Builder
	p := tmpl
	for len(p) > 0 {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			b.WriteString(p)
			break
		}
		b.WriteString(p[:i])
		p = p[i+1:]
		if len(p) == 0 {
			return "", false
		}
		if p[0] == '{' {
			b.WriteByte('{')
			p = p[1:]
			continue
		}
		j := strings.IndexByte(p, '}')
		if j < 0 {
			return "", false
		}
		switch p[:j] {
		case "title":
			b.WriteString(title)
		case "listen-addr":
			if c.Port != 0 {
				addr := "*"
				if len(c.Bind) > 0 {
					addr = c.Bind[0]
				}
				b.WriteString(addr + ":" + strconv.Itoa(c.Port))
			} else {
				b.WriteString("unixsocket:" + c.UnixSocket)
			}
		case "server-mode":
			if c.ClusterEnabled {
				b.WriteString("[cluster]")
			}
		case "config-file":
			if c.ConfigFile != "" {
				b.WriteString(c.ConfigFile)
			} else {
				b.WriteString("-")
			}
		case "port":
			b.WriteString(strconv.Itoa(c.Port))
		case "tls-port":
			b.WriteString(c.extra["tls-port"])
		case "unixsocket":
			b.WriteString(c.UnixSocket)
		default:
			return "", false
		}
		p = p[j+1:]
	}
	return strings.Trim(b.String(), " "), true
}
