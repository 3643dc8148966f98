package replication

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type item struct {
	kind itemKind
	args []string
	raw  string
}

// parseAll parses the whole input with a bufio.Reader of the given size.
func parseAll(in []byte, bufSize int, inline bool) ([]item, error) {
	sr := newStreamReader(bufio.NewReaderSize(bytes.NewReader(in), bufSize))
	sr.inline = inline
	var out []item
	for {
		k, err := sr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		it := item{kind: k, raw: string(sr.raw)}
		for _, a := range sr.args {
			it.args = append(it.args, string(a))
		}
		out = append(out, it)
	}
}

func TestStreamReader(t *testing.T) {
	in := "\n*1\r\n$4\r\nping\r\n\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
	for _, size := range []int{16, 17, 64, 4096} {
		items, err := parseAll([]byte(in), size, false)
		require.NoError(t, err)
		require.Equal(t, []item{
			{kind: itemKeepalive, raw: "\n"},
			{kind: itemCommand, args: []string{"ping"}, raw: "*1\r\n$4\r\nping\r\n"},
			{kind: itemKeepalive, raw: "\r\n"},
			{kind: itemCommand, args: []string{"SELECT", "0"}, raw: "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"},
			{kind: itemEmpty, raw: "*0\r\n"},
			{kind: itemCommand, args: []string{"SET", "k", ""}, raw: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"},
		}, items)
	}
	// Arguments holding CRLF and '$', parsed in place (whole in the
	// buffer) or line by line (small buffers) alike.
	odd := AppendCommand(nil, args("SET", "a\r\n$3\r\n", "*1\r\n", ""))
	for _, size := range []int{16, 4096} {
		items, err := parseAll(append(append([]byte(nil), odd...), odd...), size, false)
		require.NoError(t, err)
		require.Len(t, items, 2)
		for _, it := range items {
			require.Equal(t, []string{"SET", "a\r\n$3\r\n", "*1\r\n", ""}, it.args)
			require.Equal(t, string(odd), it.raw)
		}
	}
	// A big argument, read in several chunks.
	big := strings.Repeat("x", 3*readChunk+5)
	cmd := AppendCommand(nil, args("SET", "big", big))
	items, err := parseAll(cmd, 4096, false)
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.Equal(t, big, items[0].args[2])
	require.Equal(t, string(cmd), items[0].raw)

	bad := map[string]string{
		"PING\r\n":                       "inline protocol",
		"*x\r\n":                         "invalid multibulk length",
		"*1\r\n+ping\r\n":                "expected '$', got '+'",
		"*1\r\n$-1\r\n":                  "invalid bulk length",
		"*1\r\n$4\r\npingXX":             "not terminated by CRLF",
		"*1\n":                           "not terminated by CRLF",
		"*1\r\n$01\r\nx\r\n":             "invalid bulk length",
		"*" + strings.Repeat("1", 70000): "too big line",
	}
	for in, want := range bad {
		_, err := parseAll([]byte(in), 4096, false)
		var pe *ProtocolError
		require.True(t, errors.As(err, &pe), "%q: %v", in, err)
		require.Contains(t, err.Error(), want, "%q", in)
	}
	// Truncated input is an unexpected EOF, not a protocol error.
	for _, in := range []string{"*2\r\n$3\r\nfoo\r\n", "*1\r\n$3\r\nfo", "*1\r\n$3"} {
		_, err := parseAll([]byte(in), 4096, false)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, "%q", in)
	}
	// Inline commands are accepted when allowed (a replica's input).
	items, err = parseAll([]byte("REPLCONF ACK 10\r\n"), 4096, true)
	require.NoError(t, err)
	require.Equal(t, []string{"REPLCONF", "ACK", "10"}, items[0].args)
}

// FuzzStreamReader checks that the parser never panics, that the raw bytes
// of the items are exactly the input consumed, and that the result does not
// depend on how the input is buffered.
func FuzzStreamReader(f *testing.F) {
	f.Add([]byte("*1\r\n$4\r\nping\r\n\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"))
	f.Add([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*0\r\n*-1\r\n"))
	f.Add([]byte("*1\r\n$99999999999\r\nx"))
	f.Add([]byte("\r\n\n\n*1\r\n$1\r\n\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, errA := parseAll(in, 16, false)
		b, errB := parseAll(in, 4096, false)
		require.Equal(t, a, b)
		require.Equal(t, errA == nil, errB == nil)
		var consumed []byte
		for _, it := range a {
			consumed = append(consumed, it.raw...)
			if it.kind == itemCommand {
				require.Equal(t, string(AppendCommand(nil, args(it.args...))), it.raw)
			}
		}
		require.True(t, bytes.HasPrefix(in, consumed))
		if errA == nil {
			require.Equal(t, len(in), len(consumed))
		}
	})
}

// BenchmarkStreamReaderSET parses a stream of SETs as a replica reads it.
func BenchmarkStreamReaderSET(b *testing.B) {
	var in []byte
	for i := 0; i < 10000; i++ {
		in = AppendCommand(in, args("SET", "key:"+strings.Repeat("1", i%8), "xxx"))
	}
	rd := bytes.NewReader(in)
	sr := newStreamReader(bufio.NewReaderSize(rd, 64<<10))
	b.SetBytes(int64(len(in)) / 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sr.next(); err != nil {
			rd.Reset(in)
			sr.br.Reset(rd)
			if _, err := sr.next(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
