package replication

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecidePSYNC(t *testing.T) {
	id1 := strings.Repeat("a", 40)
	id2 := strings.Repeat("b", 40)
	other := strings.Repeat("c", 40)
	// Backlog holding bytes 1001..1100 (offset 1100).
	bl := NewBacklog(100, 900)
	bl.Write(make([]byte, 200))
	require.Equal(t, int64(1001), bl.FirstByteOffset())
	require.Equal(t, int64(1100), bl.Offset())
	st := PsyncState{ReplID: id1, ReplID2: id2, SecondOffset: 1050, Backlog: bl}

	cases := []struct {
		name    string
		replid  string
		offset  int64
		psync2  bool
		st      PsyncState
		partial bool
		reply   string
		reason  string
	}{
		{"our id, first byte", id1, 1001, true, st, true, "+CONTINUE " + id1 + "\r\n", ""},
		{"our id, next byte", id1, 1101, true, st, true, "+CONTINUE " + id1 + "\r\n", ""},
		{"our id, no psync2", id1, 1050, false, st, true, "+CONTINUE\r\n", ""},
		{"our id uppercase", strings.ToUpper(id1), 1050, true, st, true, "+CONTINUE " + id1 + "\r\n", ""},
		{"our id, before backlog", id1, 1000, true, st, false, "", "lack of backlog"},
		{"our id, beyond offset", id1, 1102, true, st, false, "", "lack of backlog"},
		{"id2 within second offset", id2, 1050, true, st, true, "+CONTINUE " + id1 + "\r\n", ""},
		{"id2 at first byte", id2, 1001, true, st, true, "+CONTINUE " + id1 + "\r\n", ""},
		{"id2 beyond second offset", id2, 1051, true, st, false, "", "Requested offset for second ID was 1051, but I can reply up to 1050"},
		{"id2 within, not in backlog", id2, 999, true, st, false, "", "lack of backlog"},
		{"unknown id", other, 1050, true, st, false, "", "Replication ID mismatch"},
		{"forced full", "?", -1, true, st, false, "", "Full resync requested"},
		{"no backlog", id1, 1050, true, PsyncState{ReplID: id1, ReplID2: ZeroReplID, SecondOffset: -1}, false, "", "lack of backlog"},
		{"zero id2 never matches", ZeroReplID, 5, true, PsyncState{ReplID: id1, ReplID2: ZeroReplID, SecondOffset: -1, Backlog: bl}, false, "", "Requested offset"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := DecidePSYNC(c.replid, c.offset, c.psync2, c.st)
			require.Equal(t, c.partial, d.Partial)
			require.Equal(t, c.reply, d.Reply)
			require.Contains(t, d.Reason, c.reason)
		})
	}
	require.Equal(t, "+FULLRESYNC "+id1+" 315\r\n", FullResyncLine(id1, 315))
}
