package cluster

import (
	"errors"
	"fmt"

	"github.com/redcluster/redcluster/internal/slots"
)

// ErrKeysOutsideDB0 is why a cluster master cannot start with keys in a
// database other than 0 (verifyClusterConfigWithData).
var ErrKeysOutsideDB0 = errors.New("You can't have keys in a DB different than DB 0 when in Cluster mode. Exiting.")

// MyselfIsReplica reports whether this node is a replica in the node
// table (from nodes.conf at startup).
func (st *State) MyselfIsReplica() bool {
	st.lock()
	defer st.mu.Unlock()
	return st.myself.IsReplica()
}

// VerifyData reconciles the slot table with the dataset loaded at startup
// as Redis 7.0's verifyClusterConfigWithData does. A replica checks
// nothing. A master refuses keys outside db 0 (otherDBs), then for every
// slot holding keys (hasKeys) that it neither owns nor imports it takes
// the slot when it is unassigned, or marks it importing from its owner;
// the new configuration is saved before it returns.
func (st *State) VerifyData(hasKeys func(slot int) bool, otherDBs bool) error {
	st.lock()
	me := st.myself
	if me.IsReplica() {
		st.mu.Unlock()
		return nil
	}
	if otherDBs {
		st.mu.Unlock()
		return ErrKeysOutsideDB0
	}
	update := 0
	for j := 0; j < slots.Count; j++ {
		if !hasKeys(j) || st.owner[j] == me || st.importing[j] != nil {
			continue
		}
		update++
		if st.owner[j] == nil {
			st.opts.Log.Warn().Msg(fmt.Sprintf("I have keys for unassigned slot %d. Taking responsibility for it.", j))
			st.addSlot(me, j)
		} else {
			st.opts.Log.Warn().Msg(fmt.Sprintf("I have keys for slot %d, but the slot is assigned to another node. Setting it to importing state.", j))
			st.importing[j] = st.owner[j]
		}
	}
	if update > 0 {
		st.changed()
	}
	st.mu.Unlock()
	if update > 0 {
		if err := st.SaveConfig(); err != nil {
			return fmt.Errorf("saving the cluster config: %w", err)
		}
	}
	return nil
}
