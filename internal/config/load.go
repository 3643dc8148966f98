package config

import (
	"github.com/redcluster/redcluster/internal/fsutil"

	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/redcluster/redcluster/internal/resp"
)

// Version is the Redis version redcluster speaks and reports.
const Version = "7.0.15"

// Loader reads configuration like redis-server's main and
// loadServerConfig. The zero value uses the process's stdin, working
// directory and os.Chdir.
type Loader struct {
	Stdin io.Reader          // read for the "-" argument (default os.Stdin)
	Chdir func(string) error // applies "dir" lines (default os.Chdir)
	Now   func() string      // log time stamp for start-up messages (tests)
	// KnownCommand reports whether a (lower-case) command exists, to check
	// rename-command lines; nil accepts every rename.
	KnownCommand func(name string) bool
}

// Load builds a configuration from redis-server style arguments:
// [/path/to/redis.conf] [--name value ...] [-]. Errors are *ExitError
// values carrying exactly what redis-server prints and its exit code.
func Load(args []string) (*Config, error) { return (&Loader{}).Load(args) }

// loadState carries one Load's progress across nested include files.
type loadState struct {
	l       *Loader
	c       *Config
	env     env
	modules []string // module configs (name.with.dots) waiting for a module
	loadmod []string // loadmodule paths
	daemon  *fatalLine
}

type fatalLine struct {
	line int
	text string
}

// Load parses args; see the package-level Load.
func (l *Loader) Load(args []string) (*Config, error) {
	c := Default()
	if len(args) == 0 {
		return c, nil
	}
	if e := specialArgs(args); e != nil {
		return nil, e
	}
	for _, a := range args {
		if a == "--sentinel" {
			return nil, fatalf("Sentinel mode is not supported by redcluster")
		}
	}
	file, fromStdin, options := ArgsToOptions(args)
	if file != "" {
		c.ConfigFile = absolutePath(file)
	}
	st := &loadState{l: l, c: c, env: env{reading: true, chdir: l.chdir}}
	if err := st.loadServerConfig(c.ConfigFile, fromStdin, &options); err != nil {
		return nil, err
	}
	if err := st.finish(); err != nil {
		return nil, err
	}
	return c, nil
}

func (l *Loader) chdir(dir string) error {
	if l.Chdir != nil {
		return l.Chdir(dir)
	}
	return os.Chdir(dir)
}

// specialArgs handles -v/--version, -h/--help, --test-memory and
// --check-system, which redis-server only looks for in the first argument.
func specialArgs(args []string) *ExitError {
	switch args[0] {
	case "-v", "--version":
		return &ExitError{Stdout: fmt.Sprintf("Redis server v=%s sha=00000000:0 malloc=libc bits=64 build=redcluster\n", Version)}
	case "--help", "-h":
		return &ExitError{Stderr: usage, Code: 1}
	case "--test-memory":
		if len(args) == 2 {
			return &ExitError{Stderr: "The memory test is not available in redcluster.\n", Code: 1}
		}
		return &ExitError{Stderr: "Please specify the amount of memory to test in megabytes.\nExample: ./redis-server --test-memory 4096\n\n", Code: 1}
	case "--check-system":
		return &ExitError{}
	}
	return nil
}

const usage = `Usage: ./redis-server [/path/to/redis.conf] [options] [-]
       ./redis-server - (read config from stdin)
       ./redis-server -v or --version
       ./redis-server -h or --help
       ./redis-server --test-memory <megabytes>
       ./redis-server --check-system

Examples:
       ./redis-server (run the server with default conf)
       echo 'maxmemory 128mb' | ./redis-server -
       ./redis-server /etc/redis/6379.conf
       ./redis-server --port 7777
       ./redis-server --port 7777 --replicaof 127.0.0.1 8888
       ./redis-server /etc/myredis.conf --loglevel verbose -
       ./redis-server /etc/myredis.conf --loglevel verbose

Sentinel mode:
       ./redis-server /etc/sentinel.conf --sentinel
`

