package resp

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// outcome is what parsing a whole stream produced: every request's
// arguments, then the error that stopped it ("" at a clean end, or
// "incomplete").
type outcome struct {
	reqs [][]string
	err  string
}

// parseWhole parses a stream given all at once with Parse.
func parseWhole(stream []byte, lim Limits) outcome {
	var o outcome
	for len(stream) > 0 {
		args, n, err := Parse(stream, lim, nil)
		if err != nil {
			o.err = err.Error()
			return o
		}
		o.reqs = append(o.reqs, toStrings(args))
		stream = stream[n:]
	}
	return o
}

// parseChunked feeds a stream in chunks to ParseResume the way the
// connection loop does: the unconsumed tail moves to the front of a fresh
// buffer before more bytes are appended.
func parseChunked(stream []byte, lim Limits, chunks []int) outcome {
	var o outcome
	var r Resume
	var buf []byte
	fed := 0
	for i, c := range append(chunks, len(stream)) {
		end := min(fed+c, len(stream))
		if i%64 == 0 {
			buf = append([]byte(nil), buf...) // the request moves in memory
		}
		buf = append(buf, stream[fed:end]...)
		fed = end
		for len(buf) > 0 {
			args, n, err := ParseResume(buf, lim, nil, &r)
			if err == ErrIncomplete {
				break
			}
			if err != nil {
				o.err = err.Error()
				return o
			}
			o.reqs = append(o.reqs, toStrings(args))
			buf = buf[n:]
		}
		if fed == len(stream) {
			break
		}
	}
	if len(buf) > 0 {
		o.err = ErrIncomplete.Error()
	}
	return o
}

func toStrings(args [][]byte) []string {
	if args == nil {
		return nil
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}

// bigRequest is a multibulk request with n arguments of varied sizes.
func bigRequest(n int, rng *rand.Rand) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", n)
	for i := 0; i < n; i++ {
		a := strings.Repeat(string(rune('a'+i%26)), rng.IntN(40))
		if rng.IntN(500) == 0 {
			a = strings.Repeat("z", 70000) // bigger than a read
		}
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.Bytes()
}

func TestParseResumeMatchesParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	big := bigRequest(5000, rng)
	lim := Limits{MaxBulkLen: 512 << 20}
	streams := map[string][]byte{
		"small pipeline": []byte("*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*0\r\n"),
		"big":            big,
		"big pipeline":   append(append(append([]byte("PING\r\n"), big...), big...), "*1\r\n$4\r\nPING\r\n"...),
		"big incomplete": big[:len(big)-3],
		"big then error": append(append([]byte(nil), big[:len(big)/2]...), "x\r\n$3\r\nabc\r\n"...),
		"bad bulk late":  append(append([]byte(nil), big[:len(big)/2]...), "$-7\r\n"...),
		"count too big":  []byte("*1\r\n$4\r\nPING\r\n*99999999999\r\n"),
		"small errors":   []byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n:1\r\n"),
		"small inline":   []byte("*1\r\n$4\r\nPING\r\nECHO \"a b\"\r\n*2\r\n$4\r\nECHO\r\n$-1\r\n"),
		"big arg limit":  append([]byte("*2\r\n$4\r\nECHO\r\n$600000000\r\n"), strings.Repeat("x", 40000)...),
	}
	for name, stream := range streams {
		lim := lim
		if strings.HasPrefix(name, "small") {
			lim.resumeFrom = 1
		}
		want := parseWhole(stream, lim)
		for _, step := range []int{1, 7, 100, 1000, 4096, 16384, 65536} {
			if step < 100 && len(stream) > 100000 {
				continue
			}
			var chunks []int
			for i := 0; i < len(stream); i += step {
				chunks = append(chunks, step)
			}
			got := parseChunked(stream, lim, chunks)
			require.Equal(t, want.err, got.err, "%s step %d", name, step)
			require.Equal(t, want.reqs, got.reqs, "%s step %d", name, step)
		}
		for k := 0; k < 5; k++ {
			var chunks []int
			for i := 0; i < len(stream); {
				c := 1 + rng.IntN(20000)
				chunks = append(chunks, c)
				i += c
			}
			got := parseChunked(stream, lim, chunks)
			require.Equal(t, want, got, "%s random chunks", name)
		}
	}
}

// A request of many arguments arriving in small pieces is parsed in time
// linear in its size: with Parse alone every piece re-read the whole
// request so far (minutes here instead of milliseconds).
func TestParseResumeIsIncremental(t *testing.T) {
	const n = 300000
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", n)
	for i := 0; i < n; i++ {
		b.WriteString("$1\r\nx\r\n")
	}
	stream := b.Bytes()
	var r Resume
	var buf []byte
	calls := 0
	start := time.Now()
	for i := 0; i < len(stream); i += 64 {
		buf = append(buf, stream[i:min(i+64, len(stream))]...)
		args, m, err := ParseResume(buf, Limits{MaxBulkLen: 1 << 20}, nil, &r)
		calls++
		if err == ErrIncomplete {
			continue
		}
		require.NoError(t, err)
		require.Len(t, args, n)
		require.Equal(t, len(stream), m)
		buf = buf[m:]
	}
	require.Empty(t, buf)
	require.Less(t, time.Since(start), 10*time.Second, "%d calls", calls)
}

// FuzzResumeParse checks that ParseResume, fed in the pieces the fuzzer
// chooses, agrees with Parse on the whole input.
func FuzzResumeParse(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	f.Add([]byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n"), uint16(3), false)
	f.Add(bigRequest(30, rng), uint16(10), false)
	f.Add(append(bigRequest(30, rng), "*1\r\nx"...), uint16(3), true)
	f.Fuzz(func(t *testing.T, data []byte, step uint16, unauth bool) {
		// resumeFrom 1: every incomplete multibulk goes incremental.
		lim := Limits{MaxBulkLen: 1 << 20, Unauthenticated: unauth, resumeFrom: 1}
		// At most a few thousand pieces, so that an execution stays fast.
		step = max(step, uint16(min(len(data)/2000, 1<<15)), 1)
		var chunks []int
		for i := 0; i < len(data); i += int(step) {
			chunks = append(chunks, int(step))
		}
		want := parseWhole(data, lim)
		got := parseChunked(data, lim, chunks)
		if want.err != got.err || fmt.Sprint(want.reqs) != fmt.Sprint(got.reqs) {
			t.Fatalf("chunked parse differs: want %v %q, got %v %q", len(want.reqs), want.err, len(got.reqs), got.err)
		}
	})
}
