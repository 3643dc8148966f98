package resp

import (
	"testing"
)

// FuzzParse feeds arbitrary bytes to the request parser: it must never
// panic, never consume more than it was given, and a successful parse must
// be reproducible by re-encoding the arguments.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "PING\r\n", "*0\r\n", "*-1\r\n", "*1\r\n$-1\r\n",
		"ECHO \"a\\x41\" 'b'\r\n", "*1\r\n$4\r\nPI", "*x\r\n", "$3\r\nabc\r\n", "\"unbalanced\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$0\r\n\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, unauth bool) {
		lim := Limits{MaxBulkLen: 1 << 20, Unauthenticated: unauth}
		rest := data
		for len(rest) > 0 {
			args, n, err := Parse(rest, lim, nil)
			if err != nil {
				return
			}
			if n <= 0 || n > len(rest) {
				t.Fatalf("consumed %d of %d", n, len(rest))
			}
			if rest[0] == '*' && args != nil {
				// a multibulk request re-encodes to a prefix-equivalent request
				enc := encode(args)
				again, m, err := Parse(enc, lim, nil)
				if err != nil || m != len(enc) || len(again) != len(args) {
					t.Fatalf("re-encoded request did not parse back: %q", enc)
				}
			}
			rest = rest[n:]
		}
	})
}

func encode(args [][]byte) []byte {
	w := NewWriter()
	w.Array(len(args))
	for _, a := range args {
		w.Bulk(a)
	}
	return w.Buf
}
