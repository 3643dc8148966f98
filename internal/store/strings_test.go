package store

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/resp"
)

func TestParseInt64(t *testing.T) {
	for _, tc := range []struct {
		in string
		v  int64
		ok bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"-1", -1, true},
		{"123456", 123456, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"18446744073709551616", 0, false},
		{"99999999999999999999", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"-0", 0, false},
		{"00", 0, false},
		{"01", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1a", 0, false},
		{"1.0", 0, false},
		{"123456789012345678901", 0, false},
	} {
		v, ok := resp.ParseInt([]byte(tc.in))
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.v, v, tc.in)
	}
}

func TestStringEncoding(t *testing.T) {
	for _, tc := range []struct{ in, enc string }{
		{"123", "int"},
		{"-123", "int"},
		{"9223372036854775807", "int"},
		{"12345678901234567890", "embstr"},
		{"0123", "embstr"},
		{"", "embstr"},
		{"hello", "embstr"},
		{strings.Repeat("x", 44), "embstr"},
		{strings.Repeat("x", 45), "raw"},
	} {
		require.Equal(t, tc.enc, StringEncoding([]byte(tc.in)), tc.in)
	}
	o := NewString([]byte("12"))
	o.Enc = StrEncRaw
	require.Equal(t, "raw", StringObjectEncoding(o))
	o.Enc = StrEncEmbstr
	require.Equal(t, "embstr", StringObjectEncoding(o))
	o.Enc = StrEncAuto
	require.Equal(t, "int", StringObjectEncoding(o))
	src := NewString([]byte("ab"))
	src.Enc, src.Expire = StrEncRaw, 5
	cl := CloneString(src)
	require.Equal(t, "raw", StringObjectEncoding(cl))
	require.Equal(t, "ab", string(cl.Bytes()))
	require.NotSame(t, &src.Bytes()[0], &cl.Bytes()[0])
	require.Zero(t, cl.Expire)
}

func TestReuseBytes(t *testing.T) {
	buf := make([]byte, 10)
	out := ReuseBytes(buf, []byte("abc"))
	require.Equal(t, "abc", string(out))
	require.Equal(t, &buf[0], &out[0])
	big := make([]byte, 1000)
	out = ReuseBytes(big, []byte("abc"))
	require.Equal(t, 3, cap(out))
	out = ReuseBytes(nil, []byte("xyz"))
	require.Equal(t, "xyz", string(out))
}

func TestGetRange(t *testing.T) {
	s := []byte("Hello World")
	for _, tc := range []struct {
		start, end int64
		want       string
	}{
		{0, 3, "Hell"},
		{0, -1, "Hello World"},
		{-3, -1, "rld"},
		{5, 3, ""},
		{-1, -5, ""},
		{0, 100, "Hello World"},
		{-100, 2, "Hel"},
		{20, 30, ""},
		{-100, -50, "H"},
	} {
		require.Equal(t, tc.want, string(GetRange(s, tc.start, tc.end)), "%d %d", tc.start, tc.end)
	}
	require.Empty(t, GetRange(nil, 0, -1))
}

