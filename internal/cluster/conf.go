package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/redcluster/redcluster/internal/fsutil"
	"github.com/redcluster/redcluster/internal/slots"
)

// NodesText is the CLUSTER NODES text: one line per known node, each ending
// in "\n".
func (st *State) NodesText() string {
	st.lock()
	defer st.mu.Unlock()
	return st.nodesText(0)
}

// nodesText renders every node not matching filter. Caller holds mu.
func (st *State) nodesText(filter Flags) string {
	ranges := st.ownerRanges()
	nodes := st.sortedNodes()
	var b strings.Builder
	b.Grow(len(nodes) * 160) // a line without slots is about 140 bytes
	for _, n := range nodes {
		if n.Flags&filter != 0 {
			continue
		}
		open := ""
		if n == st.myself {
			open = st.openSlotsText()
		}
		n.writeDescription(&b, ranges[n], open)
		b.WriteByte('\n')
	}
	return b.String()
}

// openSlotsText lists migrating/importing markers in slot order.
func (st *State) openSlotsText() string {
	if len(st.migrating) == 0 && len(st.importing) == 0 {
		return ""
	}
	seen := map[int]bool{}
	var ss []int
	for s := range st.migrating {
		seen[s] = true
		ss = append(ss, s)
	}
	for s := range st.importing {
		if !seen[s] {
			ss = append(ss, s)
		}
	}
	sort.Ints(ss)
	var b strings.Builder
	for _, s := range ss {
		if n := st.migrating[s]; n != nil {
			fmt.Fprintf(&b, " [%d->-%s]", s, n.ID)
		} else {
			fmt.Fprintf(&b, " [%d-<-%s]", s, st.importing[s].ID)
		}
	}
	return b.String()
}

// configText is the nodes.conf content. Caller holds mu.
func (st *State) configText() string {
	return st.nodesText(FlagHandshake) +
		"vars currentEpoch " + strconv.FormatUint(st.currentEpoch, 10) +
		" lastVoteEpoch " + strconv.FormatUint(st.lastVoteEpoch, 10) + "\n"
}

// SaveConfig writes nodes.conf now (CLUSTER SAVECONFIG).
func (st *State) SaveConfig() error {
	st.lock()
	defer st.mu.Unlock()
	st.saveGen++
	return st.WriteConfig(Output{Kind: OutSave, Text: st.configText(), Fsync: true, Gen: st.saveGen})
}

// save writes nodes.conf with fsync (the first save of a new node).
// Caller holds mu.
func (st *State) save() error {
	if st.path == "" {
		return nil
	}
	return writeConfigFile(st.path, []byte(st.configText()), true)
}

// writeConfigFile replaces nodes.conf atomically (issue 3, "nodes.conf
// written atomically"). With fsync (the saves that carry epochs and votes,
// cluster-behaviour.md: a vote is on disk before it is sent) it is durable
// before the call returns; the other saves leave the write-back to the
// kernel, as Redis 7.0 does for the saves it does not fsync.
func writeConfigFile(path string, data []byte, fsync bool) error {
	if err := fsutil.WriteFileAtomic(path, data, fsync); err != nil {
		return &saveError{err: err}
	}
	return nil
}

// ErrSaveConfig matches (errors.Is) every failure to write nodes.conf.
var ErrSaveConfig = errors.New("can't update cluster config file")

// saveError is a failed write of nodes.conf.
type saveError struct{ err error }

func (e *saveError) Error() string        { return "saving the cluster config: " + e.err.Error() }
func (e *saveError) Unwrap() error        { return e.err }
func (e *saveError) Is(target error) bool { return target == ErrSaveConfig }

// ErrCorruptConfig is returned for a nodes.conf that cannot be parsed.
var ErrCorruptConfig = errors.New("unrecoverable error: corrupted cluster config file")

// load reads nodes.conf into the (empty) state. It reports false when the
// file is missing or empty: the caller then creates a fresh node.
func (st *State) load() (bool, error) {
	if st.opts.LoadText != "" {
		if err := st.parseConfig(st.opts.LoadText); err != nil {
			return false, err
		}
		return true, nil
	}
	if st.path == "" {
		return false, nil
	}
	data, err := os.ReadFile(st.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("loading the cluster node config from %s: %w", st.path, err)
	}
	if len(data) == 0 {
		return false, nil
	}
	if err := st.parseConfig(string(data)); err != nil {
		return false, fmt.Errorf("%s: %w", st.path, err)
	}
	return true, nil
}

