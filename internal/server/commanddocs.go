package server

import (
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

// COMMAND and its subcommands: introspection of the command table in
// Redis 7.0's reply formats.

func commandCommand() *Command {
	ls := FlagLoading | FlagStale
	cats := []string{"slow", "connection"}
	sub := func(name string, arity int, h func(*Ctx), since string) *Command {
		return &Command{Name: name, Arity: arity, Flags: ls, Handler: h, Group: "server", Since: since, Categories: cats}
	}
	return &Command{Name: "command", Arity: -1, Flags: ls, Handler: cmdCommandAll, Group: "server", Since: "2.8.13", Categories: cats,
		Subs: map[string]*Command{
			"count":           sub("count", 2, cmdCommandCount, "2.8.13"),
			"docs":            sub("docs", -2, cmdCommandDocs, "7.0.0"),
			"getkeys":         sub("getkeys", -4, cmdCommandGetKeys, "2.8.13"),
			"getkeysandflags": sub("getkeysandflags", -4, cmdCommandGetKeysAndFlags, "7.0.0"),
			"help":            sub("help", 2, cmdCommandHelp, "5.0.0"),
			"info":            sub("info", -2, cmdCommandInfo, "2.8.13"),
			"list":            sub("list", -2, cmdCommandList, "7.0.0"),
		}}
}

// visibleCommands returns the listed top-level commands sorted by name.
func (s *Server) visibleCommands() []*Command {
	out := make([]*Command, 0, len(s.Cmds))
	for _, name := range s.Cmds.Names() {
		if cmd := s.Cmds[name]; cmd != nil {
			out = append(out, cmd)
		}
	}
	return out
}

// visibleSubs returns a container's listed subcommands sorted by name.
func visibleSubs(cmd *Command) []*Command {
	names := make([]string, 0, len(cmd.Subs))
	for n, sub := range cmd.Subs {
		if sub != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]*Command, len(names))
	for i, n := range names {
		out[i] = cmd.Subs[n]
	}
	return out
}

// lookupCommandName finds "get" or "config|get" case-insensitively.
func (s *Server) lookupCommandName(name string) *Command {
	name = strings.ToLower(name)
	parent, sub, hasSub := strings.Cut(name, "|")
	cmd := s.Cmds[parent]
	if cmd == nil {
		return nil
	}
	if !hasSub {
		return cmd
	}
	if cmd.Subs == nil || strings.Contains(sub, "|") {
		return nil
	}
	sc := cmd.Subs[sub]
	if sc == nil {
		return nil
	}
	return sc
}

// aclCategoryOrder is the order Redis prints ACL categories in.
var aclCategoryOrder = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
	"connection", "transaction", "scripting"}

// groupCategory is the ACL category a command of a group belongs to, used
// when the command table gives none.
var groupCategory = map[string]string{
	"string": "string", "list": "list", "hash": "hash", "set": "set", "sorted_set": "sortedset",
	"sorted-set": "sortedset", "generic": "keyspace", "transactions": "transaction", "pubsub": "pubsub",
	"connection": "connection", "scripting": "scripting", "geo": "geo", "hyperloglog": "hyperloglog",
	"stream": "stream", "bitmap": "bitmap",
}

// commandCategories returns cmd's ACL categories (without '@') in Redis's
// order: the table's plus those implied by the flags.
func commandCategories(cmd *Command) []string {
	has := map[string]bool{}
	for _, c := range cmd.Categories {
		has[strings.ToLower(strings.TrimPrefix(c, "@"))] = true
	}
	if len(cmd.Categories) == 0 && cmd.Subs == nil {
		if g := groupCategory[cmd.Group]; g != "" {
			has[g] = true
		}
	}
	f := cmd.Flags
	if f&FlagWrite != 0 {
		has["write"] = true
	}
	if f&FlagReadOnly != 0 && !has["scripting"] {
		has["read"] = true
	}
	if f&FlagAdmin != 0 {
		has["admin"] = true
		has["dangerous"] = true
	}
	if f&FlagPubSub != 0 {
		has["pubsub"] = true
	}
	if f&FlagFast != 0 {
		has["fast"] = true
	}
	if f&FlagBlocking != 0 {
		has["blocking"] = true
	}
	if !has["fast"] {
		has["slow"] = true
	}
	out := make([]string, 0, len(has))
	for _, c := range aclCategoryOrder {
		if has[c] {
			out = append(out, c)
		}
	}
	return out
}