func TestIncrByFloat(t *testing.T) {
	for _, tc := range []struct {
		cur, incr string
		absent    bool
		want      string
		err       error
	}{
		{absent: true, incr: "0.1", want: "0.1"},
		{cur: "0.1", incr: "0.1", want: "0.2"},
		{cur: "0.2", incr: "0.1", want: "0.3"},
		{cur: "10.50", incr: "0.1", want: "10.6"},
		{absent: true, incr: "1e-20", want: "0"},
		{absent: true, incr: "0x10", want: "16"},
		{absent: true, incr: "0x1p-3", want: "0.125"},
		{absent: true, incr: "inf", err: ErrLongDoubleNaNInf},
		{absent: true, incr: "-Infinity", err: ErrLongDoubleNaNInf},
		{absent: true, incr: "nan", err: ErrLongDoubleSyntax},
		{absent: true, incr: "1e5000", err: ErrLongDoubleSyntax},
		{absent: true, incr: "1e-5000", err: ErrLongDoubleSyntax},
		{absent: true, incr: "0e-5000", want: "0"},
		{absent: true, incr: "-0", want: "0"},
		{absent: true, incr: ".5", want: "0.5"},
		{absent: true, incr: "5.", want: "5"},
		{absent: true, incr: "+5", want: "5"},
		{absent: true, incr: "1_0", err: ErrLongDoubleSyntax},
		{absent: true, incr: " 1", err: ErrLongDoubleSyntax},
		{absent: true, incr: "1 ", err: ErrLongDoubleSyntax},
		{absent: true, incr: "", err: ErrLongDoubleSyntax},
		{absent: true, incr: ".", err: ErrLongDoubleSyntax},
		{absent: true, incr: "1e", err: ErrLongDoubleSyntax},
		{absent: true, incr: "0x", err: ErrLongDoubleSyntax},
		{absent: true, incr: "3.0e3", want: "3000"},
		{absent: true, incr: "1.23456789012345678901", want: "1.23456789012345679"},
		{absent: true, incr: "-1.5", want: "-1.5"},
		{absent: true, incr: "1e-17", want: "0.00000000000000001"},
		{absent: true, incr: "5e-18", want: "0"},
		{absent: true, incr: "1e-4940", want: "0"},
		{absent: true, incr: "12345678901234567890123", want: "12345678901234567889920"},
		{absent: true, incr: "1e300", want: "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"},
		{cur: "abc", incr: "1", err: ErrLongDoubleSyntax},
		{cur: "", incr: "1", err: ErrLongDoubleSyntax},
		{cur: "5", incr: "abc", err: ErrLongDoubleSyntax},
		{cur: "1e4932", incr: "1e4932", err: ErrLongDoubleNaNInf},
		{cur: "inf", incr: "-inf", err: ErrLongDoubleNaNInf},
		{cur: "3", incr: "-3", want: "0"},
		{cur: "-1", incr: "0.99999999999999999999", want: "0"},
	} {
		var cur []byte
		if !tc.absent {
			cur = []byte(tc.cur)
		}
		got, err := IncrByFloat(cur, []byte(tc.incr))
		if tc.err != nil {
			require.ErrorIs(t, err, tc.err, "%q + %q", tc.cur, tc.incr)
			continue
		}
		require.NoError(t, err, "%q + %q", tc.cur, tc.incr)
		require.Equal(t, tc.want, string(got), "%q + %q", tc.cur, tc.incr)
	}
}

func TestPopCountAndFirstBit(t *testing.T) {
	require.Equal(t, int64(0), PopCount(nil))
	require.Equal(t, int64(8*20), PopCount([]byte(strings.Repeat("\xff", 20))))
	require.Equal(t, int64(26), PopCount([]byte("foobar")))
	for _, tc := range []struct {
		p    string
		bit  int
		want int64
	}{
		{"", 1, -1},
		{"", 0, 0},
		{"\x00\x00\x00", 1, -1},
		{"\xff\xff\xff", 0, 24},
		{"\xff\xf0\x00", 0, 12},
		{"\x00\x0f\x00", 1, 12},
		{strings.Repeat("\x00", 17) + "\x01", 1, 17*8 + 7},
		{strings.Repeat("\xff", 17) + "\xfe", 0, 17*8 + 7},
	} {
		require.Equal(t, tc.want, FirstBit([]byte(tc.p), tc.bit), "%q %d", tc.p, tc.bit)
	}
}

func TestBitCountAndPos(t *testing.T) {
	p := []byte("foobar")
	require.Equal(t, int64(4), BitCount(p, 0, 0, 0, 0))
	require.Equal(t, int64(6), BitCount(p, 1, 1, 0, 0))
	s, e, f, l := BitRangeMasks(5, 30)
	require.Equal(t, int64(17), BitCount(p, s, e, f, l))
	q := []byte("\xff\xf0\x00")
	require.Equal(t, int64(12), BitPos(q, 0, 0, 2, 0, 0, false))
	require.Equal(t, int64(-1), BitPos(q, 0, 0, 0, 0, 0, true))
	s, e, f, l = BitRangeMasks(7, 15)
	require.Equal(t, int64(12), BitPos(q, 0, s, e, f, l, true))
	s, e, f, l = BitRangeMasks(2, 5)
	require.Equal(t, int64(-1), BitPos(q, 0, s, e, f, l, true))
	require.Equal(t, int64(2), BitPos(q, 1, s, e, f, l, true))
}

