package cluster_test

// Data checks of the failover tests (issue 4): keys written across all
// slots and acknowledged with WAIT, then read back through the masters
// that serve them and, with READONLY, through their replicas.

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/testutil"
)

// keyset is what the cluster acknowledged: key -> the value last written.
type keyset map[string]string

// slotKeys returns one key per slot: slotKeys()[s] hashes to slot s.
func slotKeys() []string {
	keys := make([]string, slots.Count)
	left := slots.Count
	for i := 0; left > 0; i++ {
		k := "dk:" + strconv.Itoa(i)
		if s := slots.KeySlotString(k); keys[s] == "" {
			keys[s] = k
			left--
		}
	}
	return keys
}

// topology is a CLUSTER NODES view reduced to what the data checks need.
type topology struct {
	owner    [slots.Count]string // slot -> address of the master serving it
	replicas map[string][]string // master address -> its live replicas
}

// topologyOf reads addr's CLUSTER NODES; every slot must be served.
func topologyOf(addr string) (*topology, error) {
	ns, err := nodesOf(addr)
	if err != nil {
		return nil, err
	}
	tp := &topology{replicas: map[string][]string{}}
	for _, n := range ns {
		if !n.flags["master"] || n.flags["fail"] || n.flags["fail?"] {
			continue
		}
		for _, r := range n.slots {
			if strings.HasPrefix(r, "[") {
				continue // a migrating/importing mark
			}
			lo, hi, _ := strings.Cut(r, "-")
			a, err1 := strconv.Atoi(lo)
			b := a
			var err2 error
			if hi != "" {
				b, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil || a < 0 || b >= slots.Count || a > b {
				return nil, fmt.Errorf("bad slot range %q of %s", r, n.addr)
			}
			for s := a; s <= b; s++ {
				tp.owner[s] = n.addr
			}
		}
	}
	for _, n := range ns {
		if n.flags["slave"] && !n.flags["fail"] && !n.flags["fail?"] {
			if m, ok := ns[n.master]; ok {
				tp.replicas[m.addr] = append(tp.replicas[m.addr], n.addr)
			}
		}
	}
	for s, a := range tp.owner {
		if a == "" {
			return nil, fmt.Errorf("%s: slot %d is not served", addr, s)
		}
	}
	return tp, nil
}

// pipeline sends cmds on one connection to addr (writing from another
// goroutine, so that neither side's buffers can block the other) and
// returns the raw replies.
func pipeline(addr string, cmds [][]string) ([]string, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		bw := bufio.NewWriterSize(nc, 64<<10)
		for _, c := range cmds {
			args := make([][]byte, len(c))
			for i, a := range c {
				args[i] = []byte(a)
			}
			if _, werr = bw.Write(testutil.Encode(args)); werr != nil {
				return
			}
		}
		werr = bw.Flush()
	}()
	br := bufio.NewReaderSize(nc, 64<<10)
	out := make([]string, 0, len(cmds))
	for range cmds {
		var b bytes.Buffer
		if err := testutil.ReadValue(br, &b); err != nil {
			nc.Close()
			wg.Wait()
			return out, fmt.Errorf("reply %d of %d from %s: %w", len(out)+1, len(cmds), addr, err)
		}
		out = append(out, b.String())
	}
	wg.Wait()
	return out, werr
}

// writeAcked writes one key per slot (value round:key) through the
// masters serving them, then WAITs on each master for all of its replicas;
// it fails the test unless every write is OK and every WAIT reaches all
// replicas. The acknowledged keys are recorded in ks.
func writeAcked(t *testing.T, addr string, ks keyset, round string) {
	t.Helper()
	tp, err := topologyOf(addr)
	if err != nil {
		t.Fatal(err)
	}
	byMaster := map[string][]string{}
	for s, k := range slotKeys() {
		byMaster[tp.owner[s]] = append(byMaster[tp.owner[s]], k)
	}
	for m, keys := range byMaster {
		cmds := make([][]string, 0, len(keys)+1)
		for _, k := range keys {
			cmds = append(cmds, []string{"SET", k, round + ":" + k})
		}
		n := len(tp.replicas[m])
		cmds = append(cmds, []string{"WAIT", strconv.Itoa(n), "15000"})
		rs, err := pipeline(m, cmds)
		if err != nil {
			t.Fatalf("writing %d keys to %s: %v", len(keys), m, err)
		}
		for i, k := range keys {
			if rs[i] != "+OK\r\n" {
				t.Fatalf("SET %s on %s: %q", k, m, rs[i])
			}
		}
		if want := ":" + strconv.Itoa(n) + "\r\n"; rs[len(keys)] != want {
			t.Fatalf("WAIT %d on %s after %d writes: %q, want %q (replicas %v)", n, m, len(keys), rs[len(keys)], want, tp.replicas[m])
		}
		for _, k := range keys {
			ks[k] = round + ":" + k
		}
	}
}

