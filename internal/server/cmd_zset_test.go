package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Blocking sorted-set pops need two connections, which the differential
// corpus cannot express; they are tested here.

func TestZSetBlockingPops(t *testing.T) {
	tests := []struct {
		name  string
		block []string
		feed  [][]string
		want  string
		after [][2]string // command, expected reply, run on the feeder
	}{
		{
			name:  "bzpopmin",
			block: []string{"BZPOPMIN", "z1", "z2", "0"},
			feed:  [][]string{{"ZADD", "z2", "2", "b", "1", "a"}},
			want:  "*3\r\n$2\r\nz2\r\n$1\r\na\r\n$1\r\n1\r\n",
			after: [][2]string{{"ZCARD z2", ":1\r\n"}},
		},
		{
			name:  "bzpopmax",
			block: []string{"BZPOPMAX", "z1", "0"},
			feed:  [][]string{{"ZADD", "z1", "1", "a", "2.5", "b"}},
			want:  "*3\r\n$2\r\nz1\r\n$1\r\nb\r\n$3\r\n2.5\r\n",
		},
		{
			name:  "bzmpop count",
			block: []string{"BZMPOP", "0", "2", "z1", "z2", "MAX", "COUNT", "2"},
			feed:  [][]string{{"ZADD", "z2", "1", "a", "2", "b", "3", "c"}},
			want:  "*2\r\n$2\r\nz2\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
			after: [][2]string{{"ZRANGE z2 0 -1", "*1\r\n$1\r\na\r\n"}},
		},
		{
			name:  "last element deletes the key",
			block: []string{"BZPOPMIN", "z1", "0"},
			feed:  [][]string{{"ZADD", "z1", "1", "a"}},
			want:  "*3\r\n$2\r\nz1\r\n$1\r\na\r\n$1\r\n1\r\n",
			after: [][2]string{{"EXISTS z1", ":0\r\n"}},
		},
		{
			name:  "wrong type keeps waiting",
			block: []string{"BZPOPMIN", "z1", "0"},
			feed:  [][]string{{"LPUSH", "z1", "x"}, {"DEL", "z1"}, {"ZADD", "z1", "7", "m"}},
			want:  "*3\r\n$2\r\nz1\r\n$1\r\nm\r\n$1\r\n7\r\n",
		},
		{
			name:  "store command wakes",
			block: []string{"BZPOPMAX", "dst", "0"},
			feed:  [][]string{{"ZADD", "src", "1", "a", "2", "b"}, {"ZUNIONSTORE", "dst", "1", "src", "WEIGHTS", "10"}},
			want:  "*3\r\n$3\r\ndst\r\n$1\r\nb\r\n$2\r\n20\r\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, nil)
			b, f := testDial(t, s), testDial(t, s)
			testSend(t, b, tc.block...)
			waitBlocked(t, s, 1)
			for _, cmd := range tc.feed {
				testDo(t, f, cmd...)
			}
			require.Equal(t, tc.want, testRead(t, b))
			require.Equal(t, 0, s.BlockedClients())
			for _, a := range tc.after {
				r, err := f.DoStrings(splitFields(a[0])...)
				require.NoError(t, err)
				require.Equal(t, a[1], string(r), a[0])
			}
		})
	}
}

func splitFields(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return out
}

func TestZSetBlockingTimeoutAndResp3(t *testing.T) {
	s := testServer(t, nil)
	b, f := testDial(t, s), testDial(t, s)
	start := time.Now()
	require.Equal(t, "*-1\r\n", testDo(t, b, "BZPOPMIN", "nokey", "0.05"))
	require.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond)
	require.Equal(t, "*-1\r\n", testDo(t, b, "BZMPOP", "0.05", "1", "nokey", "MIN"))

	testDo(t, b, "HELLO", "3")
	require.Equal(t, "_\r\n", testDo(t, b, "BZPOPMAX", "nokey", "0.01"))
	testSend(t, b, "BZPOPMAX", "k", "0")
	waitBlocked(t, s, 1)
	testDo(t, f, "ZADD", "k", "1.5", "a")
	require.Equal(t, "*3\r\n$1\r\nk\r\n$1\r\na\r\n,1.5\r\n", testRead(t, b))
}

func TestZSetBlockingServedOnce(t *testing.T) {
	s := testServer(t, nil)
	a, b, f := testDial(t, s), testDial(t, s), testDial(t, s)
	testSend(t, a, "BZPOPMIN", "x", "y", "0")
	waitBlocked(t, s, 1)
	testSend(t, b, "BZPOPMIN", "y", "0")
	waitBlocked(t, s, 2)
	// Both keys appear in one transaction: the first waiter takes from x
	// (created first), the second from y.
	testDo(t, f, "MULTI")
	testDo(t, f, "ZADD", "x", "1", "a")
	testDo(t, f, "ZADD", "y", "2", "b")
	testDo(t, f, "EXEC")
	require.Equal(t, "*3\r\n$1\r\nx\r\n$1\r\na\r\n$1\r\n1\r\n", testRead(t, a))
	require.Equal(t, "*3\r\n$1\r\ny\r\n$1\r\nb\r\n$1\r\n2\r\n", testRead(t, b))
	require.Equal(t, 0, s.BlockedClients())
}
