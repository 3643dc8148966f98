package server

import (
	"sort"
	"strings"

	"github.com/redcluster/redcluster/internal/replication"
	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/slots"
	"github.com/redcluster/redcluster/internal/store"
)

// Flag is a command property, as in Redis's command table.
type Flag uint32

// Command flags (the names COMMAND INFO prints are in flagNames).
const (
	FlagWrite Flag = 1 << iota
	FlagReadOnly
	FlagDenyOOM
	FlagModule
	FlagAdmin
	FlagPubSub
	FlagNoScript
	FlagBlocking
	FlagLoading
	FlagStale
	FlagSkipMonitor
	FlagSkipSlowlog
	FlagAsking
	FlagFast
	FlagNoAuth
	FlagMayReplicate
	FlagSentinel
	FlagOnlySentinel
	FlagNoMandatoryKeys
	FlagProtected
	FlagModuleGetKeys
	FlagModuleNoCluster
	FlagNoAsyncLoading
	FlagNoMulti
	FlagMovableKeys
	FlagAllowBusy
)

// flagNames lists flags in the order Redis 7.0 prints them in COMMAND INFO.
var flagNames = []struct {
	f    Flag
	name string
}{
	{FlagWrite, "write"}, {FlagReadOnly, "readonly"}, {FlagDenyOOM, "denyoom"},
	{FlagModule, "module"}, {FlagAdmin, "admin"}, {FlagPubSub, "pubsub"},
	{FlagNoScript, "noscript"}, {FlagBlocking, "blocking"}, {FlagLoading, "loading"},
	{FlagStale, "stale"}, {FlagSkipMonitor, "skip_monitor"}, {FlagSkipSlowlog, "skip_slowlog"},
	{FlagAsking, "asking"}, {FlagFast, "fast"}, {FlagNoAuth, "no_auth"},
	{FlagMayReplicate, "may_replicate"}, {FlagNoMandatoryKeys, "no_mandatory_keys"},
	{FlagNoAsyncLoading, "no_async_loading"}, {FlagNoMulti, "no_multi"},
	{FlagMovableKeys, "movablekeys"}, {FlagAllowBusy, "allow_busy"},
}

