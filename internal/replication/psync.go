package replication

import (
	"strconv"
	"strings"
)

// PsyncState is the master-side state a PSYNC decision depends on.
type PsyncState struct {
	ReplID       string // master_replid
	ReplID2      string // master_replid2
	SecondOffset int64  // second_repl_offset (-1 when replid2 is unset)
	Backlog      *Backlog
}

// PsyncDecision is the outcome of a PSYNC request.
type PsyncDecision struct {
	// Partial is true when the master continues from the requested
	// offset: Reply is then the +CONTINUE line and the backlog from the
	// offset on follows it.
	Partial bool
	Reply   string
	// Reason explains a refusal (Redis's log line).
	Reason string
}

// DecidePSYNC decides whether "PSYNC replid offset" can continue
// (masterTryPartialResynchronization): replid must be our ID, or our
// secondary ID with offset <= second_repl_offset, and the backlog must hold
// every byte from offset on. psync2 selects "+CONTINUE <replid>" over the
// bare "+CONTINUE". "?" asks for a full resync.
func DecidePSYNC(replid string, offset int64, psync2 bool, st PsyncState) PsyncDecision {
	if !strings.EqualFold(replid, st.ReplID) &&
		(!strings.EqualFold(replid, st.ReplID2) || offset > st.SecondOffset) {
		var why string
		switch {
		case strings.HasPrefix(replid, "?"):
			why = "Full resync requested by replica"
		case !strings.EqualFold(replid, st.ReplID) && !strings.EqualFold(replid, st.ReplID2):
			why = "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '" +
				replid + "', my replication IDs are '" + st.ReplID + "' and '" + st.ReplID2 + "')"
		default:
			why = "Partial resynchronization not accepted: Requested offset for second ID was " +
				strconv.FormatInt(offset, 10) + ", but I can reply up to " + strconv.FormatInt(st.SecondOffset, 10)
		}
		return PsyncDecision{Reason: why}
	}
	b := st.Backlog
	if b == nil || offset < b.FirstByteOffset() || offset > b.FirstByteOffset()+b.HistLen() {
		why := "Unable to partial resync for lack of backlog (Replica request was: " + strconv.FormatInt(offset, 10) + ")."
		return PsyncDecision{Reason: why}
	}
	reply := "+CONTINUE\r\n"
	if psync2 {
		reply = "+CONTINUE " + st.ReplID + "\r\n"
	}
	return PsyncDecision{Partial: true, Reply: reply}
}

// FullResyncLine returns the reply that starts a full synchronization:
// "+FULLRESYNC <replid> <offset>\r\n", offset being master_repl_offset at
// the snapshot point.
func FullResyncLine(replid string, offset int64) string {
	return "+FULLRESYNC " + replid + " " + strconv.FormatInt(offset, 10) + "\r\n"
}
