// Command redcluster is a Redis Cluster node, launched like redis-server:
//
//	redcluster [/path/to/redis.conf] [--name value ...] [-]
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/redcluster/redcluster/internal/cluster"
	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/server"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cmds := server.CommandTable()
	loader := config.Loader{KnownCommand: func(name string) bool { return cmds.Lookup([]byte(name)) != nil }}
	cfg, err := loader.Load(args)
	if err != nil {
		var ee *config.ExitError
		if errors.As(err, &ee) {
			fmt.Fprint(os.Stdout, ee.Stdout)
			fmt.Fprint(os.Stderr, ee.Stderr)
			return ee.Code
		}
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log, logFile, err := config.NewLogger(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer logFile.Close()
	if stop := startCPUProfile(os.Getenv("REDCLUSTER_CPUPROFILE")); stop != nil {
		defer stop()
	}

	pid := os.Getpid()
	log.Warn().Msg("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
	log.Warn().Msgf("Redis version=%s, bits=%d, commit=00000000, modified=0, pid=%d, just started",
		config.Version, 32<<(^uint(0)>>63), pid)
	if len(args) == 0 {
		log.Warn().Msgf("Warning: no config file specified, using the default config. In order to specify a config file use %s /path/to/redis.conf", os.Args[0])
	} else {
		log.Warn().Msg("Configuration loaded")
	}

	if cfg.UnixSocket != "" {
		log.Warn().Msgf("unixsocket %s is not supported by redcluster: listening on TCP only", cfg.UnixSocket)
	}
	srv := server.New(cfg, log)
	srv.RenameCommands(cfg.RenameCommands)
	if err := srv.Listen(); err != nil {
		log.Warn().Msgf("Warning: %v", err)
		if errors.Is(err, cluster.ErrSaveConfig) {
			// clusterInit's clusterSaveConfigOrDie.
			log.Warn().Msg("Fatal: can't update cluster config file.")
			return 1
		}
		log.Warn().Msgf("Failed listening on port %d (TCP), aborting.", cfg.Port)
		return 1
	}
	mode := "standalone"
	if cfg.ClusterEnabled {
		mode = "cluster"
	}
	log.Info().Msgf("Running mode=%s, port=%d.", mode, cfg.Port)
	if cfg.PidFile != "" {
		if err := os.WriteFile(cfg.PidFile, []byte(fmt.Sprintf("%d\n", pid)), 0o644); err != nil {
			log.Warn().Msgf("Failed to write PID file: %v", err)
		}
	}
	log.Warn().Msg("Server initialized")
	// The dataset loads before clients are served (loadDataFromDisk); a
	// file that cannot be loaded stops the server (logged already).
	if err := srv.LoadDataFromDisk(); err != nil {
		return 1
	}
	srv.Serve()
	log.Info().Msg("Ready to accept connections")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		name := "SIGTERM"
		if s == syscall.SIGINT {
			name = "SIGINT"
		}
		log.Warn().Msgf("Received %s scheduling shutdown...", name)
		log.Warn().Msg("User requested shutdown...")
		// Like SHUTDOWN, a signal runs the shutdown hooks (saving, once
		// persistence exists, when save points are configured).
		if err := srv.RunShutdownHooks(len(cfg.SavePoints()) > 0); err != nil {
			log.Warn().Err(err).Msg("shutdown hooks")
		}
	case <-srv.Done():
	}
	srv.Close()
	if cfg.PidFile != "" {
		log.Info().Msg("Removing the pid file.")
		os.Remove(cfg.PidFile)
	}
	log.Warn().Msg("Redis is now ready to exit, bye bye...")
	return 0
}

// startCPUProfile writes a CPU profile to path (the REDCLUSTER_CPUPROFILE
// environment variable, for performance work) until the returned function
// runs at shutdown; nil when path is empty or the profile cannot start.
func startCPUProfile(path string) func() {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpu profile:", err)
		return nil
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "cpu profile:", err)
		f.Close()
		return nil
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
