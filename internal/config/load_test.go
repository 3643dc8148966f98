package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestArgsToOptions(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		file    string
		stdin   bool
		options string
	}{
		{[]string{"--port", "7000"}, "", false, `port "7000" `},
		{[]string{"a.conf", "--port", "7000", "--bind", "1", "2"}, "a.conf", false, "port \"7000\" \nbind \"1\" \"2\" "},
		{[]string{"--port 7000"}, "", false, "port 7000 "},
		{[]string{"--port 7000", "--hz", "5"}, "", false, "port 7000 \nhz \"5\" "},
		{[]string{"--save", "--port", "1"}, "", false, "save \"\"\nport \"1\" "},
		{[]string{"--port", "1", "--save"}, "", false, "port \"1\" \nsave \"\""},
		{[]string{"--save", ""}, "", false, `save "" `},
		{[]string{"--requirepass", "--x"}, "", false, `requirepass "--x" `},
		{[]string{"-"}, "", true, ""},
		{[]string{"a.conf", "-"}, "a.conf", true, ""},
		{[]string{"--port", "-"}, "", true, "port "},
		{[]string{"--port", "-", "--hz", "1"}, "", false, "port \"-\" \nhz \"1\" "},
		{[]string{"-x"}, "", false, `"-x" `},
		{[]string{"--requirepass", "a b\"c\n"}, "", false, `requirepass "a b\"c\n" `},
		{[]string{"--sentinel", "--port", "1"}, "", false, "sentinel \nport \"1\" "},
	} {
		file, stdin, options := ArgsToOptions(tc.args)
		require.Equal(t, tc.file, file, "%q", tc.args)
		require.Equal(t, tc.stdin, stdin, "%q", tc.args)
		require.Equal(t, tc.options, options, "%q", tc.args)
	}
}

// loadFiles writes files into a temporary directory, changes to it and
// loads args there.
func loadFiles(t *testing.T, files map[string]string, args ...string) (*Config, error) {
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(strings.ReplaceAll(content, "{dir}", dir)), 0o644))
	}
	t.Chdir(dir)
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "{dir}", dir)
	}
	return (&Loader{}).Load(args)
}

func TestLoadFile(t *testing.T) {
	c, err := loadFiles(t, map[string]string{
		"redis.conf": `# a comment
PORT 7000
port 7001
Bind 127.0.0.1 ::1
slave-read-only no
maxmemory 2GB
maxmemory-policy "allkeys-lru"
requirepass 'it\'s'
save 900 1
save 300 10
hash-max-ziplist-entries 64
list-max-ziplist-entries 5
notify-keyspace-events "KEA"
cluster-enabled yes
include sub/extra.conf
rename-command KEYS ""
user alice on >pw ~* +@all
`,
		"sub/extra.conf": "timeout 30\n",
	}, "redis.conf", "--hz", "20", "--timeout", "40")
	require.NoError(t, err)
	require.Equal(t, 7001, c.Port, "later lines win")
	require.Equal(t, []string{"127.0.0.1", "::1"}, c.Bind)
	require.False(t, c.ReplicaReadOnly)
	require.Equal(t, int64(2<<30), c.MaxMemory)
	require.Equal(t, "allkeys-lru", c.MaxMemoryPolicy)
	require.Equal(t, "900 1 300 10", c.Save, "save lines in a file add up")
	require.Equal(t, int64(64), c.HashMaxListpackEntries)
	require.Equal(t, "AKE", c.NotifyKeyspaceEvents)
	require.True(t, c.ClusterEnabled)
	require.Equal(t, 40, c.Timeout, "command-line options come last")
	require.Equal(t, "it's", c.RequirePass)
	require.Equal(t, 20, c.HZ)
	require.Equal(t, []RenameCommand{{From: "keys", To: ""}}, c.RenameCommands)
	require.Equal(t, [][]string{{"alice", "on", ">pw", "~*", "+@all"}}, c.Users)
	wd, _ := os.Getwd()
	require.Equal(t, filepath.Join(wd, "redis.conf"), c.ConfigFile)
}

func TestLoadSave(t *testing.T) {
	for _, tc := range []struct {
		args []string
		file string
		want string
	}{
		{nil, "", "3600 1 300 100 60 10000"},
		{[]string{"--save", ""}, "", ""},
		{[]string{"--save", "10 1"}, "", "10 1"},
		{[]string{"--save", "10", "1"}, "", "10 1"},
		{[]string{"--save", "10 1", "--save", "20 2"}, "", "10 1 20 2"},
		{[]string{"--save"}, "", ""},
		{[]string{"--save", "--port", "7000"}, "", ""},
		{[]string{"--save", "", "--save", "5 5"}, "", "5 5"},
		{[]string{"--save", "+5 0"}, "", "5 0"},
		{nil, "save 900 1\nsave \"\"\nsave 60 5\n", "60 5"},
		// after an include the file is no longer "being read": save resets
		{nil, "save 900 1\ninclude {dir}/empty.conf\nsave 60 5\n", "60 5"},
	} {
		files := map[string]string{"empty.conf": ""}
		args := tc.args
		if tc.file != "" {
			files["redis.conf"] = tc.file
			args = append([]string{"redis.conf"}, args...)
		}
		var c *Config
		var err error
		if len(args) == 0 {
			c = Default()
		} else {
			c, err = loadFiles(t, files, args...)
		}
		require.NoError(t, err, "%q", args)
		require.Equal(t, tc.want, c.Save, "%q %q", args, tc.file)
	}
}