// keySpec is one key specification of COMMAND INFO.
type keySpec struct {
	flags []string
	// begin_search: bsIndex > 0 for "index", bsKeyword for "keyword",
	// neither for "unknown".
	bsIndex     int
	bsKeyword   string
	bsStartFrom int
	// find_keys: "range", "keynum" or "unknown".
	fkType                        string
	lastKey, keyStep, limit       int
	keyNumIdx, firstKey, numsStep int
}

// cmdMeta is what COMMAND INFO reports beyond our command table.
type cmdMeta struct {
	tips  []string
	specs []keySpec
	known bool // a Redis 7.0 command (else derived from our table)
}

var (
	cmdMetaOnce  sync.Once
	cmdMetaTable map[string]*cmdMeta
)

// parseKeySpec decodes one commandSpecs entry: "FLAGS;BEGIN;FIND" with
// BEGIN "iN" (index), "kWORD,N" (keyword) or "u", and FIND "rLAST,STEP,LIMIT"
// (range), "nIDX,FIRST,STEP" (keynum) or "u".
func parseKeySpec(s string) keySpec {
	parts := strings.Split(s, ";")
	ks := keySpec{flags: strings.Split(parts[0], ","), fkType: "unknown"}
	nums := func(t string) []int {
		var out []int
		for _, f := range strings.Split(t, ",") {
			n, _ := strconv.Atoi(f)
			out = append(out, n)
		}
		return out
	}
	switch b := parts[1]; b[0] {
	case 'i':
		ks.bsIndex, _ = strconv.Atoi(b[1:])
	case 'k':
		kw, from, _ := strings.Cut(b[1:], ",")
		ks.bsKeyword = kw
		ks.bsStartFrom, _ = strconv.Atoi(from)
	}
	switch f := parts[2]; f[0] {
	case 'r':
		n := nums(f[1:])
		ks.fkType, ks.lastKey, ks.keyStep, ks.limit = "range", n[0], n[1], n[2]
	case 'n':
		n := nums(f[1:])
		ks.fkType, ks.keyNumIdx, ks.firstKey, ks.numsStep = "keynum", n[0], n[1], n[2]
	}
	return ks
}

// commandMeta returns the tips and key specs of a command by full name.
func commandMeta(cmd *Command) *cmdMeta {
	cmdMetaOnce.Do(func() {
		cmdMetaTable = make(map[string]*cmdMeta, len(commandSpecs))
		for name, e := range commandSpecs {
			m := &cmdMeta{known: true}
			if e[0] != "" {
				m.tips = strings.Split(e[0], ",")
			}
			if e[1] != "" {
				for _, s := range strings.Split(e[1], " ") {
					m.specs = append(m.specs, parseKeySpec(s))
				}
			}
			cmdMetaTable[name] = m
		}
	})
	if m := cmdMetaTable[cmd.FullName()]; m != nil {
		return m
	}
	// Not a Redis 7.0 command: derive a range spec from the table.
	m := &cmdMeta{}
	if cmd.FirstKey > 0 {
		ks := keySpec{bsIndex: cmd.FirstKey, fkType: "range", keyStep: max(cmd.Step, 1)}
		if cmd.LastKey < 0 {
			ks.lastKey = cmd.LastKey
		} else {
			ks.lastKey = cmd.LastKey - cmd.FirstKey
		}
		if cmd.Flags&FlagWrite != 0 {
			ks.flags = []string{"RW", "access", "update"}
		} else {
			ks.flags = []string{"RO", "access"}
		}
		m.specs = []keySpec{ks}
	}
	return m
}

// writeCommandInfo writes one COMMAND INFO entry.
func writeCommandInfo(w *resp.Writer, cmd *Command) {
	w.Array(10)
	w.BulkString(cmd.FullName())
	w.Int(int64(cmd.Arity))
	flags := FlagNames(cmd.Flags)
	w.Set(len(flags))
	for _, f := range flags {
		w.Status(f)
	}
	step := cmd.Step
	if cmd.FirstKey > 0 && step == 0 {
		step = 1
	}
	w.Int(int64(cmd.FirstKey))
	w.Int(int64(cmd.LastKey))
	w.Int(int64(step))
	cats := commandCategories(cmd)
	w.Set(len(cats))
	for _, c := range cats {
		w.Status("@" + c)
	}
	m := commandMeta(cmd)
	w.Set(len(m.tips))
	for _, t := range m.tips {
		w.BulkString(t)
	}
	w.Set(len(m.specs))
	for i := range m.specs {
		writeKeySpec(w, &m.specs[i])
	}
	if cmd.Subs == nil {
		w.Set(0)
		return
	}
	subs := visibleSubs(cmd)
	w.Array(len(subs))
	for _, sub := range subs {
		writeCommandInfo(w, sub)
	}
}

