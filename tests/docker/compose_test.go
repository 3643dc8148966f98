// Package docker tests the container packaging: `make image` and
// docker-compose.yml at the repository root. It needs a Docker engine and
// the host ports 7000-7005 (published by the compose file), so it only runs
// with REDCLUSTER_DOCKER_TEST=1 (`make test-docker`); `make test` skips it.
package docker

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

const (
	project = "redcluster-dockertest" // compose project, distinct from a user's stack
	subnet  = "172.29.71"             // REDCLUSTER_NET of the test stack (the default is 172.29.70)
	nodes   = 6
)

// TestCompose builds redcluster:local, runs docker-compose.yml, waits for
// the create service and cluster_state:ok on all six nodes, stores and reads
// keys through a cluster client from the host, and tears everything down.
func TestCompose(t *testing.T) {
	if os.Getenv("REDCLUSTER_DOCKER_TEST") != "1" {
		t.Skip("set REDCLUSTER_DOCKER_TEST=1 (make test-docker) to build the image and run docker compose on ports 7000-7005")
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("no usable Docker engine (docker info: %v): %s", err, lastLine(out))
	}
	compose := composeCommand(t)
	for p := 7000; p < 7000+nodes; p++ {
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err != nil {
			t.Fatalf("port %d is busy (make cluster-stop / docker compose down first): %v", p, err)
		} else {
			ln.Close()
		}
	}
	root := testutil.RepoRoot()
	run(t, root, "make", "image")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// dc runs compose on the test project; no ctx, so that the cleanup
	// still runs after a timeout.
	dc := func(args ...string) *exec.Cmd {
		full := append(append(compose[1:], "-p", project, "-f", root+"/docker-compose.yml"), args...)
		cmd := exec.Command(compose[0], full...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "REDCLUSTER_NET="+subnet)
		return cmd
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := dc("logs", "--no-color").CombinedOutput()
			t.Logf("compose logs:\n%s", out)
		}
		out, err := dc("down", "-v", "--remove-orphans").CombinedOutput()
		if err != nil {
			t.Errorf("compose down -v: %v\n%s", err, out)
		}
	})
	out, err := dc("up", "-d").CombinedOutput()
	require.NoError(t, err, "compose up -d:\n%s", out)

	// The one-shot create service must exit 0.
	idOut, err := dc("ps", "-q", "create").Output()
	require.NoError(t, err)
	id := strings.TrimSpace(string(idOut))
	require.NotEmpty(t, id, "no create container")
	var state string
	require.Eventually(t, func() bool {
		o, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", id).Output()
		state = strings.TrimSpace(string(o))
		return err == nil && strings.HasPrefix(state, "exited")
	}, 2*time.Minute, 250*time.Millisecond, "create service still running")
	require.Equal(t, "exited 0", state, "create service failed")

	// Every node, reached through its published port, reports ok.
	for p := 7000; p < 7000+nodes; p++ {
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(p)})
		require.Eventually(t, func() bool {
			info, err := c.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok\r\n") &&
				strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r\n", nodes))
		}, time.Minute, 200*time.Millisecond, "node %d never reported cluster_state:ok", p)
		c.Close()
	}

	// A cluster client started from one published port follows the
	// announced container addresses to every master.
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:7000"}})
	defer cc.Close()
	const keys = 300
	for i := 0; i < keys; i++ {
		require.NoError(t, cc.Set(ctx, fmt.Sprint("docker:", i), i, 0).Err())
	}
	for i := 0; i < keys; i++ {
		require.Equal(t, strconv.Itoa(i), cc.Get(ctx, fmt.Sprint("docker:", i)).Val())
	}
	masters := 0
	require.NoError(t, cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		n, err := c.DBSize(ctx).Result()
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("master %s holds none of the %d keys", c.Options().Addr, keys)
		}
		masters++
		return nil
	}))
	require.Equal(t, 3, masters)

	// redis-cli -c from the host follows MOVED to the container addresses.
	if _, err := exec.LookPath("redis-cli"); err == nil {
		for _, k := range []string{"foo", "bar", "zap"} { // slots 12182, 5061, 6469: one per master
			out, err := exec.CommandContext(ctx, "redis-cli", "-c", "-p", "7000", "set", k, "v-"+k).CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Equal(t, "OK", strings.TrimSpace(string(out)))
			out, err = exec.CommandContext(ctx, "redis-cli", "-c", "-p", "7000", "get", k).CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Equal(t, "v-"+k, strings.TrimSpace(string(out)))
		}
	}
}

// composeCommand returns "docker compose" (v2) or "docker-compose" (v1),
// skipping the test when neither exists.
func composeCommand(t *testing.T) []string {
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if exec.Command("docker-compose", "version").Run() == nil {
		return []string{"docker-compose"}
	}
	t.Skip("neither `docker compose` nor `docker-compose` is installed")
	return nil
}

// run runs a command in dir, failing the test with its output on error.
func run(t *testing.T, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