// ArgsToOptions turns redis-server's arguments into the configuration
// file name (the first argument when it does not start with '-'), whether
// to read stdin ("-" as first or last argument) and the option lines built
// from "--name value ..." (values quoted like sdscatrepr).
func ArgsToOptions(args []string) (file string, fromStdin bool, options string) {
	j := 0
	if args[0] != "" && args[0][0] != '-' {
		file = args[0]
		j = 1
	}
	var b strings.Builder
	handledLast := true
	for ; j < len(args); j++ {
		a := args[j]
		last := j == len(args)-1
		switch {
		case a == "-" && (j == 0 || last):
			fromStdin = true
		case handledLast && strings.HasPrefix(a, "--"):
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(a[2:])
			b.WriteByte(' ')
			parts, _ := resp.SplitArgs([]byte(a))
			if len(parts) != 1 {
				// "--port 6380" in one argument carries its value
				handledLast = true
				continue
			}
			handledLast = false
			nextIsOption := !last && strings.HasPrefix(args[j+1], "--")
			switch {
			case nextIsOption && strings.EqualFold(a, "--save"):
				b.WriteString(`""`)
				handledLast = true
			case last && strings.EqualFold(a, "--save"):
				b.WriteString(`""`)
			case nextIsOption && strings.EqualFold(a, "--sentinel"):
				handledLast = true
			}
		default:
			b.WriteString(Repr(a))
			b.WriteByte(' ')
			handledLast = true
		}
	}
	return file, fromStdin, b.String()
}

// absolutePath is Redis's getAbsolutePath: trims blanks, joins with the
// working directory and folds leading "../".
func absolutePath(p string) string {
	rel := strings.Trim(p, " \r\n\t")
	if strings.HasPrefix(rel, "/") {
		return rel
	}
	wd, err := os.Getwd()
	if err != nil {
		return rel
	}
	abs := wd
	if !strings.HasSuffix(abs, "/") {
		abs += "/"
	}
	for strings.HasPrefix(rel, "../") {
		rel = rel[3:]
		if len(abs) > 1 {
			i := strings.LastIndexByte(abs[:len(abs)-1], '/')
			abs = abs[:i+1]
		}
	}
	return abs + rel
}

// loadServerConfig reads a file (glob patterns allowed), then stdin, then
// the option lines, and applies the result.
func (st *loadState) loadServerConfig(file string, fromStdin bool, options *string) error {
	var text strings.Builder
	if file != "" {
		if strings.ContainsAny(file, "*?[") {
			matches, _ := filepath.Glob(file)
			for _, m := range matches {
				data, err := os.ReadFile(m)
				if err != nil {
					return st.cantOpen(m, err)
				}
				text.Write(data)
			}
		} else {
			data, err := os.ReadFile(file)
			if err != nil {
				return st.cantOpen(file, err)
			}
			text.Write(data)
		}
	}
	if fromStdin {
		in := st.l.Stdin
		if in == nil {
			in = os.Stdin
		}
		data, _ := io.ReadAll(in)
		text.Write(data)
	}
	if options != nil {
		text.WriteByte('\n')
		text.WriteString(*options)
	}
	return st.loadString(text.String())
}

func (st *loadState) cantOpen(file string, err error) error {
	return &ExitError{
		Stdout: st.logLine(fmt.Sprintf("Fatal error, can't open config file '%s': %s", file, fsutil.Strerror(err))),
		Code:   1,
	}
}

// logLine formats a start-up message like redis-server's log before the
// log file is set up.
func (st *loadState) logLine(msg string) string {
	ts := ""
	if st.l.Now != nil {
		ts = st.l.Now()
	} else {
		ts = logTimestamp()
	}
	return fmt.Sprintf("%d:C %s # %s\n", os.Getpid(), ts, msg)
}

// deprecated options that are silently accepted with one argument.
var deprecatedOptions = map[string]bool{
	"list-max-ziplist-entries": true,
	"list-max-ziplist-value":   true,
	"lua-replicate-commands":   true,
}