func writeKeySpec(w *resp.Writer, ks *keySpec) {
	w.Map(3)
	w.BulkString("flags")
	w.Set(len(ks.flags))
	for _, f := range ks.flags {
		w.Status(f)
	}
	w.BulkString("begin_search")
	w.Map(2)
	w.BulkString("type")
	switch {
	case ks.bsIndex > 0:
		w.BulkString("index")
		w.BulkString("spec")
		w.Map(1)
		w.BulkString("index")
		w.Int(int64(ks.bsIndex))
	case ks.bsKeyword != "":
		w.BulkString("keyword")
		w.BulkString("spec")
		w.Map(2)
		w.BulkString("keyword")
		w.BulkString(ks.bsKeyword)
		w.BulkString("startfrom")
		w.Int(int64(ks.bsStartFrom))
	default:
		w.BulkString("unknown")
		w.BulkString("spec")
		w.Map(0)
	}
	w.BulkString("find_keys")
	w.Map(2)
	w.BulkString("type")
	w.BulkString(ks.fkType)
	w.BulkString("spec")
	switch ks.fkType {
	case "range":
		w.Map(3)
		w.BulkString("lastkey")
		w.Int(int64(ks.lastKey))
		w.BulkString("keystep")
		w.Int(int64(ks.keyStep))
		w.BulkString("limit")
		w.Int(int64(ks.limit))
	case "keynum":
		w.Map(3)
		w.BulkString("keynumidx")
		w.Int(int64(ks.keyNumIdx))
		w.BulkString("firstkey")
		w.Int(int64(ks.firstKey))
		w.BulkString("keystep")
		w.Int(int64(ks.numsStep))
	default:
		w.Map(0)
	}
}

// docsGroup is COMMAND DOCS' spelling of a command group.
func docsGroup(cmd *Command) string {
	g := strings.ReplaceAll(cmd.Group, "_", "-")
	if g == "" {
		g = "generic"
	}
	return g
}

// writeCommandDocs writes one COMMAND DOCS entry (the value of the map).
func writeCommandDocs(w *resp.Writer, cmd *Command) {
	n := 1
	if cmd.Summary != "" {
		n++
	}
	if cmd.Since != "" {
		n++
	}
	if cmd.Complexity != "" {
		n++
	}
	if cmd.Subs != nil {
		n++
	}
	w.Map(n)
	if cmd.Summary != "" {
		w.BulkString("summary")
		w.BulkString(cmd.Summary)
	}
	if cmd.Since != "" {
		w.BulkString("since")
		w.BulkString(cmd.Since)
	}
	w.BulkString("group")
	w.BulkString(docsGroup(cmd))
	if cmd.Complexity != "" {
		w.BulkString("complexity")
		w.BulkString(cmd.Complexity)
	}
	if cmd.Subs != nil {
		subs := visibleSubs(cmd)
		w.BulkString("subcommands")
		w.Map(len(subs))
		for _, sub := range subs {
			w.BulkString(sub.FullName())
			writeCommandDocs(w, sub)
		}
	}
}

func cmdCommandAll(c *Ctx) {
	cmds := c.S.visibleCommands()
	c.W.Array(len(cmds))
	for _, cmd := range cmds {
		writeCommandInfo(c.W, cmd)
	}
}

func cmdCommandCount(c *Ctx) { c.W.Int(int64(len(c.S.visibleCommands()))) }

