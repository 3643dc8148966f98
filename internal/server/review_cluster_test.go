package server

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// CLUSTER SETSLOT counts the keys of the slot under its lock and under the
// cluster state's lock. Inside EXEC, which holds the slot locks of the
// queued keys (every lock for commands such as SETSLOT), it must neither
// take a slot lock again nor take the two locks in the opposite order of
// a SETSLOT run by another client.
func TestSetSlotInsideExecDoesNotDeadlock(t *testing.T) {
	s := testServer(t, clusterMode)
	a, b := stressDial(t, s), stressDial(t, s)
	r, err := a.do("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
	require.NoError(t, err)
	require.Equal(t, "+OK\r\n", r)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err = a.do("CLUSTER", "INFO")
		require.NoError(t, err)
		if strings.Contains(r, "cluster_state:ok") {
			break
		}
		require.True(t, time.Now().Before(deadline), "cluster state not ok: %s", r)
		time.Sleep(10 * time.Millisecond)
	}
	r, err = a.do("CLUSTER", "MYID")
	require.NoError(t, err)
	myID, _, err := parseBulk(r)
	require.NoError(t, err)
	const rounds = 200
	// "foo" is in slot 12182.
	runWorkers(t, 60*time.Second, 2, func(i int) error {
		for n := 0; n < rounds; n++ {
			if i == 0 {
				rs, err := a.pipeline([][]string{{"MULTI"}, {"SET", "foo", "1"},
					{"CLUSTER", "SETSLOT", "12182", "NODE", myID}, {"EXEC"}})
				if err != nil {
					return err
				}
				if rs[3] != "*2\r\n+OK\r\n+OK\r\n" {
					return errorf("EXEC replied %q", rs[3])
				}
			} else {
				r, err := b.do("CLUSTER", "SETSLOT", "12182", "NODE", myID)
				if err != nil {
					return err
				}
				if r != "+OK\r\n" && !strings.HasPrefix(r, "-") {
					return errorf("SETSLOT replied %q", r)
				}
			}
		}
		return nil
	})
}
