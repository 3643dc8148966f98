package rdb

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// Payloads captured from redis-server 7.0.15 (see shared/docs/rdb-dump.md).
var capturedDumps = []struct {
	name    string
	payload string
	value   Value
}{
	{"string", "00 05 68656c6c6f 0a00 6372df766534200a", Value{Kind: KindString, Str: []byte("hello")}},
	{"int", "00 c1 2c01 0a00 954261f265825c10", Value{Kind: KindString, Str: []byte("300")}},
	{"neg", "00 c0 fb 0a00 49c4c6f4d7263f68", Value{Kind: KindString, Str: []byte("-5")}},
	{"list", "12 01 02 0f 0f000000 0300 8161 02 01 01 c12c 02 ff 0a00 c9192395a7ba060f",
		Value{Kind: KindList, List: [][]byte{[]byte("a"), []byte("1"), []byte("300")}}},
	{"intset", "0b 14 04000000 03000000 01000000 02000000 70110100 0a00 85d5c1065b1dd055",
		Value{Kind: KindSet, Encoding: EncodingCompact, Set: [][]byte{[]byte("1"), []byte("2"), []byte("70000")}}},
	{"hash", "10 12 12000000 0400 8166 02 8176 02 816e 02 05 01 ff 0a00 8490939f57b4f3c2",
		Value{Kind: KindHash, Encoding: EncodingCompact, Hash: []FieldValue{{[]byte("f"), []byte("v")}, {[]byte("n"), []byte("5")}}}},
	{"zset", "11 14 14000000 0400 8161 02 83312e35 04 8162 02 02 01 ff 0a00 fa02b425af188763",
		Value{Kind: KindZSet, Encoding: EncodingCompact, ZSet: []ScoredMember{{[]byte("a"), 1.5}, {[]byte("b"), 2}}}},
}

func TestDumpCaptured(t *testing.T) {
	for _, c := range capturedDumps {
		t.Run(c.name, func(t *testing.T) {
			payload := unhex(t, c.payload)
			got, err := Restore(payload, nil)
			require.NoError(t, err)
			require.Equal(t, c.value, got)
			v := c.value
			v.Encoding = EncodingAuto
			out, err := Dump(&v, nil)
			require.NoError(t, err)
			require.Equal(t, payload, out)
		})
	}
}

func TestRestoreErrors(t *testing.T) {
	good := unhex(t, capturedDumps[0].payload)
	for _, p := range [][]byte{nil, good[:9], append(append([]byte{}, good[:len(good)-1]...), 0)} {
		_, err := Restore(p, nil)
		require.Equal(t, ErrDumpPayload, err)
	}
	// Version 11 (Redis 7.2) is refused even with a valid CRC.
	v11 := appendDumpFooter(append([]byte{}, good[:len(good)-10]...))
	v11[len(v11)-10] = 11
	v11 = appendDumpFooter(v11[:len(v11)-10])
	_, err := Restore(v11, nil)
	require.NoError(t, err, "control: helper rewrote the version")
	bad := append([]byte{}, good[:len(good)-10]...)
	bad = append(bad, 11, 0)
	bad = append(bad, make([]byte, 8)...)
	crc := CRC64(bad[:len(bad)-8])
	for i := 0; i < 8; i++ {
		bad[len(bad)-8+i] = byte(crc >> (8 * i))
	}
	_, err = Restore(bad, nil)
	require.Equal(t, ErrDumpPayload, err)
	// Bad bodies.
	for _, body := range [][]byte{{}, {8}, {20, 0}, {0, 0x05, 'a'}, {2, 0}, {16, 3, 1, 2, 3}, {7, 5}} {
		_, err := Restore(appendDumpFooter(body), nil)
		require.ErrorIs(t, err, ErrBadDataFormat, "body %x", body)
	}
	// Skipping the checksum accepts a zeroed CRC.
	p := append([]byte{}, good...)
	copy(p[len(p)-8:], make([]byte, 8))
	_, err = Restore(p, &RestoreOptions{SkipChecksum: true})
	require.NoError(t, err)
}

