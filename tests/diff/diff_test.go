// Package diff runs scripted command sequences against redis-server 7.0 and
// bin/redcluster side by side and compares the replies byte for byte.
//
// Corpus files (corpus/*.txt standalone, corpus-cluster/*.txt with
// --cluster-enabled yes and every slot assigned) hold one command per line in
// redis-cli's quoting (Redis's sdssplitargs rules). Each file runs on fresh
// connections after FLUSHALL. Lines starting with '#' are comments. Directives:
//
//	@unordered CMD ...   compare the top-level array's elements as a multiset
//	@shape CMD ...       compare only the reply's type and, for aggregates, length
//	@ignore CMD ...      run on both, compare nothing (setup with random output)
//	@sleep MS            wait MS milliseconds (time-based behaviour: expiry)
//	@raw "BYTES"         send raw bytes (quoted with \r \n \xHH escapes), compare one reply
//	@rawnoreply "BYTES"  send raw bytes, read nothing
//	@closed              both servers must have closed the connection; reconnect
//	@reconnect           open fresh connections (RESP2, db 0)
package diff

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/testutil"
)

type pair struct {
	redis, ours *testutil.Proc
}

func startPair(t *testing.T, extra ...string) pair {
	redisBin := testutil.RedisServer(t)
	ours := testutil.Binary(t)
	return pair{redis: testutil.Start(t, redisBin, extra...), ours: testutil.Start(t, ours, extra...)}
}

func TestDiffStandalone(t *testing.T) {
	files, _ := filepath.Glob("corpus/*.txt")
	if len(files) == 0 {
		t.Fatal("no corpus files")
	}
	p := startPair(t)
	for _, f := range files {
		f := f
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runFile(t, p, f) })
	}
}

func TestDiffCluster(t *testing.T) {
	files, _ := filepath.Glob("corpus-cluster/*.txt")
	if len(files) == 0 {
		t.Skip("no cluster corpus files yet")
	}
	p := startPair(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	for _, proc := range []*testutil.Proc{p.redis, p.ours} {
		c, err := testutil.Dial(proc.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.DoStrings("CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil || string(r) != "+OK\r\n" {
			t.Fatalf("ADDSLOTSRANGE on %s: %q %v", proc.Addr(), r, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, _ := c.DoStrings("CLUSTER", "INFO")
			if bytes.Contains(r, []byte("cluster_state:ok")) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: cluster_state not ok: %q", proc.Addr(), r)
			}
			time.Sleep(20 * time.Millisecond)
		}
		c.Close()
	}
	for _, f := range files {
		f := f
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runFile(t, p, f) })
	}
}

type session struct {
	t          *testing.T
	p          pair
	redis, our *testutil.Conn
}

func (s *session) connect() {
	s.close()
	var err error
	if s.redis, err = testutil.Dial(s.p.redis.Addr()); err != nil {
		s.t.Fatal(err)
	}
	if s.our, err = testutil.Dial(s.p.ours.Addr()); err != nil {
		s.t.Fatal(err)
	}
}

func (s *session) close() {
	if s.redis != nil {
		s.redis.Close()
		s.our.Close()
	}
}

func runFile(t *testing.T, p pair, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, p: p}
	s.connect()
	defer s.close()
	for _, c := range []*testutil.Conn{s.redis, s.our} {
		c.DoStrings("FLUSHALL")
	}
	failures := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d: %s", path, lineNo, line)
		mode := ""
		if strings.HasPrefix(line, "@") {
			word, rest, _ := strings.Cut(line, " ")
			switch word {
			case "@unordered", "@shape", "@ignore":
				mode = word
				line = rest
			case "@sleep":
				ms, _ := strconv.Atoi(rest)
				time.Sleep(time.Duration(ms) * time.Millisecond)
				continue
			case "@reconnect":
				s.connect()
				continue
			case "@closed":
				for name, c := range map[string]*testutil.Conn{"redis": s.redis, "ours": s.our} {
					if r, err := c.ReadReply(2 * time.Second); err == nil {
						t.Errorf("%s\n  %s did not close the connection; it sent %q", where, name, r)
						failures++
					}
				}
				s.connect()
				continue
			case "@raw", "@rawnoreply":
				parts, ok := resp.SplitArgs([]byte(rest))
				if !ok || len(parts) != 1 {
					t.Fatalf("%s: bad @raw argument", where)
				}
				s.redis.WriteRaw(parts[0])
				s.our.WriteRaw(parts[0])
				if word == "@rawnoreply" {
					continue
				}
				a, errA := s.redis.ReadReply(5 * time.Second)
				b, errB := s.our.ReadReply(5 * time.Second)
				if !bytes.Equal(a, b) || (errA == nil) != (errB == nil) {
					t.Errorf("%s\n  redis: %q (%v)\n  ours:  %q (%v)", where, a, errA, b, errB)
					failures++
				}
				continue
			default:
				t.Fatalf("%s: unknown directive %s", where, word)
			}
		}
		args, ok := resp.SplitArgs([]byte(line))
		if !ok || len(args) == 0 {
			t.Fatalf("%s: cannot split line", where)
		}
		a, errA := s.redis.Do(args...)
		b, errB := s.our.Do(args...)
		if errA != nil {
			t.Fatalf("%s\n  redis-server failed: %v (reply so far %q)", where, errA, a)
		}
		if errB != nil {
			t.Errorf("%s\n  ours failed: %v (reply so far %q); redis: %q", where, errB, b, a)
			failures++
			s.connect()
			continue
		}
		if !same(mode, a, b) {
			t.Errorf("%s\n  redis: %q\n  ours:  %q", where, a, b)
			failures++
		}
		if failures > 50 {
			t.Fatalf("too many differences in %s; stopping", path)
		}
	}
}

func same(mode string, a, b []byte) bool {
	switch mode {
	case "@ignore":
		return true
	case "@shape":
		return shape(a) == shape(b)
	case "@unordered":
		ha, ea := elements(a)
		hb, eb := elements(b)
		if ha != hb {
			return false
		}
		sort.Strings(ea)
		sort.Strings(eb)
		return strings.Join(ea, "\x00") == strings.Join(eb, "\x00")
	}
	return bytes.Equal(a, b)
}

// shape is the reply's type byte plus, for aggregates, its length line.
func shape(r []byte) string {
	if len(r) == 0 {
		return ""
	}
	switch r[0] {
	case '*', '~', '%', '>':
		i := bytes.IndexByte(r, '\r')
		return string(r[:i])
	}
	return string(r[:1])
}

// elements splits a top-level aggregate reply into its header line and the
// raw bytes of each element (map entries keep key and value together).
func elements(r []byte) (string, []string) {
	if len(r) == 0 || !strings.ContainsRune("*~%>", rune(r[0])) {
		return string(r), nil
	}
	i := bytes.IndexByte(r, '\r')
	header := string(r[:i])
	n, _ := strconv.Atoi(header[1:])
	per := 1
	if r[0] == '%' {
		per = 2
	}
	rd := bufio.NewReader(bytes.NewReader(r[i+2:]))
	var out []string
	for k := 0; k < n; k++ {
		var buf bytes.Buffer
		for j := 0; j < per; j++ {
			if err := testutil.ReadValue(rd, &buf); err != nil {
				return header, append(out, "<error>")
			}
		}
		out = append(out, buf.String())
	}
	return header, out
}
