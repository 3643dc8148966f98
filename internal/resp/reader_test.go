package resp

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var defaultLimits = Limits{MaxBulkLen: 512 << 20}

func TestParse(t *testing.T) {
	cases := []struct {
		name     string
		in       string
		lim      Limits
		args     []string
		consumed int
		err      string // "" ok, "incomplete", or the protocol error text
	}{
		{"multibulk", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", defaultLimits, []string{"GET", "k"}, 20, ""},
		{"multibulk with trailer", "*1\r\n$4\r\nPING\r\n*1", defaultLimits, []string{"PING"}, 14, ""},
		{"empty multibulk", "*0\r\n", defaultLimits, nil, 4, ""},
		{"negative multibulk", "*-1\r\n", defaultLimits, nil, 5, ""},
		{"incomplete header", "*2\r", defaultLimits, nil, 0, "incomplete"},
		{"incomplete bulk", "*1\r\n$4\r\nPI", defaultLimits, nil, 0, "incomplete"},
		{"bad count", "*x\r\n", defaultLimits, nil, 0, "Protocol error: invalid multibulk length"},
		{"count with plus", "*+1\r\n", defaultLimits, nil, 0, "Protocol error: invalid multibulk length"},
		{"missing dollar", "*1\r\nx\r\n", defaultLimits, nil, 0, "Protocol error: expected '$', got 'x'"},
		{"negative bulk", "*1\r\n$-1\r\n", defaultLimits, nil, 0, "Protocol error: invalid bulk length"},
		{"bulk over limit", "*1\r\n$11\r\n", Limits{MaxBulkLen: 10}, nil, 0, "Protocol error: invalid bulk length"},
		{"unauth count", "*11\r\n", Limits{MaxBulkLen: 100, Unauthenticated: true}, nil, 0, "Protocol error: unauthenticated multibulk length"},
		{"unauth bulk", "*1\r\n$16385\r\n", Limits{MaxBulkLen: 1 << 20, Unauthenticated: true}, nil, 0, "Protocol error: unauthenticated bulk length"},
		{"inline", "SET a \"b c\"\r\n", defaultLimits, []string{"SET", "a", "b c"}, 13, ""},
		{"inline lf only", "PING\n", defaultLimits, []string{"PING"}, 5, ""},
		{"inline empty line", "\r\n", defaultLimits, nil, 2, ""},
		{"inline unbalanced", "ECHO \"a\r\n", defaultLimits, nil, 0, "Protocol error: unbalanced quotes in request"},
		{"inline incomplete", "PIN", defaultLimits, nil, 0, "incomplete"},
		{"inline too big", strings.Repeat("a", InlineMaxSize+1), defaultLimits, nil, 0, "Protocol error: too big inline request"},
		{"mbulk count too big", "*" + strings.Repeat("1", InlineMaxSize+1), defaultLimits, nil, 0, "Protocol error: too big mbulk count string"},
		{"bulk count too big", "*1\r\n$" + strings.Repeat("1", InlineMaxSize+1), defaultLimits, nil, 0, "Protocol error: too big bulk count string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args, n, err := Parse([]byte(c.in), c.lim, nil)
			switch c.err {
			case "":
				require.NoError(t, err)
				require.Equal(t, c.consumed, n)
				var got []string
				for _, a := range args {
					got = append(got, string(a))
				}
				require.Equal(t, c.args, got)
			case "incomplete":
				require.ErrorIs(t, err, ErrIncomplete)
			default:
				var pe *ProtocolError
				require.ErrorAs(t, err, &pe)
				require.Equal(t, c.err, pe.Msg)
			}
		})
	}
}

func TestSplitArgs(t *testing.T) {
	cases := []struct {
		in   string
		out  []string
		fail bool
	}{
		{"a b  c", []string{"a", "b", "c"}, false},
		{`"a\x41\n" 'it\'s'`, []string{"aA\n", "it's"}, false},
		{`""`, []string{""}, false},
		{`"abc"def`, nil, true},
		{`'abc`, nil, true},
		{`ab"c d"`, []string{"abc d"}, false},
		{"   ", nil, false},
	}
	for _, c := range cases {
		got, ok := SplitArgs([]byte(c.in))
		require.Equal(t, !c.fail, ok, c.in)
		if ok {
			var s []string
			for _, a := range got {
				s = append(s, string(a))
			}
			require.Equal(t, c.out, s, c.in)
		}
	}
}

func TestWriterResp3(t *testing.T) {
	w := NewWriter()
	w.Map(1)
	w.Null()
	w.Double(1.1)
	require.Equal(t, "*2\r\n$-1\r\n$18\r\n1.1000000000000001\r\n", string(w.Buf))
	w = &Writer{Proto: 3}
	w.Map(1)
	w.Null()
	w.Double(1.5)
	w.Bool(true)
	w.Verbatim("x", "txt")
	require.Equal(t, "%1\r\n_\r\n,1.5\r\n#t\r\n=5\r\ntxt:x\r\n", string(w.Buf))
}
