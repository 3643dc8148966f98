package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestZZMemProbe(t *testing.T) {
	if os.Getenv("MEMPROBE") == "" {
		t.Skip()
	}
	s := connServer(t, nil)
	c := connDial(t, s)
	runtime.MemProfileRate = 4096
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	const n = 1000000
	for i := 0; i < n; i += 10000 {
		var sb strings.Builder
		for k := i; k < i+10000; k++ {
			key := fmt.Sprintf("key:%d", k)
			fmt.Fprintf(&sb, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$10\r\nv%09d\r\n", len(key), key, k)
		}
		require.NoError(t, c.WriteRaw([]byte(sb.String())))
		for k := 0; k < 10000; k++ {
			_, err := c.ReadReply(time.Minute)
			require.NoError(t, err)
		}
	}
	runtime.ReadMemStats(&m1)
	runtime.GC()
	var m2 runtime.MemStats
	runtime.ReadMemStats(&m2)
	t.Logf("alloc/key %.1f mallocs/key %.2f live/key %.1f numgc %d", float64(m1.TotalAlloc-m0.TotalAlloc)/n, float64(m1.Mallocs-m0.Mallocs)/n, float64(m2.HeapAlloc-m0.HeapAlloc)/n, m1.NumGC-m0.NumGC)
	f, _ := os.Create("/tmp/mp/heap.prof")
	pprof.Lookup("allocs").WriteTo(f, 0)
	f.Close()
}