// loadString applies configuration text line by line like Redis's
// loadServerConfigFromString; the first bad line is fatal.
func (st *loadState) loadString(config string) error {
	st.env.reading = true
	lines := strings.Split(config, "\n")
	for i, raw := range lines {
		line := strings.Trim(raw, " \t\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		msg, err := st.applyLine(i+1, line)
		if err != nil {
			return err
		}
		if msg != "" {
			return fatalAt(i+1, line, msg)
		}
	}
	// the include (or top-level) load is over: later "save" lines reset
	st.env.reading = false
	return st.postChecks()
}

// applyLine applies one configuration line; it returns the error text, or
// the error of an included file.
func (st *loadState) applyLine(lineNo int, line string) (string, error) {
	parts, ok := resp.SplitArgs([]byte(line))
	if !ok {
		return "Unbalanced quotes in configuration line", nil
	}
	if len(parts) == 0 {
		return "", nil
	}
	argv := make([]string, len(parts))
	for k, p := range parts {
		argv[k] = string(p)
	}
	name := strings.ToLower(argv[0])
	if o, _ := lookup(name); o != nil {
		if !o.has(multiArg) && len(argv) != 2 {
			return "wrong number of arguments", nil
		}
		args := argv[1:]
		if o.has(multiArg) && len(argv) == 2 && argv[1] != "" {
			// one argument holding several: "save '900 1 300 10'"
			sub, ok := resp.SplitArgs([]byte(argv[1]))
			args = make([]string, 0, len(sub))
			if ok {
				for _, s := range sub {
					args = append(args, string(s))
				}
			}
		}
		if res, msg := o.set(st.c, &st.env, args); res == setFailed {
			return msg, nil
		}
		if o.name == "daemonize" {
			st.daemon = &fatalLine{line: lineNo, text: line}
		}
		return "", nil
	}
	if deprecatedOptions[name] && len(argv) == 2 {
		return "", nil
	}
	switch {
	case name == "include" && len(argv) == 2:
		// like Redis, the included file's end clears the "reading" state
		// that makes further save lines add points
		if err := st.loadServerConfig(argv[1], false, nil); err != nil {
			return "", err
		}
	case name == "rename-command" && len(argv) == 3:
		if st.l.KnownCommand != nil {
			if !st.commandExists(argv[1]) {
				return "No such command in rename-command", nil
			}
			if argv[2] != "" && !strings.EqualFold(argv[1], argv[2]) && st.commandExists(argv[2]) {
				return "Target command name already exists", nil
			}
		}
		st.c.RenameCommands = append(st.c.RenameCommands, RenameCommand{From: strings.ToLower(argv[1]), To: argv[2]})
	case name == "user" && len(argv) >= 2:
		st.c.Users = append(st.c.Users, argv[1:])
	case name == "loadmodule" && len(argv) >= 2:
		st.loadmod = append(st.loadmod, argv[1])
	case strings.Contains(argv[0], "."):
		if len(argv) < 2 {
			return "Module config specified without value", nil
		}
		st.modules = append(st.modules, argv[0])
	case name == "sentinel":
		if len(argv) != 1 {
			return "sentinel directive while not in sentinel mode", nil
		}
	default:
		return "Bad directive or wrong number of arguments", nil
	}
	return "", nil
}

// commandExists tells whether a command name exists after the
// rename-command lines read so far.
func (st *loadState) commandExists(name string) bool {
	name = strings.ToLower(name)
	exists := st.l.KnownCommand(name)
	for _, r := range st.c.RenameCommands {
		if r.From == name {
			exists = false
		}
		if strings.ToLower(r.To) == name {
			exists = true
		}
	}
	return exists
}

// postChecks runs after each file or string load like Redis: the log file
// must open, replicaof is refused in cluster mode, hz is clamped.
func (st *loadState) postChecks() error {
	c := st.c
	if c.LogFile != "" {
		f, err := os.OpenFile(c.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fatalf("Can't open the log file: %s", fsutil.Strerror(err))
		}
		f.Close()
	}
	if c.ClusterEnabled && c.ReplicaOf != "" {
		return fatalf("replicaof directive not allowed in cluster mode")
	}
	clampHZ(c)
	return nil
}

// finish checks what redis-server would fail on after loading, plus what
// redcluster cannot do (daemonize, modules, TLS).
func (st *loadState) finish() error {
	c := st.c
	if c.Daemonize && st.daemon != nil {
		return fatalAt(st.daemon.line, st.daemon.text,
			"daemonize yes is not supported: redcluster always runs in the foreground (use a process supervisor)")
	}
	if len(st.loadmod) > 0 {
		return &ExitError{Stdout: st.logLine(fmt.Sprintf("Module %s failed to load: modules are not supported by redcluster", st.loadmod[0])), Code: 1}
	}
	if len(st.modules) > 0 {
		return &ExitError{Stdout: st.logLine("Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting"), Code: 1}
	}
	if c.extra["tls-port"] != "0" || c.extra["tls-cluster"] == "yes" || c.extra["tls-replication"] == "yes" {
		return fatalf("TLS is not supported by redcluster")
	}
	return nil
}
