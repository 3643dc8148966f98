// Package server is the RESP front end: connections and their state, the
// command table, dispatch (arity, auth, MULTI, cluster routing, slot
// locks) and the command handlers that run on the store.
package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/store"
)

// Server is one redcluster node's RESP side.
type Server struct {
	Cfg   *config.Config
	cfgMu sync.RWMutex
	Log   zerolog.Logger
	KS    *store.Keyspace
	Cmds  Table
	// Router is the cluster routing check; nil in standalone mode.
	Router Router
	// execExpiry routes the DELs of keys that expire inside EXEC into
	// the transaction's MULTI block (multi.go).
	execExpiry execExpirySinks

	// hot copies of settings read on every request
	protoMaxBulkLen atomic.Int64
	queryBufLimit   atomic.Int64
	encLimits       atomic.Pointer[store.Limits] // hash/set encoding thresholds (cmd_hash.go)
	// pubsubOutLimit is client-output-buffer-limit's pubsub class (Deliver).
	pubsubOutLimit atomic.Pointer[config.OutputBufferLimit]

	listeners []net.Listener
	// netLoops are the event loops serving the connections (eventloop.go).
	netLoops  loopSet
	clientsMu sync.Mutex
	clients   map[int64]*Client
	nextID    atomic.Int64

	watch watchRegistry
	// pubsub holds the Pub/Sub subscriptions (pubsub.go).
	pubsub pubsubRegistry
	// startErr is a setup failure (cluster config) that Listen reports.
	startErr error
	// ext is the SERVER/CONNECTION commands' state (info.go).
	ext serverExt
	// evict is the memory sampler and eviction state (evict.go).
	evict evictState
	// activeExpire is the active expiry cursor (expire.go).
	activeExpire expireState
	// blocking holds the clients blocked on keys (blocking.go).
	blocking blockRegistry
	// repl is the replication state (repl.go).
	repl replState
	// persist is the RDB persistence state (persist.go).
	persist persistState

	Stats     Stats
	startTime time.Time
	runID     string
	closing   chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	// serveMu orders Serve's start of its goroutines before Close (whose
	// wg.Wait must not run while they are being added from zero).
	serveMu sync.Mutex
}

// Stats are the counters INFO stats prints.
type Stats struct {
	Connections     atomic.Int64 // total_connections_received
	Commands        atomic.Int64 // total_commands_processed
	Rejected        atomic.Int64 // rejected_connections
	ExpiredKeys     atomic.Int64 // expired_keys
	EvictedKeys     atomic.Int64 // evicted_keys
	KeyspaceHits    atomic.Int64 // keyspace_hits
	KeyspaceMisses  atomic.Int64 // keyspace_misses
	NetInput        atomic.Int64 // total_net_input_bytes
	NetOutput       atomic.Int64 // total_net_output_bytes
	Dirty           atomic.Int64 // rdb_changes_since_last_save
	UnexpectedError atomic.Int64 // total_error_replies
}

// New builds a server from a configuration; it does not listen yet.
func New(cfg *config.Config, log zerolog.Logger) *Server {
	s := &Server{
		Cfg:       cfg,
		Log:       log,
		clients:   make(map[int64]*Client),
		startTime: time.Now(),
		closing:   make(chan struct{}),
		runID:     randomHex(40),
	}
	s.KS = store.NewKeyspace(cfg.Databases, nowMs)
	s.KS.Hooks.Expired = func(db, slot int, key string) {
		s.Stats.ExpiredKeys.Add(1)
		s.touchWatchedString(db, key)
		if !s.execExpiry.feed(s, db, slot, key) {
			s.feedDeletion(db, key)
		}
	}
	s.KS.Hooks.Added = s.keyAdded
	s.protoMaxBulkLen.Store(cfg.ProtoMaxBulkLen)
	s.queryBufLimit.Store(cfg.ClientQueryBufferLimit)
	s.refreshOutputLimits()
	s.refreshEncodingLimits()
	s.Cmds = buildTable()
	s.initReplication()
	if cfg.ClusterEnabled {
		s.startErr = s.initCluster()
	}
	return s
}

func nowMs() int64 { return time.Now().UnixMilli() }

// Listen binds the configured addresses. With no usable bind address it
// fails like redis-server does.
func (s *Server) Listen() error {
	if s.startErr != nil {
		return s.startErr
	}
	addrs := s.Cfg.Bind
	if len(addrs) == 0 {
		addrs = []string{"*"}
	}
	port := strconv.Itoa(s.Cfg.Port)
	for _, a := range addrs {
		optional := false
		if len(a) > 0 && a[0] == '-' {
			optional = true
			a = a[1:]
		}
		network, host := "tcp4", a
		switch a {
		case "*":
			host = "0.0.0.0"
		case "::*":
			network, host = "tcp6", "::"
		}
		if len(host) > 0 && host[0] != '[' && containsColon(host) {
			network = "tcp6"
			host = "[" + host + "]"
		}
		ln, err := net.Listen(network, host+":"+port)
		if err != nil {
			if optional {
				continue
			}
			s.closeListeners()
			return fmt.Errorf("could not create server TCP listening socket %s:%s: %w", a, port, err)
		}
		s.listeners = append(s.listeners, ln)
	}
	if len(s.listeners) == 0 {
		return errors.New("failed listening on any address")
	}
	if err := s.listenCluster(); err != nil {
		s.closeListeners()
		return err
	}
	return nil
}

func containsColon(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return true
		}
	}
	return false
}

func (s *Server) closeListeners() {
	for _, ln := range s.listeners {
		ln.Close()
	}
}

// Addr returns the first listening address (tests use port 0).
func (s *Server) Addr() net.Addr { return s.listeners[0].Addr() }

// Serve accepts connections until Close.
func (s *Server) Serve() {
	s.serveMu.Lock()
	defer s.serveMu.Unlock()
	select {
	case <-s.closing:
		return // closed before it started
	default:
	}
	s.startCron()
	s.startCluster()
	s.replicaOfFromConfig()
	for _, ln := range s.listeners {
		s.wg.Add(1)
		go func(ln net.Listener) {
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
					if errors.As(err, &ne) && ne.Timeout() {
						continue
					}
					if errors.Is(err, net.ErrClosed) {
						return
					}
					s.Log.Warn().Err(err).Msg("accept")
					time.Sleep(10 * time.Millisecond)
					continue
				}
				s.Stats.Connections.Add(1)
				s.wg.Add(1) // before the goroutine starts, so Close's Wait sees it
				go s.serveConn(nc)
			}
		}(ln)
	}
}

// Close stops listening and closes every client connection.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.serveMu.Lock()
		close(s.closing)
		s.serveMu.Unlock()
		s.closeListeners()
		s.clientsMu.Lock()
		for _, c := range s.clients {
			c.nc.Close()
		}
		s.clientsMu.Unlock()
		s.closeReplication()
		s.wg.Wait()
	})
}

// Done is closed when the server shuts down.
func (s *Server) Done() <-chan struct{} { return s.closing }

// RunID is the 40-hex-digit run_id of this process.
func (s *Server) RunID() string { return s.runID }

func randomHex(n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	r := make([]byte, n)
	f, err := os.Open("/dev/urandom")
	if err == nil {
		_, _ = f.Read(r)
		f.Close()
	}
	for i := range b {
		b[i] = hex[r[i]&15]
	}
	return string(b)
}
