package rdb

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDecodeFullSyncStream attaches to a real master as a replica and
// decodes the RDB of the full resynchronization straight from the socket,
// in both the disk ($<len>) and the diskless ($EOF:<mark>) forms, then
// checks that the command stream that follows is intact.
func TestDecodeFullSyncStream(t *testing.T) {
	for _, diskless := range []bool{false, true} {
		name := "disk"
		if diskless {
			name = "diskless"
		}
		t.Run(name, func(t *testing.T) {
			srv := startRedis(t, "", "--repl-diskless-sync", map[bool]string{true: "yes", false: "no"}[diskless],
				"--repl-diskless-sync-delay", "0")
			rc := srv.dial(t)
			populate(t, rc)

			repl := srv.dial(t)
			repl.must(t, "REPLCONF", "capa", "eof", "capa", "psync2")
			require.NoError(t, repl.send("PSYNC", "?", "-1"))
			br := repl.r
			readLine := func() string {
				for {
					repl.c.SetReadDeadline(time.Now().Add(30 * time.Second))
					line, err := br.ReadString('\n')
					require.NoError(t, err)
					if line == "\n" { // keepalive
						continue
					}
					return strings.TrimSuffix(line, "\r\n")
				}
			}
			require.True(t, strings.HasPrefix(readLine(), "+FULLRESYNC "))
			bulk := readLine()
			require.True(t, strings.HasPrefix(bulk, "$"), bulk)
			var mark string
			size := int64(0)
			if strings.HasPrefix(bulk, "$EOF:") {
				mark = bulk[5:]
				require.Len(t, mark, 40)
			} else {
				n, err := strconv.ParseInt(bulk[1:], 10, 64)
				require.NoError(t, err)
				size = n
			}
			require.Equal(t, diskless, mark != "")

			d := NewDecoder(br, &DecoderOptions{Size: size, Databases: 16})
			var entries []Entry
			var funcs []string
			aux := map[string]string{}
			for {
				rec, err := d.Next()
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				switch rec.Kind {
				case RecordEntry:
					entries = append(entries, rec.Entry)
				case RecordFunction:
					funcs = append(funcs, string(rec.Function))
				case RecordAux:
					aux[string(rec.AuxKey)] = string(rec.AuxValue)
				}
			}
			if size > 0 {
				require.Equal(t, size, d.Offset())
			}
			require.NotEmpty(t, aux["repl-id"], "replication RDBs carry repl-id")
			require.Contains(t, aux, "repl-offset")
			require.Equal(t, []string{testLibrary}, funcs)
			checkEntries(t, rc, entries, true)

			if mark != "" {
				got := make([]byte, 40)
				_, err := io.ReadFull(br, got)
				require.NoError(t, err)
				require.Equal(t, mark, string(got))
				// The master waits for our first ACK before streaming.
				require.NoError(t, repl.send("REPLCONF", "ACK", "0"))
			}
			// A write on the master arrives as the next commands of the
			// stream (possibly after PINGs and a SELECT).
			rc.must(t, "SET", "after-sync", "1")
			for {
				repl.c.SetReadDeadline(time.Now().Add(30 * time.Second))
				v, err := readCommand(br)
				require.NoError(t, err)
				if len(v) > 0 && strings.EqualFold(v[0], "set") {
					require.Equal(t, []string{"SET", "after-sync", "1"}, v)
					break
				}
			}
		})
	}
}

// readCommand reads one RESP array of bulk strings.
func readCommand(br *bufio.Reader) ([]string, error) {
	rc := &respConn{r: br}
	v, err := rc.read()
	if err != nil {
		return nil, err
	}
	arr, _ := v.([]any)
	out := make([]string, len(arr))
	for i, x := range arr {
		b, _ := x.([]byte)
		out[i] = string(b)
	}
	return out, nil
}