// FlagNames returns the COMMAND INFO names of the flags set in f.
func FlagNames(f Flag) []string {
	var out []string
	for _, fn := range flagNames {
		if f&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

// Command describes one command or subcommand: its arity (negative means
// "at least"), flags, key positions and handler.
type Command struct {
	Name     string // lower case; "get", or "get" under parent "config"
	Arity    int
	Flags    Flag
	FirstKey int // position of the first key, 0 if none
	LastKey  int // position of the last key; negative counts from the end
	Step     int
	// Keys returns the positions of the keys for commands whose keys move
	// (ZUNIONSTORE, LMPOP, ...). When set it replaces FirstKey/LastKey/Step.
	Keys    func(args [][]byte) []int
	Handler func(c *Ctx)
	Subs    map[string]*Command
	Parent  *Command
	// ACL categories without '@', e.g. "string", "fast".
	Categories []string
	Group      string // COMMAND DOCS group, e.g. "string"
	Since      string // COMMAND DOCS since
	Summary    string
	Complexity string
	fullName   string // set by Table.Add
}

// FullName is "get" or "config|get", as used in error messages.
func (cmd *Command) FullName() string {
	if cmd.fullName != "" {
		return cmd.fullName
	}
	if cmd.Parent != nil {
		return cmd.Parent.Name + "|" + cmd.Name
	}
	return cmd.Name
}

// KeyPositions returns the argument positions holding keys.
func (cmd *Command) KeyPositions(args [][]byte, buf []int) []int {
	if cmd.Keys != nil {
		return cmd.Keys(args)
	}
	if cmd.FirstKey <= 0 {
		return buf[:0]
	}
	last := cmd.LastKey
	if last < 0 {
		last = len(args) + last
	}
	step := cmd.Step
	if step <= 0 {
		step = 1
	}
	out := buf[:0]
	for i := cmd.FirstKey; i <= last && i < len(args); i += step {
		out = append(out, i)
	}
	return out
}

// Table is the command table: top-level commands by lower-case name.
type Table map[string]*Command

// Add registers commands, linking subcommands to their parent.
func (t Table) Add(cmds ...*Command) {
	for _, c := range cmds {
		c.fullName = c.Name
		for _, sub := range c.Subs {
			sub.Parent = c
			sub.fullName = c.Name + "|" + sub.Name
		}
		if c.Keys != nil {
			c.Flags |= FlagMovableKeys
		}
		t[c.Name] = c
	}
}

// Lookup finds a command by name, case-insensitively, without allocating
// for names up to 32 bytes.
func (t Table) Lookup(name []byte) *Command {
	var tmp [32]byte
	if len(name) <= len(tmp) {
		b := tmp[:len(name)]
		for i, ch := range name {
			if ch >= 'A' && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			b[i] = ch
		}
		return t[string(b)]
	}
	return t[strings.ToLower(string(name))]
}

// Names returns the sorted command names.
func (t Table) Names() []string {
	out := make([]string, 0, len(t))
	for n := range t {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Ctx is what a handler gets: the client, its arguments, the reply writer,
// the selected database and the time the command started.
//
// Args alias the connection's read buffer: copy any byte slice that must
// outlive the call (a stored value, say); string(key) copies already.
type Ctx struct {
	S    *Server
	C    *Client
	Cmd  *Command
	Args [][]byte
	W    *resp.Writer
	DB   *store.DB
	Now  int64 // ms; one value per command, as Redis caches mstime
	// Dirty counts the changes the command made (INFO rdb_changes_since_last_save).
	Dirty int
	// locked is set while the dispatcher holds the slot locks of the keys.
	locked bool
	// allLocked is set when EXEC holds every slot lock.
	allLocked bool
	// inExec is set for commands run by EXEC: blocking commands must not block.
	inExec bool
	// master is set for commands of the replication stream a replica
	// applies: keys are never seen as expired (the master sends DEL).
	master bool
	// feeding is set when the command's writes go to a replication stream
	// (read once, with the slot locks held); propSet when the handler
	// chose what to propagate (props, possibly nothing). repl_prop.go.
	feeding bool
	propSet bool
	props   []replication.Op
	// key1 and slot1 are the key of a single-key command and its slot,
	// computed by the dispatcher: lookups of that key reuse the slot.
	key1  []byte
	slot1 int
}

// slotOf returns key's slot, without hashing it again when it is the
// command's key.
func (c *Ctx) slotOf(key []byte) int {
	if k1 := c.key1; k1 != nil && len(key) == len(k1) && (len(key) == 0 || &key[0] == &k1[0]) {
		return c.slot1
	}
	return slots.KeySlot(key)
}

// Set stores o at key in the selected database (store.DB.Set).
func (c *Ctx) Set(key []byte, o *store.Object) { c.DB.SetIn(c.slotOf(key), key, o) }

// SetStringCopy is store.DB.SetStringCopy in the selected database.
func (c *Ctx) SetStringCopy(key, val []byte, o *store.Object) {
	c.DB.SetStringCopyIn(c.slotOf(key), key, val, o)
}

// InExec reports whether the command runs inside EXEC.
func (c *Ctx) InExec() bool { return c.inExec }

// LockSlot takes a slot lock for keyspace-wide commands (KEYS, SCAN,
// FLUSHDB ...) unless EXEC already holds every lock.
func (c *Ctx) LockSlot(slot int) {
	if !c.allLocked {
		c.S.KS.Lock(slot)
	}
}

// UnlockSlot releases what LockSlot took.
func (c *Ctx) UnlockSlot(slot int) {
	if !c.allLocked {
		c.S.KS.Unlock(slot)
	}
}

// LockAll takes every slot lock unless EXEC already holds them.
func (c *Ctx) LockAll() {
	if !c.allLocked {
		c.S.KS.LockAll()
	}
}

// UnlockAll releases what LockAll took.
func (c *Ctx) UnlockAll() {
	if !c.allLocked {
		c.S.KS.UnlockAll()
	}
}

// Error replies with an error; msg carries its code ("ERR ...").
func (c *Ctx) Error(msg string) { c.W.Error(msg) }

// ArityError replies with the wrong-number-of-arguments error of this command.
func (c *Ctx) ArityError() {
	c.W.Error("ERR wrong number of arguments for '" + c.Cmd.FullName() + "' command")
}

// Modified records a change to key: it bumps Dirty and invalidates WATCHes.
func (c *Ctx) Modified(key []byte) {
	c.Dirty++
	c.S.touchWatched(c.DB.ID, key)
}

// Lookup returns the live object at key (lazy expiry applied); it is
// Redis's lookupKeyWrite.
func (c *Ctx) Lookup(key []byte) *store.Object {
	if c.master {
		return c.peekTouch(key)
	}
	return c.DB.LookupIn(c.slotOf(key), key, c.Now)
}

// peekTouch is the master client's lookup: an expired key still exists.
func (c *Ctx) peekTouch(key []byte) *store.Object {
	o := c.DB.PeekIn(c.slotOf(key), key)
	if o != nil {
		o.LRU = store.LRUClock(c.Now)
	}
	return o
}

// LookupRead is Redis's lookupKeyRead: Lookup that counts a keyspace hit
// for any existing key (whatever its type) and a miss otherwise.
func (c *Ctx) LookupRead(key []byte) *store.Object {
	o := c.Lookup(key)
	if o == nil {
		c.S.Stats.KeyspaceMisses.Add(1)
	} else {
		c.S.Stats.KeyspaceHits.Add(1)
	}
	return o
}

// lookupAs returns the value at key when it holds type t: the zero T with
// ok for a missing key, ok false after replying WRONGTYPE. read selects
// LookupRead (hit/miss statistics) over Lookup.
func lookupAs[T any](c *Ctx, key []byte, t store.Type, read bool) (v T, ok bool) {
	var o *store.Object
	if read {
		o = c.LookupRead(key)
	} else {
		o = c.Lookup(key)
	}
	if o == nil {
		return v, true
	}
	if o.Type != t {
		c.Error(resp.ErrWrongType)
		return v, false
	}
	return o.Val.(T), true
}

// keySlots computes the sorted, de-duplicated slots of the command's keys
// into buf, and whether they span more than one slot.
func keySlots(cmd *Command, args [][]byte, posBuf []int, buf []int) ([]int, bool) {
	pos := cmd.KeyPositions(args, posBuf)
	out := buf[:0]
	for _, p := range pos {
		if p >= len(args) {
			continue
		}
		s := slots.KeySlot(args[p])
		dup := false
		for _, x := range out {
			if x == s {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, s)
		}
	}
	if len(out) > 1 {
		sort.Ints(out)
	}
	return out, len(out) > 1
}