// readBack GETs the keys of ks that lie in the slots selected by in from
// addr (after READONLY when readonly) and returns a description of every
// key missing or holding another value ("" when none).
func readBack(addr string, ks keyset, readonly bool, in func(slot int) bool) (string, error) {
	var keys []string
	for k := range ks {
		if in(slots.KeySlotString(k)) {
			keys = append(keys, k)
		}
	}
	var cmds [][]string
	if readonly {
		cmds = append(cmds, []string{"READONLY"})
	}
	for _, k := range keys {
		cmds = append(cmds, []string{"GET", k})
	}
	rs, err := pipeline(addr, cmds)
	if err != nil {
		return "", err
	}
	if readonly {
		if rs[0] != "+OK\r\n" {
			return "", fmt.Errorf("READONLY on %s: %q", addr, rs[0])
		}
		rs = rs[1:]
	}
	var bad []string
	for i, k := range keys {
		want := "$" + strconv.Itoa(len(ks[k])) + "\r\n" + ks[k] + "\r\n"
		if rs[i] != want {
			bad = append(bad, fmt.Sprintf("%s=%q (want %q)", k, short(rs[i]), short(ks[k])))
		}
	}
	if len(bad) == 0 {
		return "", nil
	}
	n := len(bad)
	if n > 5 {
		bad = append(bad[:5], "...")
	}
	return fmt.Sprintf("%d of %d keys wrong on %s: %s", n, len(keys), addr, strings.Join(bad, ", ")), nil
}

