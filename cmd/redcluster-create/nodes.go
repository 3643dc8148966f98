package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// nodeLine is one line of CLUSTER NODES.
type nodeLine struct {
	id     string
	ip     string
	port   int
	cport  int
	flags  map[string]bool
	master string   // master id of a replica, "" otherwise
	slots  []string // slot tokens ("0-5460", "7"), open-slot markers excluded
}

// parseNodes parses a CLUSTER NODES reply.
func parseNodes(text string) ([]nodeLine, error) {
	var out []nodeLine
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Split(line, " ")
		if len(f) < 8 {
			return nil, fmt.Errorf("malformed CLUSTER NODES line %q", line)
		}
		n := nodeLine{id: f[0], flags: map[string]bool{}}
		addr := f[1]
		if i := strings.IndexByte(addr, ','); i >= 0 { // ,hostname
			addr = addr[:i]
		}
		if i := strings.LastIndexByte(addr, '@'); i >= 0 {
			n.cport, _ = strconv.Atoi(addr[i+1:])
			addr = addr[:i]
		}
		if i := strings.LastIndexByte(addr, ':'); i >= 0 {
			n.ip = addr[:i]
			n.port, _ = strconv.Atoi(addr[i+1:])
		}
		for _, fl := range strings.Split(f[2], ",") {
			n.flags[fl] = true
		}
		if f[3] != "-" {
			n.master = f[3]
		}
		for _, s := range f[8:] {
			if !strings.HasPrefix(s, "[") {
				n.slots = append(n.slots, s)
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// myself returns the line flagged myself.
func myself(lines []nodeLine) (nodeLine, bool) {
	for _, n := range lines {
		if n.flags["myself"] {
			return n, true
		}
	}
	return nodeLine{}, false
}

// signature is redis-cli's configuration signature of one node's view: the
// slot tokens of every node owning slots, so that two nodes agree on the
// slot map exactly when their signatures are equal.
func signature(lines []nodeLine) string {
	var parts []string
	for _, n := range lines {
		if len(n.slots) == 0 {
			continue
		}
		s := append([]string(nil), n.slots...)
		sort.Strings(s)
		parts = append(parts, n.id+":"+strings.Join(s, ","))
	}
	sort.Strings(parts)
	return strings.Join(parts, "|")
}

// infoField returns the value of "name:" in an INFO or CLUSTER INFO reply.
func infoField(text, name string) (string, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), name+":"); ok {
			return v, true
		}
	}
	return "", false
}
