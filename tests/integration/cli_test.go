package integration

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

// cliScript is fed to redis-cli on stdin; its output (formatted as a user
// sees it with --no-raw, and raw) must be the same for both servers.
const cliScript = `SET greeting "hello world"
GET greeting
APPEND greeting !
STRLEN greeting
INCR counter
INCRBYFLOAT counter 1.5
MSET a 1 b 2
MGET a b missing
RPUSH list x y z
LRANGE list 0 -1
HSET hash f1 v1 f2 v2
HGET hash f1
HGETALL hash
ZADD z 1 one 2 two 3 three
ZRANGE z 0 -1 WITHSCORES
ZSCORE z two
SADD s 5 3 1
SMEMBERS s
TYPE hash
EXISTS a b nothing
DEL a
GET a
EXPIRE b 100
TTL b
PERSIST b
TTL b
LPOP nothing
HGET hash nothing
GET list
NOSUCH command
MULTI
INCR counter2
INCR counter2
EXEC
`

func runCLI(t *testing.T, port int, extra ...string) string {
	args := append([]string{"-p", strconv.Itoa(port)}, extra...)
	cmd := exec.Command("redis-cli", args...)
	cmd.Stdin = strings.NewReader(cliScript)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

func TestRedisCLISameOutput(t *testing.T) {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli not installed (make test installs it)")
	}
	redisProc := testutil.Start(t, testutil.RedisServer(t))
	ours := testutil.Start(t, testutil.Binary(t))
	for _, mode := range [][]string{{"--no-raw"}, {"--raw"}} {
		want := runCLI(t, redisProc.Port, mode...)
		got := runCLI(t, ours.Port, mode...)
		require.Equal(t, want, got, "redis-cli %v output differs", mode)
	}
}
