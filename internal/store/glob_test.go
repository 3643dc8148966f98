package store

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		nocase     bool
		want       bool
	}{
		{"*", "anything", false, true},
		{"*", "", false, false}, // Redis: the loop never runs on an empty string
		{"", "", false, true},
		{"", "a", false, false},
		{"a*", "abc", false, true},
		{"a*", "ba", false, false},
		{"*c", "abc", false, true},
		{"a**c", "abbbc", false, true},
		{"a*b*c", "axxbyyc", false, true},
		{"a*b*c", "axxbyy", false, false},
		{"h?llo", "hello", false, true},
		{"h?llo", "hllo", false, false},
		{"h[ae]llo", "hallo", false, true},
		{"h[ae]llo", "hillo", false, false},
		{"h[^e]llo", "hallo", false, true},
		{"h[^e]llo", "hello", false, false},
		{"h[a-b]llo", "hbllo", false, true},
		{"h[b-a]llo", "hallo", false, true}, // reversed range
		{"h[a-b]llo", "hcllo", false, false},
		{"h\\*llo", "h*llo", false, true},
		{"h\\*llo", "hello", false, false},
		{"[\\]]", "]", false, true},
		{"[a", "a", false, true},    // unterminated class acts as closed
		{"[^", "x", false, true},    // "[^" matches any single byte
		{"a\\", "a\\", false, true}, // trailing backslash is literal
		{"[a-", "-", false, true},
		{"HELLO", "hello", true, true},
		{"HELLO", "hello", false, false},
		{"[A-Z]", "q", true, true},
		{"[A]", "a", true, true},
		{"\xff", "\xff", false, true},
		{"[a-\xff]", "\xff", false, true}, // signed char range: [-1, 'a']
		{"[a-\xff]", "b", false, false},
		{"a*", "a", false, true},
		{"a*?", "a", false, false},
	}
	for _, tt := range tests {
		got := GlobMatch([]byte(tt.pattern), []byte(tt.s), tt.nocase)
		require.Equal(t, tt.want, got, "pattern %q string %q nocase %v", tt.pattern, tt.s, tt.nocase)
	}
}

func TestGlobMatchAbusivePattern(t *testing.T) {
	p := make([]byte, 0, 4000)
	for i := 0; i < 2000; i++ {
		p = append(p, 'a', '*')
	}
	p = append(p, 'b')
	s := make([]byte, 3000)
	for i := range s {
		s[i] = 'a'
	}
	require.False(t, GlobMatch(p, s, false))
}

// TestGlobMatchAgainstRedis compares GlobMatch with redis-server's KEYS on
// random patterns and keys drawn from the bytes that matter to the matcher.
func TestGlobMatchAgainstRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("differential test")
	}
	p := testutil.Start(t, testutil.RedisServer(t))
	c, err := testutil.Dial(p.Addr())
	require.NoError(t, err)
	defer c.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	patAlphabet := []byte("ab*?[]^-\\\xffA")
	keyAlphabet := []byte("ab-]\\\xffA*^")
	randBytes := func(alpha []byte, max int) []byte {
		b := make([]byte, rng.IntN(max+1))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return b
	}
	for round := 0; round < 40; round++ {
		_, err := c.DoStrings("FLUSHALL")
		require.NoError(t, err)
		seen := map[string]bool{}
		var keys [][]byte
		for i := 0; i < 40; i++ {
			k := randBytes(keyAlphabet, 6)
			if len(k) == 0 || seen[string(k)] {
				continue
			}
			seen[string(k)] = true
			keys = append(keys, k)
			_, err := c.Do([]byte("SET"), k, []byte("1"))
			require.NoError(t, err)
		}
		for i := 0; i < 40; i++ {
			pat := randBytes(patAlphabet, 9)
			r, err := c.Do([]byte("KEYS"), pat)
			require.NoError(t, err)
			for _, k := range keys {
				elem := append([]byte("$"+strconv.Itoa(len(k))+"\r\n"), k...)
				elem = append(elem, '\r', '\n')
				want := bytes.Contains(r, elem)
				require.Equal(t, want, GlobMatch(pat, k, false), "pattern %q key %q", pat, k)
			}
		}
	}
}
