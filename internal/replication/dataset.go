package replication

import "github.com/redcluster/redcluster/internal/rdb"

// Dataset is what a Replica needs from the server's keyspace.
//
// A full synchronization calls BeginFullSync, then LoadFunction and
// LoadEntry for the content of the master's RDB, then EndFullSync. The
// server must load into a fresh staging keyspace (and function set) while
// the current data stays visible, and swap it in only at EndFullSync(true);
// EndFullSync(false) discards it (a failed or aborted transfer), so that a
// half-loaded dataset is never exposed. Keys already expired are loaded
// anyway (replicas do not expire keys; the master sends DELs).
//
// Apply and ApplyTx execute the master's command stream. They run commands
// without replies, without propagating them, and bypassing
// replica-read-only, maxmemory refusals and cluster redirections. Errors of
// single commands are the dataset's business (Redis logs them and goes
// on). Every method is called from the replica's goroutine, one at a time.
type Dataset interface {
	// BeginFullSync starts a staging keyspace for a full synchronization.
	BeginFullSync() error
	// LoadFunction adds a function library (its source code) to the
	// staging area.
	LoadFunction(code []byte) error
	// LoadEntry adds a key to the staging keyspace. The entry's Key, and
	// the Str of a string value, alias buffers reused by the next call
	// (rdb.DecoderOptions.ReuseStrings): copy them to keep them; the other
	// slices are the callee's. An error aborts the sync.
	LoadEntry(e *rdb.Entry) error
	// EndFullSync swaps the staging keyspace in (ok) or drops it.
	EndFullSync(ok bool) error
	// Apply executes one command of the stream in database db. args alias
	// a buffer reused by the next call: copy what is kept.
	Apply(db int, args [][]byte)
	// ApplyTx executes the commands of a MULTI/EXEC block of the stream
	// atomically, in order. The commands' args are owned by the callee.
	ApplyTx(cmds []Op)
}

// SizeHinter is an optional interface of a Dataset: ResizeDB passes on
// the size hint an RDB gives before the keys of database db (its key
// count and how many of them have a TTL), so that the staging keyspace
// can be sized for them. A hint is only a hint: it may be wrong.
type SizeHinter interface {
	ResizeDB(db int, keys, expires uint64)
}