func TestLoadDirAndIncludes(t *testing.T) {
	c, err := loadFiles(t, map[string]string{
		"a.conf":       "dir {dir}/data\ninclude b.conf\n",
		"data/b.conf":  "hz 7\n",
		"inc/1.conf":   "timeout 1\n",
		"inc/2.conf":   "timeout 2\n",
		"other.conf":   "include {dir}/inc/*.conf\ninclude {dir}/none/*.conf\n",
		"data/x/.keep": "",
	}, "a.conf", "--include", "{dir}/other.conf")
	require.NoError(t, err)
	require.Equal(t, 7, c.HZ, "relative includes follow dir")
	require.Equal(t, 2, c.Timeout, "glob includes load in order")
	wd, _ := os.Getwd()
	require.Equal(t, "data", filepath.Base(wd))
	got, _ := c.Get("dir")
	require.Equal(t, wd, got)
}

func TestLoadStdin(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	l := &Loader{Stdin: strings.NewReader("port 7000\ntimeout 9")}
	c, err := l.Load([]string{"-", "--port", "7001"})
	require.NoError(t, err)
	require.Equal(t, 7001, c.Port)
	require.Equal(t, 9, c.Timeout)
	require.Empty(t, c.ConfigFile)
}

func TestLoadHZClamp(t *testing.T) {
	c, err := Load([]string{"--hz", "0"})
	require.NoError(t, err)
	require.Equal(t, 1, c.HZ)
	c, err = Load([]string{"--hz", "100000"})
	require.NoError(t, err)
	require.Equal(t, 500, c.HZ)
}

func TestLoadRedcusterLimits(t *testing.T) {
	for _, tc := range []struct {
		args           []string
		stderr, stdout string
	}{
		{[]string{"--daemonize", "yes"}, "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'daemonize \"yes\"'\n" +
			"daemonize yes is not supported: redcluster always runs in the foreground (use a process supervisor)\n", ""},
		{[]string{"--tls-port", "6380"}, "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nTLS is not supported by redcluster\n", ""},
		{[]string{"--sentinel"}, "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nSentinel mode is not supported by redcluster\n", ""},
		{[]string{"--loadmodule", "/x.so"}, "", "# Module /x.so failed to load: modules are not supported by redcluster\n"},
		{[]string{"--mod.opt", "1"}, "", "# Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting\n"},
	} {
		_, err := (&Loader{Now: func() string { return "T" }}).Load(tc.args)
		var ee *ExitError
		require.ErrorAs(t, err, &ee, "%q", tc.args)
		require.Equal(t, 1, ee.Code)
		require.Equal(t, tc.stderr, ee.Stderr, "%q", tc.args)
		require.Equal(t, tc.stdout, normalizeStdout(strings.Replace(ee.Stdout, " T ", " 01 Jan 2000 00:00:00.000 ", 1)), "%q", tc.args)
	}
	c, err := Load([]string{"--daemonize", "yes", "--daemonize", "no"})
	require.NoError(t, err)
	require.False(t, c.Daemonize)
}

func TestLoadSpecialArgs(t *testing.T) {
	_, err := Load([]string{"--version"})
	var ee *ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 0, ee.Code)
	require.Contains(t, ee.Stdout, "Redis server v=7.0.15 ")
	_, err = Load([]string{"-h"})
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 1, ee.Code)
	require.True(t, strings.HasPrefix(ee.Stderr, "Usage: ./redis-server [/path/to/redis.conf] [options] [-]\n"))
	_, err = Load([]string{"--check-system"})
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 0, ee.Code)
}

func TestLoadRenameCommand(t *testing.T) {
	known := map[string]bool{"get": true, "set": true, "keys": true}
	l := &Loader{KnownCommand: func(n string) bool { return known[n] }}
	c, err := l.Load([]string{"--rename-command", "GET", "fetch", "--rename-command", "set", "get", "--rename-command", "fetch", "set"})
	require.NoError(t, err)
	require.Equal(t, []RenameCommand{{"get", "fetch"}, {"set", "get"}, {"fetch", "set"}}, c.RenameCommands)
	_, err = l.Load([]string{"--rename-command", "get", "x", "--rename-command", "get", "y"})
	require.ErrorContains(t, err, "No such command in rename-command")
	_, err = l.Load([]string{"--rename-command", "keys", "set"})
	require.ErrorContains(t, err, "Target command name already exists")
	_, err = l.Load([]string{"--rename-command", "keys", "keys"})
	require.NoError(t, err)
}

func TestAbsolutePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	wd, _ := os.Getwd()
	require.Equal(t, "/etc/redis.conf", absolutePath(" /etc/redis.conf\n"))
	require.Equal(t, wd+"/a.conf", absolutePath("a.conf"))
	require.Equal(t, filepath.Dir(wd)+"/a.conf", absolutePath("../a.conf"))
	require.Equal(t, wd+"/./a.conf", absolutePath("./a.conf"))
}
