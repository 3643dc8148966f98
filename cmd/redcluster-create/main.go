// Command redcluster-create forms a cluster out of empty cluster-enabled
// nodes, sending the same commands as `redis-cli --cluster create`
// (ADDSLOTSRANGE, SET-CONFIG-EPOCH, MEET, REPLICATE), for places that have no
// redis-cli: the redcluster:local image run by docker-compose.yml is built
// FROM scratch.
//
//	redcluster-create [-replicas 1] [-timeout 2m] host:port host:port ...
//
// The first N/(replicas+1) nodes become masters with equal slot ranges; the
// others replicate them in turn. Host names are resolved (CLUSTER MEET takes
// IP addresses only). When the nodes already form a cluster (containers
// restarted with their nodes.conf), it only waits for cluster_state:ok, so it
// is safe to run on every `docker compose up`. Exit status 0 once every node
// reports cluster_state:ok, 1 on error or timeout, 2 on bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("redcluster-create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	replicas := fs.Int("replicas", 1, "replicas per master")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long (nodes starting, agreeing, cluster_state:ok)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: redcluster-create [-replicas N] [-timeout D] host:port host:port ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *replicas < 0 {
		fmt.Fprintln(stderr, "redcluster-create: -replicas must be >= 0")
		return 2
	}
	if _, err := plan(fs.NArg(), *replicas); err != nil {
		fmt.Fprintln(stderr, "redcluster-create:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := create(ctx, fs.Args(), *replicas, stdout); err != nil {
		fmt.Fprintln(stderr, "redcluster-create:", err)
		return 1
	}
	return 0
}
