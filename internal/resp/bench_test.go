package resp

import "testing"

func BenchmarkParseSet(b *testing.B) {
	req := []byte("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000012345\r\n$3\r\nxxx\r\n")
	lim := Limits{MaxBulkLen: 512 << 20}
	args := make([][]byte, 0, 8)
	b.SetBytes(int64(len(req)))
	for i := 0; i < b.N; i++ {
		a, _, err := Parse(req, lim, args)
		if err != nil || len(a) != 3 {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriterBulk(b *testing.B) {
	w := NewWriter()
	v := []byte("some-value-of-moderate-size")
	for i := 0; i < b.N; i++ {
		w.Reset()
		w.Bulk(v)
	}
}
