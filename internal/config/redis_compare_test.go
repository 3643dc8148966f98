package config

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startupCase is a redis-server command line that must fail at start-up.
// Files are written into a temporary working directory first; "{dir}" in
// args and files stands for that directory.
type startupCase struct {
	name  string
	args  []string
	files map[string]string
	stdin string
}

var startupCases = []startupCase{
	{name: "not an integer", args: []string{"--port", "abc"}},
	{name: "unknown option", args: []string{"--foo", "bar"}},
	{name: "not yes or no", args: []string{"--daemonize", "maybe"}},
	{name: "bad memory", args: []string{"--maxmemory", "1x"}},
	{name: "negative memory", args: []string{"--maxmemory", "-1"}},
	{name: "plus memory", args: []string{"--maxmemory", "+1"}},
	{name: "bad enum", args: []string{"--loglevel", "loud"}},
	{name: "bad policy", args: []string{"--maxmemory-policy", "lru"}},
	{name: "port range", args: []string{"--port", "70000"}},
	{name: "negative port", args: []string{"--port", "-1"}},
	{name: "bad dir", args: []string{"--dir", "/nonexistent-redcluster-dir"}},
	{name: "dir is a file", args: []string{"--dir", "{dir}/a.conf"}, files: map[string]string{"a.conf": ""}},
	{name: "bad logfile", args: []string{"--logfile", "/nonexistent-redcluster-dir/x.log"}},
	{name: "logfile is a dir", args: []string{"--logfile", "{dir}"}},
	{name: "odd save", args: []string{"--save", "10"}},
	{name: "zero save seconds", args: []string{"--save", "0 1"}},
	{name: "negative save changes", args: []string{"--save", "10", "-1"}},
	{name: "missing value", args: []string{"--port"}},
	{name: "two values", args: []string{"--port", "1", "2"}},
	{name: "value in the option arg", args: []string{"--port 6380 abc"}},
	{name: "single dash word", args: []string{"-x"}},
	{name: "module config without value", args: []string{"--foo.bar"}},
	{name: "replicaof in cluster", args: []string{"--replicaof", "127.0.0.1", "1", "--cluster-enabled", "yes"}},
	{name: "bad master port", args: []string{"--replicaof", "127.0.0.1", "99999"}},
	{name: "replicaof one arg", args: []string{"--replicaof", "127.0.0.1"}},
	{name: "databases zero", args: []string{"--databases", "0"}},
	{name: "too many binds", args: []string{"--bind", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17"}},
	{name: "dbfilename path", args: []string{"--dbfilename", "a/b"}},
	{name: "empty appendfilename", args: []string{"--appendfilename", ""}},
	{name: "appenddirname path", args: []string{"--appenddirname", "a/b"}},
	{name: "percent too big", args: []string{"--maxmemory-clients", "200%"}},
	{name: "negative percent", args: []string{"--maxmemory-clients", "-5%"}},
	{name: "octal", args: []string{"--unixsocketperm", "999"}},
	{name: "octal range", args: []string{"--unixsocketperm", "1777"}},
	{name: "shutdown flags", args: []string{"--shutdown-on-sigint", "save", "nosave"}},
	{name: "shutdown bad flag", args: []string{"--shutdown-on-sigterm", "later"}},
	{name: "unknown command rename", args: []string{"--rename-command", "nosuch", "x"}},
	{name: "rename target exists", args: []string{"--rename-command", "get", "set"}},
	{name: "hz not integer", args: []string{"--hz", "1.5"}},
	{name: "notify class", args: []string{"--notify-keyspace-events", "KEZ"}},
	{name: "obuf args", args: []string{"--client-output-buffer-limit", "normal 1 2"}},
	{name: "obuf master", args: []string{"--client-output-buffer-limit", "master", "0", "0", "0"}},
	{name: "obuf bad hard", args: []string{"--client-output-buffer-limit", "normal", "x", "0", "0"}},
	{name: "obuf negative seconds", args: []string{"--client-output-buffer-limit", "pubsub", "1", "1", "-1"}},
	{name: "oom values count", args: []string{"--oom-score-adj-values", "1", "2"}},
	{name: "oom values range", args: []string{"--oom-score-adj-values", "1 2 3000"}},
	{name: "percentile range", args: []string{"--latency-tracking-info-percentiles", "101"}},
	{name: "percentile not a number", args: []string{"--latency-tracking-info-percentiles", "50 abc"}},
	{name: "hostname chars", args: []string{"--cluster-announce-hostname", "a b"}},
	{name: "proc title variable", args: []string{"--proc-title-template", "{foo}"}},
	{name: "proc title empty", args: []string{"--proc-title-template", "{title}"}},
	{name: "proc title brace", args: []string{"--proc-title-template", "{title"}},
	{name: "appendonly", args: []string{"--appendonly", "maybe"}},
	{name: "proto-max-bulk-len range", args: []string{"--proto-max-bulk-len", "1000"}},
	{name: "query buffer range", args: []string{"--client-query-buffer-limit", "1k"}},
	{name: "memory overflow into signed", args: []string{"--proto-max-bulk-len", "99999999999999999999"}},
	{name: "maxclients zero", args: []string{"--maxclients", "0"}},
	{name: "maxclients negative", args: []string{"--maxclients", "-1"}},
	{name: "size_t negative", args: []string{"--hash-max-listpack-entries", "-1"}},
	{name: "alias error", args: []string{"--hash-max-ziplist-value", "x"}},
	{name: "leading zero", args: []string{"--timeout", "010"}},
	{name: "deprecated accepted then error", args: []string{"--list-max-ziplist-entries", "5", "--port", "x"}},
	{name: "deprecated wrong arity", args: []string{"--list-max-ziplist-entries", "5", "6"}},
	{name: "save then option", args: []string{"--save", "--port", "abc"}},
	{name: "value that looks like an option", args: []string{"--requirepass", "--port", "--port", "abc"}},
	{name: "quoted value", args: []string{"--port", "a\"b c\n"}},
	{name: "binary value", args: []string{"--port", "\x01\xff"}},
	{name: "case-insensitive names", args: []string{"--PORT", "abc"}},
	{name: "sentinel in file", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "sentinel monitor x 127.0.0.1 1 1\n"}},
	{name: "file line numbers", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "# comment\n\n  port 7000  \r\nbind 127.0.0.1\nmaxmemory 10mb\ntimeout abc\n"}},
	{name: "file then options", args: []string{"{dir}/a.conf", "--port", "abc"}, files: map[string]string{"a.conf": "port 7000\nhz 20\n"}},
	{name: "file without final newline", args: []string{"{dir}/a.conf", "--port", "abc"}, files: map[string]string{"a.conf": "port 7000"}},
	{name: "unbalanced quotes", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "port 7000\nrequirepass \"abc\n"}},
	{name: "quote not followed by space", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "requirepass \"abc\"def\n"}},
	{name: "single quotes", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "dbfilename 'a\\'/b'\n"}},
	{name: "multi-arg in one string", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "save \"900 1 300\"\n"}},
	{name: "include error", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "port 7000\ninclude {dir}/b.conf\n", "b.conf": "\nhz 5\nfoo bar\n"}},
	{name: "include missing", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "include {dir}/missing.conf\n"}},
	{name: "include relative", args: []string{"a.conf"}, files: map[string]string{"a.conf": "include b.conf\n", "b.conf": "timeout x\n"}},
	{name: "include after dir", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "dir {dir}/sub\ninclude c.conf\n", "sub/c.conf": "hz x\n"}},
	{name: "include glob", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "include {dir}/inc/*.conf\nport x\n", "inc/1.conf": "hz 5\n", "inc/2.conf": "timeout 5\n"}},
	{name: "include glob no match", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "include {dir}/none/*.conf\nport x\n"}},
	{name: "include wrong arity", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "include a b\n"}},
	{name: "missing config file", args: []string{"/nonexistent-redcluster-dir/redis.conf"}},
	{name: "missing relative config file", args: []string{"missing.conf", "--port", "1"}},
	{name: "stdin", args: []string{"-"}, stdin: "port 7000\nport abc\n"},
	{name: "file and stdin", args: []string{"{dir}/a.conf", "-"}, files: map[string]string{"a.conf": "hz 5\n"}, stdin: "timeout x\n"},
	{name: "stdin then option", args: []string{"-", "--port", "x"}, stdin: "hz 5"},
	{name: "dash in the middle", args: []string{"--port", "-", "--hz", "1"}},
	{name: "dash at the end as value", args: []string{"--port", "-"}, stdin: "hz 5\n"},
	{name: "logfile in included file", args: []string{"{dir}/a.conf"}, files: map[string]string{"a.conf": "include {dir}/b.conf\nport x\n", "b.conf": "logfile /nonexistent-redcluster-dir/log\n"}},
	{name: "activedefrag", args: []string{"--activedefrag", "yes"}},
	{name: "help", args: []string{"--help"}},
	{name: "test memory without size", args: []string{"--test-memory"}},
}