func TestDumpFunctions(t *testing.T) {
	empty := DumpFunctions(nil, nil)
	require.Equal(t, unhex(t, "0a00 5d9b5c400f7fa2da"), empty)
	libs, err := RestoreFunctions(empty, nil)
	require.NoError(t, err)
	require.Empty(t, libs)
	code := []byte("#!lua name=mylib\nredis.register_function('f', function() return 1 end)")
	p := DumpFunctions([][]byte{code, code}, nil)
	libs, err = RestoreFunctions(p, nil)
	require.NoError(t, err)
	require.Equal(t, [][]byte{code, code}, libs)
	_, err = RestoreFunctions(appendDumpFooter([]byte{0, 1, 'a'}), nil)
	require.Equal(t, ErrFunctionType, err)
	_, err = RestoreFunctions([]byte{1, 2}, nil)
	require.Equal(t, ErrDumpPayload, err)
}

func TestDecodeCapturedMiniRDB(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("REDIS0010")
	aux := func(k string, v []byte) {
		b.WriteByte(0xfa)
		b.WriteByte(byte(len(k)))
		b.WriteString(k)
		b.Write(v)
	}
	aux("redis-ver", append([]byte{6}, "7.0.15"...))
	aux("redis-bits", []byte{0xc0, 0x40})
	aux("ctime", []byte{0xc2, 0x89, 0xc6, 0x02, 0x6b})
	aux("used-mem", []byte{0xc2, 0xf8, 0xb6, 0x0e, 0x00})
	aux("aof-base", []byte{0xc0, 0x00})
	b.Write(unhex(t, "fe00 fb0301"))
	b.Write(unhex(t, "12 01 6c 01 02 0c 0c000000 0200 81 61 02 01 01 ff"))
	b.Write(unhex(t, "00 02 6b31 05 68656c6c6f"))
	b.Write(unhex(t, "fc 00 d8 c3 2c bb 03 00 00 00 02 6b32 01 76"))
	b.WriteByte(0xff)
	require.Equal(t, unhex(t, "00f04b5f27eabd05"), le64(CRC64(b.Bytes())))
	b.Write(le64(CRC64(b.Bytes())))
	recs := decodeAll(t, b.Bytes())
	require.Len(t, recs, 5+2+3)
	require.Equal(t, "redis-ver", string(recs[0].AuxKey))
	require.Equal(t, "7.0.15", string(recs[0].AuxValue))
	require.Equal(t, "64", string(recs[1].AuxValue))
	require.Equal(t, "1795344009", string(recs[2].AuxValue))
	require.Equal(t, RecordSelectDB, recs[5].Kind)
	require.Equal(t, RecordResizeDB, recs[6].Kind)
	require.Equal(t, uint64(3), recs[6].DBSize)
	require.Equal(t, uint64(1), recs[6].ExpiresSize)
	require.Equal(t, Entry{Key: []byte("l"), Value: Value{Kind: KindList, List: [][]byte{[]byte("a"), []byte("1")}}, Idle: -1, Freq: -1}, recs[7].Entry)
	require.Equal(t, "hello", string(recs[8].Entry.Value.Str))
	require.Equal(t, int64(4102444800000), recs[9].Entry.ExpireMs)
	require.Equal(t, int64(0), recs[8].Entry.ExpireMs)

	// A flipped byte is caught by the checksum.
	bad := append([]byte{}, b.Bytes()...)
	bad[len(bad)-12] ^= 1
	_, err := decodeAllErr(bad)
	require.ErrorIs(t, err, ErrChecksum)
	// A zero checksum disables the check.
	copy(bad[len(bad)-8:], make([]byte, 8))
	_, err = decodeAllErr(bad)
	require.NoError(t, err)
}

func le64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

func decodeAllErr(p []byte) ([]Record, error) {
	d := NewDecoder(bytes.NewReader(p), nil)
	var out []Record
	for {
		r, err := d.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
}

func decodeAll(t testing.TB, p []byte) []Record {
	recs, err := decodeAllErr(p)
	require.NoError(t, err)
	return recs
}
