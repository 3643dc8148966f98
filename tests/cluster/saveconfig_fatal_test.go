package cluster_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

// TestConfigSaveFailureIsFatal: when nodes.conf cannot be written after a
// change of cluster state, the node exits, as Redis 7.0 does
// (clusterSaveConfigOrDie), rather than go on with a state it did not
// record. CLUSTER SAVECONFIG only replies with the error.
func TestConfigSaveFailureIsFatal(t *testing.T) {
	confDir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(confDir, "sub"), 0o755))
	p := testutil.Start(t, testutil.Binary(t), "--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(confDir, "sub", "nodes.conf"))
	c, err := testutil.Dial(p.Addr())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, os.RemoveAll(filepath.Join(confDir, "sub")))
	r, err := c.DoStrings("CLUSTER", "SAVECONFIG")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(r), "-ERR error saving the cluster node config: No such file or directory"), string(r))
	r, err = c.DoStrings("PING")
	require.NoError(t, err)
	require.Equal(t, "+PONG\r\n", string(r), "SAVECONFIG's failure is not fatal")
	_, _ = c.DoStrings("CLUSTER", "ADDSLOTS", "1")
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(p.Log)
		if !strings.Contains(string(b), "Fatal: can't update cluster config file.") {
			return false
		}
		d, err := testutil.Dial(p.Addr())
		if err == nil {
			d.Close()
		}
		return err != nil
	}, 10*time.Second, 20*time.Millisecond, "the node logs the fatal error and exits")
}

// TestConfigSaveFailureAtStartIsFatal: a node that cannot write its first
// nodes.conf exits with Redis's message (clusterInit).
func TestConfigSaveFailureAtStartIsFatal(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "server.log")
	cmd := exec.Command(testutil.Binary(t), "--port", strconv.Itoa(testutil.FreePort(t)), "--bind", "127.0.0.1",
		"--dir", dir, "--logfile", logPath, "--save", "", "--appendonly", "no", "--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(dir, "missing", "nodes.conf"))
	done := make(chan error, 1)
	require.NoError(t, cmd.Start())
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		require.Equal(t, 1, ee.ExitCode())
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the node did not exit")
	}
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Contains(t, string(b), "Fatal: can't update cluster config file.")
	require.NotContains(t, string(b), "Failed listening")
}
