package slots

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeySlot(t *testing.T) {
	// Expected values are those printed by redis-server 7.0 CLUSTER KEYSLOT.
	cases := []struct {
		key  string
		slot int
	}{
		{"", 0},
		{"foo", 12182},
		{"bar", 5061},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"foo{}{bar}", 8363},
		{"foo{{bar}}zap", 4015},
		{"foo{bar}{zap}", 5061},
		{"123456789", 12739},
	}
	for _, c := range cases {
		require.Equal(t, c.slot, KeySlotString(c.key), "key %q", c.key)
	}
}

func TestBitmapRanges(t *testing.T) {
	var b Bitmap
	for _, s := range []int{0, 1, 2, 5, 16383} {
		b.Set(s)
	}
	require.Equal(t, 5, b.Count())
	require.Equal(t, "0-2 5 16383", FormatRanges(b.Ranges()))
	b.Clear(1)
	require.False(t, b.Has(1))
	require.Equal(t, "0 2 5 16383", FormatRanges(b.Ranges()))
}

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		ok   bool
		slot int
	}{{"0", true, 0}, {"16383", true, 16383}, {"16384", false, 0}, {"-1", false, 0}, {"x", false, 0}, {"", false, 0}}
	for _, c := range cases {
		s, ok := Parse([]byte(c.in))
		require.Equal(t, c.ok, ok, c.in)
		if ok {
			require.Equal(t, c.slot, s)
		}
	}
}

func BenchmarkKeySlot(b *testing.B) {
	k := []byte("key:000000012345")
	for i := 0; i < b.N; i++ {
		_ = KeySlot(k)
	}
}