// verifyMasters checks that every key of ks holds its value on the master
// that serves it in addr's view.
func verifyMasters(t *testing.T, addr string, ks keyset) {
	t.Helper()
	tp, err := topologyOf(addr)
	if err != nil {
		t.Fatal(err)
	}
	masters := map[string]bool{}
	for _, a := range tp.owner {
		masters[a] = true
	}
	for m := range masters {
		// A CLUSTERDOWN reply is the node's view of the cluster's health
		// (a loaded machine can make nodes time out for a moment), not a
		// lost key: read again while the node answers it.
		deadline := time.Now().Add(20 * time.Second)
		for {
			bad, err := readBack(m, ks, false, func(s int) bool { return tp.owner[s] == m })
			if err != nil {
				t.Fatal(err)
			}
			if bad == "" {
				break
			}
			if !strings.Contains(bad, "CLUSTERDOWN") || time.Now().After(deadline) {
				t.Fatalf("acknowledged keys lost: %s", bad)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// verifyReplicas checks, for every master of addr's view, that each of its
// live replicas serves the same keys and values with READONLY (and the
// same DBSIZE), polling while the replica catches up; without READONLY a
// read on the replica is redirected to its master.
func verifyReplicas(t *testing.T, addr string, ks keyset) {
	t.Helper()
	tp, err := topologyOf(addr)
	if err != nil {
		t.Fatal(err)
	}
	for m, rs := range tp.replicas {
		for _, r := range rs {
			// The slot of any key m serves: a plain read is MOVED to m.
			var probe string
			for k := range ks {
				if tp.owner[slots.KeySlotString(k)] == m {
					probe = k
					break
				}
			}
			if probe != "" {
				if got, err := cmd(r, "GET", probe); err != nil || !strings.HasPrefix(got, "-MOVED ") || !strings.HasSuffix(strings.TrimSpace(got), m) {
					t.Fatalf("GET %s on replica %s without READONLY: %q %v, want MOVED to %s", probe, r, got, err, m)
				}
			}
			poll(t, 30*time.Second, "replica "+r+" of "+m+" holds the master's data", func() (bool, string) {
				bad, err := readBack(r, ks, true, func(s int) bool { return tp.owner[s] == m })
				if err != nil {
					return false, err.Error()
				}
				if bad != "" {
					return false, bad
				}
				md, err1 := cmd(m, "DBSIZE")
				rd, err2 := cmd(r, "DBSIZE")
				if err1 != nil || err2 != nil || md != rd {
					return false, fmt.Sprintf("DBSIZE master %s %q, replica %s %q (%v %v)", m, md, r, rd, err1, err2)
				}
				return true, ""
			})
		}
	}
}

// waitLinkUp polls addr's INFO replication until master_link_status:up.
func waitLinkUp(t *testing.T, addr string, timeout time.Duration) {
	t.Helper()
	poll(t, timeout, addr+": master_link_status:up", func() (bool, string) {
		r, err := cmd(addr, "INFO", "replication")
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(r, "master_link_status:up\r\n"), bulk(r)
	})
}

// waitAllLinksUp waits until every replica of addr's view has its link up.
func waitAllLinksUp(t *testing.T, addr string) {
	t.Helper()
	tp, err := topologyOf(addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range tp.replicas {
		for _, r := range rs {
			waitLinkUp(t, r, 30*time.Second)
		}
	}
}

// ackedWriter writes to one master from a goroutine, each SET followed by
// WAIT 1, until stop or an error (the master was killed); the keys whose
// WAIT reached the replica are acknowledged.
type ackedWriter struct {
	acked keyset
	done  chan struct{}
	stop  chan struct{}
	err   error
	n     atomic.Int64 // len(acked), readable while running
}

// startAckedWriter starts writing new keys (lk:<n>) in the slots in, which
// addr serves.
func startAckedWriter(addr string, in func(slot int) bool) *ackedWriter {
	w := &ackedWriter{acked: keyset{}, done: make(chan struct{}), stop: make(chan struct{})}
	go func() {
		defer close(w.done)
		c, err := testutil.Dial(addr)
		if err != nil {
			w.err = err
			return
		}
		defer c.Close()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			k := "lk:" + strconv.Itoa(i)
			if !in(slots.KeySlotString(k)) {
				continue
			}
			v := "live:" + k
			if err := c.WriteRaw(append(testutil.Encode([][]byte{[]byte("SET"), []byte(k), []byte(v)}),
				testutil.Encode([][]byte{[]byte("WAIT"), []byte("1"), []byte("2000")})...)); err != nil {
				w.err = err
				return
			}
			r1, err1 := c.ReadReply(5 * time.Second)
			r2, err2 := c.ReadReply(5 * time.Second)
			if err1 != nil || err2 != nil {
				w.err = fmt.Errorf("%v %v", err1, err2)
				return
			}
			if string(r1) == "+OK\r\n" && string(r2) == ":1\r\n" {
				w.acked[k] = v
				w.n.Add(1)
			}
		}
	}()
	return w
}

// wait stops the writer (if still running) and returns the keys acknowledged.
func (w *ackedWriter) wait() keyset {
	select {
	case <-w.done:
	default:
		close(w.stop)
		<-w.done
	}
	return w.acked
}

// merge adds the entries of b to a.
func (a keyset) merge(b keyset) {
	for k, v := range b {
		a[k] = v
	}
}

// short truncates s for error messages.
func short(s string) string {
	if len(s) > 48 {
		return s[:48] + "..."
	}
	return s
}

// killUnderWrites kills sh.master (kill -9) while a writer writes to it
// (SET + WAIT 1) and returns the keys WAIT acknowledged before it died and
// the time of the kill.
func killUnderWrites(t *testing.T, sh shard) (keyset, time.Time) {
	t.Helper()
	tp, err := topologyOf(sh.master.Addr())
	if err != nil {
		t.Fatal(err)
	}
	w := startAckedWriter(sh.master.Addr(), func(s int) bool { return tp.owner[s] == sh.master.Addr() })
	poll(t, 20*time.Second, "100 writes acknowledged by WAIT before the kill", func() (bool, string) {
		return w.n.Load() >= 100, fmt.Sprintf("%d acknowledged, writer error %v", w.n.Load(), w.err)
	})
	at := time.Now()
	if err := sh.master.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	return w.wait(), at
}

// lagBurst writes 5000 keys of 4 KB to sh.master without WAIT while
// sh.replica is stopped (SIGSTOP), so that the replica lags behind by
// 20 MB when it is resumed; it returns the keys the master acknowledged.
// A manual failover started right after must wait for the replica to
// catch up with the paused master, or these keys are lost.
func lagBurst(t *testing.T, sh shard) keyset {
	t.Helper()
	tp, err := topologyOf(sh.master.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	burst := keyset{}
	pad := strings.Repeat("x", 4096)
	for i := 0; len(cmds) < 5000; i++ {
		k := "mf:" + strconv.Itoa(i)
		if tp.owner[slots.KeySlotString(k)] == sh.master.Addr() {
			cmds = append(cmds, []string{"SET", k, "burst:" + k + pad})
			burst[k] = "burst:" + k + pad
		}
	}
	if err := sh.replica.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	rs, err := pipeline(sh.master.Addr(), cmds)
	sh.replica.Cmd.Process.Signal(syscall.SIGCONT)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r != "+OK\r\n" {
			t.Fatalf("%v on %s: %q", cmds[i][:2], sh.master.Addr(), r)
		}
	}
	return burst
}