func TestBitOpApply(t *testing.T) {
	require.Nil(t, BitOpApply(BitAnd, [][]byte{nil, nil}))
	require.Equal(t, []byte("\x0f\x00"), BitOpApply(BitAnd, [][]byte{[]byte("\xff\xff"), []byte("\x0f")}))
	require.Equal(t, []byte("\xff\x01"), BitOpApply(BitOr, [][]byte{[]byte("\xf0"), []byte("\x0f\x01")}))
	require.Equal(t, []byte("\xf0\x01"), BitOpApply(BitXor, [][]byte{[]byte("\xff"), []byte("\x0f\x01")}))
	require.Equal(t, []byte("\x00\xf0"), BitOpApply(BitNot, [][]byte{[]byte("\xff\x0f")}))
	require.Equal(t, []byte("\x00\x00"), BitOpApply(BitAnd, [][]byte{[]byte("\xff\xff"), nil}))
}

func TestBitfields(t *testing.T) {
	p := make([]byte, 2)
	SetBitfield(p, 7, 5, 23)
	require.Equal(t, []byte{0x01, 0x70}, p)
	require.Equal(t, uint64(23), GetUnsignedBitfield(p, 7, 5))
	require.Equal(t, int64(-9), GetSignedBitfield(p, 7, 5))
	require.Equal(t, uint64(0), GetUnsignedBitfield(p, 100, 8))
	q := make([]byte, 8)
	SetBitfield(q, 0, 64, uint64(1<<63))
	require.Equal(t, int64(math.MinInt64), GetSignedBitfield(q, 0, 64))

	for _, tc := range []struct {
		v    uint64
		incr int64
		bits int
		ow   Overflow
		dir  int
		lim  uint64
	}{
		{250, 10, 8, OverflowWrap, 1, 4},
		{250, 10, 8, OverflowSat, 1, 255},
		{250, 5, 8, OverflowSat, 0, 0},
		{5, -10, 8, OverflowWrap, -1, 251},
		{5, -10, 8, OverflowSat, -1, 0},
		{300, 0, 8, OverflowWrap, 1, 44},
		{uint64(1<<64 - 1), 0, 8, OverflowWrap, 1, 255},
	} {
		dir, lim := UnsignedBitfieldOverflow(tc.v, tc.incr, tc.bits, tc.ow)
		require.Equal(t, tc.dir, dir, "%+v", tc)
		require.Equal(t, tc.lim, lim, "%+v", tc)
	}
	for _, tc := range []struct {
		v, incr int64
		bits    int
		ow      Overflow
		dir     int
		lim     int64
	}{
		{100, 100, 8, OverflowWrap, 1, -56},
		{100, 100, 8, OverflowSat, 1, 127},
		{-100, -100, 8, OverflowWrap, -1, 56},
		{-100, -100, 8, OverflowSat, -1, -128},
		{100, 27, 8, OverflowSat, 0, 0},
		{math.MaxInt64, 1, 64, OverflowWrap, 1, math.MinInt64},
		{math.MaxInt64, 1, 64, OverflowSat, 1, math.MaxInt64},
		{math.MinInt64, -1, 64, OverflowSat, -1, math.MinInt64},
		{200, 0, 8, OverflowWrap, 1, -56},
	} {
		dir, lim := SignedBitfieldOverflow(tc.v, tc.incr, tc.bits, tc.ow)
		require.Equal(t, tc.dir, dir, "%+v", tc)
		require.Equal(t, tc.lim, lim, "%+v", tc)
	}
}

func TestLCS(t *testing.T) {
	a, b := []byte("ohmytext"), []byte("mynewtext")
	r := LCS(a, b, true, false, 0)
	require.Equal(t, uint32(6), r.Len)
	require.Equal(t, "mytext", string(r.Str))
	r = LCS(a, b, false, true, 0)
	require.Equal(t, []LCSMatch{{4, 7, 5, 8}, {2, 3, 0, 1}}, r.Matches)
	r = LCS(a, b, false, true, 4)
	require.Equal(t, []LCSMatch{{4, 7, 5, 8}}, r.Matches)
	r = LCS(nil, b, true, true, 0)
	require.Equal(t, uint32(0), r.Len)
	require.Empty(t, r.Str)
	require.Empty(t, r.Matches)
	require.Equal(t, uint64(4*9*10), LCSTableBytes(8, 9))
}
