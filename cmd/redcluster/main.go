// Command redcluster is a Redis Cluster node, launched like redis-server:
//
//	redcluster [/path/to/redis.conf] [--name value ...]
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/server"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := config.Load(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := zerolog.New(os.Stderr).With().Timestamp().Int("pid", os.Getpid()).Logger()
	srv := server.New(cfg, log)
	if err := srv.Listen(); err != nil {
		log.Error().Err(err).Msg("listen")
		return 1
	}
	log.Info().Int("port", cfg.Port).Msg("Ready to accept connections")
	srv.Serve()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case <-srv.Done():
	}
	srv.Close()
	return 0
}