func cmdCommandInfo(c *Ctx) {
	if len(c.Args) == 2 {
		cmdCommandAll(c)
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, a := range c.Args[2:] {
		if cmd := c.S.lookupCommandName(string(a)); cmd != nil {
			writeCommandInfo(c.W, cmd)
		} else {
			c.W.Null()
		}
	}
}

func cmdCommandDocs(c *Ctx) {
	var cmds []*Command
	if len(c.Args) == 2 {
		cmds = c.S.visibleCommands()
	} else {
		for _, a := range c.Args[2:] {
			if cmd := c.S.lookupCommandName(string(a)); cmd != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	c.W.Map(len(cmds))
	for _, cmd := range cmds {
		c.W.BulkString(cmd.FullName())
		writeCommandDocs(c.W, cmd)
	}
}

func cmdCommandList(c *Ctx) {
	var filter func(*Command) bool
	for i := 2; i < len(c.Args); i++ {
		more := len(c.Args) - 1 - i
		if !strings.EqualFold(string(c.Args[i]), "filterby") || more != 2 {
			c.Error(resp.ErrSyntax)
			return
		}
		arg := c.Args[i+2]
		switch strings.ToLower(string(c.Args[i+1])) {
		case "module":
			filter = func(*Command) bool { return false }
		case "aclcat":
			cat := strings.ToLower(string(arg))
			filter = func(cmd *Command) bool {
				for _, x := range commandCategories(cmd) {
					if x == cat {
						return true
					}
				}
				return false
			}
		case "pattern":
			pat := append([]byte(nil), arg...)
			filter = func(cmd *Command) bool { return store.GlobMatch(pat, []byte(cmd.FullName()), true) }
		default:
			c.Error(resp.ErrSyntax)
			return
		}
		i += 2
	}
	var names []string
	for _, cmd := range c.S.visibleCommands() {
		if filter == nil || filter(cmd) {
			names = append(names, cmd.FullName())
		}
		for _, sub := range visibleSubs(cmd) {
			if filter == nil || filter(sub) {
				names = append(names, sub.FullName())
			}
		}
	}
	c.W.Array(len(names))
	for _, n := range names {
		c.W.BulkString(n)
	}
}

var commandHelp = []string{
	"(no subcommand)",
	"    Return details about all Redis commands.",
	"COUNT",
	"    Return the total number of commands in this Redis server.",
	"LIST",
	"    Return a list of all commands in this Redis server.",
	"INFO [<command-name> ...]",
	"    Return details about multiple Redis commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"DOCS [<command-name> ...]",
	"    Return documentation details about multiple Redis commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"GETKEYS <full-command>",
	"    Return the keys from a full Redis command.",
	"GETKEYSANDFLAGS <full-command>",
	"    Return the keys and the access flags from a full Redis command.",
}

func cmdCommandHelp(c *Ctx) { writeHelpReply(c, commandHelp) }

func cmdCommandGetKeys(c *Ctx)         { commandGetKeys(c, false) }
func cmdCommandGetKeysAndFlags(c *Ctx) { commandGetKeys(c, true) }

// keyRef is a key position with its access flags.
type keyRef struct {
	pos   int
	flags []string
}

// Outcomes of evalKeySpecs.
const (
	specsOK      = iota
	specsInvalid // the arguments do not fit the specs
	specsUnknown // a spec cannot find its keys: ask the command's own rule
)

// evalKeySpecs finds the keys of args with the key specs, as Redis's
// getKeysUsingKeySpecs.
func evalKeySpecs(specs []keySpec, args [][]byte, arity int) ([]keyRef, int) {
	var out []keyRef
	argc := len(args)
	for i := range specs {
		sp := &specs[i]
		if hasFlag(sp.flags, "not_key") {
			continue
		}
		first := 0
		switch {
		case sp.bsIndex > 0:
			first = sp.bsIndex
		case sp.bsKeyword != "":
			start, end := sp.bsStartFrom, argc-1
			if sp.bsStartFrom <= 0 {
				start, end = argc+sp.bsStartFrom, 1
			}
			for j := start; j != end; {
				if j >= argc || j < 1 {
					break
				}
				if strings.EqualFold(string(args[j]), sp.bsKeyword) {
					first = j + 1
					break
				}
				if start <= end {
					j++
				} else {
					j--
				}
			}
			if first == 0 {
				continue
			}
		default:
			return out, specsUnknown
		}
		var last, step int
		switch sp.fkType {
		case "range":
			step = sp.keyStep
			switch {
			case sp.lastKey >= 0:
				last = first + sp.lastKey
			case sp.limit == 0:
				last = argc + sp.lastKey
			default:
				last = first + ((argc-first)/sp.limit + sp.lastKey)
			}
		case "keynum":
			step = sp.numsStep
			if first+sp.keyNumIdx >= argc {
				return nil, specsInvalid
			}
			n, ok := resp.ParseInt(args[first+sp.keyNumIdx])
			if !ok || n < 0 {
				return nil, specsInvalid
			}
			first += sp.firstKey
			last = first + int(n) - 1
		default:
			return out, specsUnknown
		}
		if last >= argc || last < first || first >= argc {
			return nil, specsInvalid
		}
		for j := first; j <= last; j += max(step, 1) {
			if j >= argc {
				if arity < 0 {
					continue
				}
				break
			}
			out = append(out, keyRef{pos: j, flags: sp.flags})
		}
		if hasFlag(sp.flags, "incomplete") {
			return out, specsUnknown
		}
	}
	return out, specsOK
}

func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}

func withoutFlag(flags []string, f string) []string {
	out := make([]string, 0, len(flags))
	for _, x := range flags {
		if x != f {
			out = append(out, x)
		}
	}
	return out
}

// varKeyFlags gives the flags of commands whose key access depends on
// their arguments (key spec flag variable_flags), as Redis's getkeys
// procedures report them.
func varKeyFlags(cmd *Command, args [][]byte) []string {
	switch cmd.FullName() {
	case "set":
		for _, a := range args[3:] {
			if strings.EqualFold(string(a), "get") {
				return []string{"RW", "access", "update"}
			}
		}
		return []string{"OW", "update"}
	case "bitfield":
		for _, a := range args[2:] {
			if strings.EqualFold(string(a), "set") || strings.EqualFold(string(a), "incrby") {
				return []string{"RW", "access", "update"}
			}
		}
		return []string{"RO", "access"}
	}
	return nil
}

func commandGetKeys(c *Ctx, withFlags bool) {
	args := c.Args[2:]
	cmd := c.S.Cmds.Lookup(args[0])
	if cmd != nil && cmd.Subs != nil && len(args) >= 2 {
		cmd = cmd.Subs[strings.ToLower(string(args[1]))]
	}
	if cmd == nil {
		c.Error("ERR Invalid command specified")
		return
	}
	m := commandMeta(cmd)
	hasSpec, varFlags := false, false
	for _, sp := range m.specs {
		if !hasFlag(sp.flags, "not_key") {
			hasSpec = true
		}
		if hasFlag(sp.flags, "variable_flags") {
			varFlags = true
		}
	}
	if !hasSpec && (m.known || (cmd.Keys == nil && cmd.FirstKey <= 0)) {
		c.Error("ERR The command has no key arguments")
		return
	}
	if (cmd.Arity > 0 && cmd.Arity != len(args)) || len(args) < -cmd.Arity {
		c.Error("ERR Invalid number of arguments specified for command")
		return
	}
	var keys []keyRef
	status := specsUnknown
	if hasSpec && !varFlags {
		keys, status = evalKeySpecs(m.specs, args, cmd.Arity)
	}
	ok := status == specsOK
	if status == specsUnknown && (varFlags || cmd.Keys != nil || !hasSpec) {
		partial := map[int][]string{}
		for _, k := range keys {
			partial[k.pos] = k.flags
		}
		vf := varKeyFlags(cmd, args)
		var pos [16]int
		keys = keys[:0]
		for _, p := range cmd.KeyPositions(args, pos[:0]) {
			if p >= len(args) {
				continue
			}
			fl := partial[p]
			switch {
			case vf != nil:
				fl = vf
			case fl == nil && len(m.specs) > 0:
				fl = withoutFlag(withoutFlag(m.specs[min(len(keys), len(m.specs)-1)].flags, "variable_flags"), "incomplete")
			case fl == nil && cmd.Flags&FlagWrite != 0:
				fl = []string{"RW", "access", "update"}
			case fl == nil:
				fl = []string{"RO", "access"}
			}
			keys = append(keys, keyRef{pos: p, flags: fl})
		}
		ok = true
	}
	if !ok || len(keys) == 0 {
		if cmd.Flags&FlagNoMandatoryKeys != 0 {
			c.W.Array(0)
		} else {
			c.Error("ERR Invalid arguments specified for command")
		}
		return
	}
	c.W.Array(len(keys))
	for _, k := range keys {
		if !withFlags {
			c.W.Bulk(args[k.pos])
			continue
		}
		c.W.Array(2)
		c.W.Bulk(args[k.pos])
		c.W.Set(len(k.flags))
		for _, f := range k.flags {
			c.W.Status(f)
		}
	}
}
