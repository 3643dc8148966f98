package server

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseScanCursor(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true},
		{"", 0, true},
		{"123", 123, true},
		{"+5", 5, true},
		{"-0", 0, true},
		{"-1", 1<<64 - 1, true},
		{"18446744073709551615", 1<<64 - 1, true},
		{"18446744073709551616", 0, false},
		{" 1", 0, false},
		{"\t1", 0, false},
		{"1 ", 0, false},
		{"1x", 0, false},
		{"+", 0, false},
		{"-", 0, false},
		{"x", 0, false},
		{"1.5", 0, false},
		{"12\x00junk", 12, true}, // strtoul stops at the C string's end
	}
	for _, tt := range tests {
		got, ok := keyParseScanCursor([]byte(tt.in))
		require.Equal(t, tt.ok, ok, "%q", tt.in)
		if ok {
			require.Equal(t, tt.want, got, "%q", tt.in)
		}
	}
}

func TestKeyArgIs(t *testing.T) {
	require.True(t, keyArgIs([]byte("NX"), "nx"))
	require.True(t, keyArgIs([]byte("Replace"), "replace"))
	require.False(t, keyArgIs([]byte("nxx"), "nx"))
	require.False(t, keyArgIs([]byte(""), "nx"))
}