// parseConfig applies nodes.conf text to the state. Caller holds mu or owns st.
func (st *State) parseConfig(text string) error {
	now := st.now
	for lineNo, line := range strings.Split(text, "\n") {
		if line == "" {
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("%w (line %d: %s)", ErrCorruptConfig, lineNo+1, why)
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if strings.EqualFold(f[0], "vars") {
			if len(f)%2 == 0 {
				return bad("odd vars line")
			}
			for j := 1; j < len(f); j += 2 {
				v, _ := strconv.ParseUint(f[j+1], 10, 64)
				switch strings.ToLower(f[j]) {
				case "currentepoch":
					st.currentEpoch = v
				case "lastvoteepoch":
					st.lastVoteEpoch = v
				default:
					st.opts.Log.Warn().Msg("Skipping unknown cluster config variable '" + f[j] + "'")
				}
			}
			continue
		}
		if len(f) < 8 {
			return bad("fewer than 8 fields")
		}
		if !ValidID(f[0]) {
			return bad("bad node id")
		}
		n := st.getOrCreate(f[0])
		addr := f[1]
		n.Hostname = ""
		if i := strings.IndexByte(addr, ','); i >= 0 {
			n.Hostname = addr[i+1:]
			addr = addr[:i]
		}
		colon := strings.LastIndexByte(addr, ':')
		if colon < 0 {
			return bad("bad address")
		}
		n.IP = addr[:colon]
		portPart, busPart, hasBus := strings.Cut(addr[colon+1:], "@")
		n.Port = atoi(portPart)
		if hasBus {
			n.CPort = atoi(busPart)
		} else {
			n.CPort = n.Port + defaultPortIncr
		}
		flags, ok := parseFlags(f[2])
		if !ok {
			return bad("unknown flag")
		}
		n.Flags = flags
		if flags&FlagMyself != 0 {
			if st.myself != nil && st.myself != n {
				return bad("two myself nodes")
			}
			st.myself = n
		}
		if f[3] != "-" {
			if !ValidID(f[3]) {
				return bad("bad master id")
			}
			m := st.getOrCreate(f[3])
			n.Master = m
			m.addReplica(n)
		}
		if atoi(f[4]) != 0 {
			n.PingSent = now
		}
		if atoi(f[5]) != 0 {
			n.PongRecv = now
		}
		if n.IsReplica() && n.Master != nil {
			n.ConfigEpoch = 0
		} else {
			n.ConfigEpoch, _ = strconv.ParseUint(f[6], 10, 64)
		}
		for _, tok := range f[8:] {
			if strings.HasPrefix(tok, "[") {
				if err := st.parseOpenSlot(tok); err != nil {
					return bad(err.Error())
				}
				continue
			}
			a, b, isRange := strings.Cut(tok, "-")
			start, stop := atoi(a), atoi(a)
			if isRange {
				stop = atoi(b)
			}
			if start < 0 || start >= slots.Count || stop < 0 || stop >= slots.Count {
				return bad("slot out of range")
			}
			for s := start; s <= stop; s++ {
				st.addSlot(n, s)
			}
		}
	}
	if st.myself == nil {
		return fmt.Errorf("%w (no myself line)", ErrCorruptConfig)
	}
	if m := st.maxEpoch(); m > st.currentEpoch {
		st.currentEpoch = m
	}
	return nil
}

// parseOpenSlot parses "[N->-id]" (migrating) or "[N-<-id]" (importing).
func (st *State) parseOpenSlot(tok string) error {
	body := strings.TrimSuffix(tok[1:], "]")
	if len(body) == len(tok)-1 {
		return errors.New("unterminated open slot")
	}
	i := strings.IndexByte(body, '-')
	if i < 0 || i+3 > len(body) {
		return errors.New("bad open slot")
	}
	slot := atoi(body[:i])
	if slot < 0 || slot >= slots.Count {
		return errors.New("open slot out of range")
	}
	dir, id := body[i+1], body[i+3:]
	if !ValidID(id) {
		return errors.New("bad open slot node id")
	}
	n := st.getOrCreate(id)
	if dir == '>' {
		st.migrating[slot] = n
	} else {
		st.importing[slot] = n
	}
	return nil
}

func (st *State) getOrCreate(id string) *Node {
	if n := st.nodes[id]; n != nil {
		return n
	}
	n := &Node{ID: id, ctime: st.now}
	st.addNode(n)
	return n
}

// atoi parses a leading decimal integer like C's atoi (0 when none).
func atoi(s string) int {
	neg := false
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		if n > 1<<31 {
			break
		}
	}
	if neg {
		return -n
	}
	return n
}
