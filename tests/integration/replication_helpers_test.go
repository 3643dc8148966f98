package integration

// Helpers of the replication tests: a raw replica connection that reads a
// master's command stream (replication_stream_test.go) and INFO parsing.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

// streamCmd is one command of a replication stream with the database it
// applies to (the SELECTs of the stream folded into it).
type streamCmd struct {
	db   int
	args []string
}

func (c streamCmd) String() string { return strconv.Itoa(c.db) + " " + strings.Join(c.args, " ") }

// rawReplica is a replica connection driven by the test: it does the PSYNC
// handshake a real replica does, skips the RDB and decodes the command
// stream that follows.
type rawReplica struct {
	nc  net.Conn
	r   *bufio.Reader
	off int64 // master offset of the next byte of the stream
	db  int   // the stream's current database (-1 before any SELECT)
}

// attachRawReplica connects to the master at addr as a replica with
// capa eof and psync2, and reads the full synchronization.
func attachRawReplica(t *testing.T, addr string) *rawReplica {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	rr := &rawReplica{nc: nc, r: bufio.NewReaderSize(nc, 1<<16), db: -1}
	require.NoError(t, nc.SetDeadline(time.Now().Add(20*time.Second)))
	_, err = nc.Write(testutil.Encode(toArgs("REPLCONF", "capa", "eof", "capa", "psync2")))
	require.NoError(t, err)
	require.Equal(t, "+OK", rr.line(t))
	_, err = nc.Write(testutil.Encode(toArgs("PSYNC", "?", "-1")))
	require.NoError(t, err)
	f := strings.Fields(rr.line(t))
	require.Len(t, f, 3, "PSYNC reply %q", f)
	require.Equal(t, "+FULLRESYNC", f[0])
	rr.off, err = strconv.ParseInt(f[2], 10, 64)
	require.NoError(t, err)
	rr.off++ // the stream starts right after the snapshot's offset
	hdr := rr.line(t)
	switch {
	case strings.HasPrefix(hdr, "$EOF:"):
		mark := []byte(hdr[5:])
		require.Len(t, mark, 40)
		var tail []byte
		for !bytes.HasSuffix(tail, mark) {
			b, err := rr.r.ReadByte()
			require.NoError(t, err, "reading the diskless RDB")
			tail = append(tail, b)
			if len(tail) > 4096 {
				tail = tail[len(tail)-64:]
			}
		}
	case strings.HasPrefix(hdr, "$"):
		n, err := strconv.ParseInt(hdr[1:], 10, 64)
		require.NoError(t, err)
		_, err = io.CopyN(io.Discard, rr.r, n)
		require.NoError(t, err)
	default:
		t.Fatalf("unexpected RDB header %q", hdr)
	}
	require.NoError(t, nc.SetDeadline(time.Time{}))
	// A master using the EOF form sends the stream once the replica has
	// acknowledged the RDB, and Redis ignores an ACK that comes before it
	// noticed the end of the transfer: acknowledge every 50 ms, as a real
	// replica does every second.
	ack := testutil.Encode(toArgs("REPLCONF", "ACK", strconv.FormatInt(rr.off-1, 10)))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := nc.Write(ack); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return rr
}

// line reads a line of the handshake, skipping the bare newlines a
// master sends while it prepares the RDB.
func (rr *rawReplica) line(t *testing.T) string {
	t.Helper()
	for {
		l, err := rr.r.ReadString('\n')
		require.NoError(t, err, "handshake")
		l = strings.TrimRight(l, "\r\n")
		if l != "" {
			return l
		}
	}
}

// readUntil reads the stream up to master offset end (exclusive of
// end+1) and returns its commands, SELECT folded into the db of the
// following commands, PING and REPLCONF GETACK dropped.
func (rr *rawReplica) readUntil(t *testing.T, end int64) []streamCmd {
	t.Helper()
	var out []streamCmd
	require.NoError(t, rr.nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	defer rr.nc.SetReadDeadline(time.Time{})
	for rr.off <= end {
		args, n, err := readCommand(rr.r)
		require.NoError(t, err, "reading the stream at offset %d (want up to %d); read so far: %v", rr.off, end, out)
		rr.off += int64(n)
		switch {
		case len(args) == 2 && strings.EqualFold(args[0], "select"):
			rr.db, err = strconv.Atoi(args[1])
			require.NoError(t, err)
		case len(args) == 1 && strings.EqualFold(args[0], "ping"):
		case len(args) >= 2 && strings.EqualFold(args[0], "replconf") && strings.EqualFold(args[1], "getack"):
		default:
			out = append(out, streamCmd{db: rr.db, args: args})
		}
	}
	require.Equal(t, end+1, rr.off, "a command crossed the master's offset")
	return out
}

// readCommand decodes one RESP array of bulk strings and returns it with
// its size in bytes.
func readCommand(r *bufio.Reader) ([]string, int, error) {
	size := 0
	readLine := func() (string, error) {
		l, err := r.ReadString('\n')
		size += len(l)
		if err != nil {
			return "", err
		}
		if !strings.HasSuffix(l, "\r\n") {
			return "", fmt.Errorf("malformed line %q", l)
		}
		return l[:len(l)-2], nil
	}
	l, err := readLine()
	if err != nil {
		return nil, size, err
	}
	if len(l) < 2 || l[0] != '*' {
		return nil, size, fmt.Errorf("expected an array, got %q", l)
	}
	n, err := strconv.Atoi(l[1:])
	if err != nil {
		return nil, size, err
	}
	args := make([]string, n)
	for i := range args {
		l, err := readLine()
		if err != nil {
			return nil, size, err
		}
		if len(l) < 2 || l[0] != '$' {
			return nil, size, fmt.Errorf("expected a bulk string, got %q", l)
		}
		m, err := strconv.Atoi(l[1:])
		if err != nil {
			return nil, size, err
		}
		buf := make([]byte, m+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, size, err
		}
		size += m + 2
		args[i] = string(buf[:m])
	}
	return args, size, nil
}

func toArgs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// infoInt reads an integer field of INFO over c.
func infoInt(t *testing.T, c *testutil.Conn, section, field string) int64 {
	t.Helper()
	raw, err := c.DoStrings("INFO", section)
	require.NoError(t, err)
	for _, line := range strings.Split(string(raw), "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err, "INFO %s", field)
			return n
		}
	}
	t.Fatalf("INFO %s has no %s: %q", section, field, raw)
	return 0
}

// waitInt polls f until it returns want.
func waitInt(t *testing.T, what string, want int64, f func() int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := f()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d, want %d", what, got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