var redisPrefix = regexp.MustCompile(`(?m)^\d+:C \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} `)

// normalizeStdout drops the pid and time of log lines and Redis's stdin
// notice.
func normalizeStdout(s string) string {
	var out []string
	for _, l := range strings.SplitAfter(redisPrefix.ReplaceAllString(s, ""), "\n") {
		if l == "" || strings.Contains(l, "Reading config from stdin") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}

func (tc startupCase) prepare(t *testing.T) (dir string, args []string) {
	dir = t.TempDir()
	for name, content := range tc.files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(strings.ReplaceAll(content, "{dir}", dir)), 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	for _, a := range tc.args {
		args = append(args, strings.ReplaceAll(a, "{dir}", dir))
	}
	return dir, args
}

// runRedis runs redis-server with args in dir and returns what it printed
// and its exit code.
func runRedis(t *testing.T, bin, dir string, args []string, stdin string) (stdout, stderr string, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("redis-server %q did not fail at start-up (stdout %q)", args, o.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

var testCommands = map[string]bool{"get": true, "set": true, "keys": true, "config": true, "flushall": true}

// loadForTest runs our loader like the binary would, in dir.
func loadForTest(t *testing.T, dir string, args []string, stdin string) (stdout, stderr string, code int) {
	t.Chdir(dir)
	l := &Loader{Stdin: strings.NewReader(stdin), KnownCommand: func(n string) bool { return testCommands[n] }}
	_, err := l.Load(args)
	if err == nil {
		return "", "", 0
	}
	var ee *ExitError
	require.ErrorAs(t, err, &ee)
	return ee.Stdout, ee.Stderr, ee.Code
}

// TestStartupErrorsMatchRedis feeds each bad command line to redis-server
// and to our loader and requires the same output and exit code.
func TestStartupErrorsMatchRedis(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	for _, tc := range startupCases {
		t.Run(tc.name, func(t *testing.T) {
			dir, args := tc.prepare(t)
			rOut, rErr, rCode := runRedis(t, bin, dir, args, tc.stdin)
			oOut, oErr, oCode := loadForTest(t, dir, args, tc.stdin)
			require.Equal(t, rErr, oErr, "stderr for %q", args)
			require.Equal(t, normalizeStdout(rOut), normalizeStdout(oOut), "stdout for %q", args)
			require.Equal(t, rCode, oCode, "exit code for %q", args)
			require.NotZero(t, oCode)
		})
	}
}
