// Package config holds redcluster's settings with redis.conf's names and
// defaults, and parses redis.conf files and "--name value" arguments the way
// redis-server does.
package config

// Config is the node's configuration. Field comments give the redis.conf name.
type Config struct {
	Port                         int      // port
	Bind                         []string // bind
	ProtectedMode                bool     // protected-mode
	Dir                          string   // dir
	LogFile                      string   // logfile
	LogLevel                     string   // loglevel
	Daemonize                    bool     // daemonize
	PidFile                      string   // pidfile
	Databases                    int      // databases
	RequirePass                  string   // requirepass
	MaxClients                   int      // maxclients
	Timeout                      int      // timeout (seconds, 0 = never)
	TCPKeepAlive                 int      // tcp-keepalive (seconds)
	MaxMemory                    int64    // maxmemory (bytes, 0 = no limit)
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
	Save                         string   // save
	DBFilename                   string   // dbfilename
	AppendFilename               string   // appendfilename
	ReplBacklogSize              int64    // repl-backlog-size
	MasterAuth                   string   // masterauth
	ReplicaReadOnly              bool     // replica-read-only
	ProtoMaxBulkLen              int64    // proto-max-bulk-len
	ClientQueryBufferLimit       int64    // client-query-buffer-limit
}

// Default returns redis-server 7.0's defaults.
func Default() *Config {
	return &Config{
		Port:                         6379,
		Bind:                         []string{"*", "-::*"},
		ProtectedMode:                true,
		Dir:                          ".",
		LogLevel:                     "notice",
		Databases:                    16,
		MaxClients:                   10000,
		TCPKeepAlive:                 300,
		MaxMemoryPolicy:              "noeviction",
		MaxMemorySamples:             5,
		ClusterConfigFile:            "nodes.conf",
		ClusterNodeTimeout:           15000,
		ClusterRequireFullCoverage:   true,
		ClusterReplicaValidityFactor: 10,
		ClusterMigrationBarrier:      1,
		AppendFsync:                  "everysec",
		Save:                         "3600 1 300 100 60 10000",
		DBFilename:                   "dump.rdb",
		AppendFilename:               "appendonly.aof",
		ReplBacklogSize:              1 << 20,
		ReplicaReadOnly:              true,
		ProtoMaxBulkLen:              512 << 20,
		ClientQueryBufferLimit:       1 << 30,
	}
}
