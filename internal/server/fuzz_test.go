package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/redcluster/redcluster/internal/config"
	"github.com/redcluster/redcluster/internal/resp"
)

// fuzzServer is a server with no listener and one client whose socket is
// one end of a pipe drained in the background.
func fuzzServer(tb testing.TB, cluster bool) (*Server, *Client) {
	cfg := config.Default()
	cfg.Port = 0
	cfg.Bind = []string{"127.0.0.1"}
	cfg.Databases = 2 // keeps New cheap: each database holds two 16384-entry arrays
	if cluster {
		cfg.ClusterEnabled = true
		cfg.ClusterConfigFile = filepath.Join(tb.TempDir(), "nodes.conf")
	}
	s := New(cfg, zerolog.Nop())
	s.persist.dir = tb.TempDir() // SAVE, FLUSHALL: never the package folder
	a, b := net.Pipe()
	go io.Copy(io.Discard, b)
	tb.Cleanup(func() { a.Close(); b.Close() })
	c := &Client{ID: 1, nc: a, Addr: "pipe", W: resp.NewWriter(), Created: time.Now(), Authed: true}
	return s, c
}

// corpusSeeds returns the argument vectors of every differential corpus line.
func corpusSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	files, _ := filepath.Glob("../../tests/diff/corpus*/*.txt")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || line[0] == '#' {
				continue
			}
			if line[0] == '@' {
				word, rest, _ := strings.Cut(line, " ")
				if word != "@unordered" && word != "@shape" && word != "@ignore" {
					continue
				}
				line = rest
			}
			args, ok := resp.SplitArgs([]byte(line))
			if !ok || len(args) == 0 {
				continue
			}
			seeds = append(seeds, bytes.Join(args, []byte{0}))
		}
	}
	return seeds
}

// unsafeCommands are left out of fuzzing: they stop the server, sleep or
// block the fuzzing goroutine by design.
var unsafeCommands = map[string]bool{"shutdown": true, "debug": true, "blpop": true, "brpop": true,
	"blmove": true, "brpoplpush": true, "blmpop": true, "bzpopmin": true, "bzpopmax": true,
	"bzmpop": true, "subscribe": true, "psubscribe": true, "ssubscribe": true, "client": true,
	"quit": true, "reset": true, "config": true, "monitor": true, "sync": true, "psync": true,
	"replicaof": true, "slaveof": true, "wait": true, "cluster": true,
	"bgsave": true}

// FuzzDispatch runs arbitrary argument vectors (NUL-separated) through the
// whole command path. No input may panic the server or leave a reply that
// is not valid RESP.
func FuzzDispatch(f *testing.F) {
	for _, s := range corpusSeeds(f) {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, cluster bool) {
		s, c := fuzzServer(t, cluster)
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			args := bytes.Split(line, []byte{0})
			if len(args) == 0 || len(args[0]) == 0 || len(args) > 64 {
				continue
			}
			if unsafeCommands[strings.ToLower(string(args[0]))] {
				continue
			}
			c.W.Reset()
			s.dispatch(c, args)
			if c.blk != nil {
				t.Skip("a command blocked")
			}
			if c.W.Len() == 0 && !c.InMulti {
				// every command replies (REPLY OFF is reached only through CLIENT)
				t.Fatalf("no reply to %q", args)
			}
		}
	})
}
