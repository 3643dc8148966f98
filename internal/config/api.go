package config

import (
	"os"
	"strings"
)

// Get returns the CONFIG GET text of an option, by name or alias
// (case-insensitive).
func (c *Config) Get(name string) (string, bool) {
	o, _ := lookup(name)
	if o == nil {
		return "", false
	}
	return o.get(c), true
}

// Names returns every option name and alias, in table order.
func Names() []string {
	out := make([]string, 0, 2*len(optionTable))
	for _, o := range optionTable {
		out = append(out, o.name)
		if o.alias != "" {
			out = append(out, o.alias)
		}
	}
	return out
}

// Pair is one CONFIG GET result.
type Pair struct{ Name, Value string }

// Match answers CONFIG GET: for each pattern without glob characters the
// option of that name (reported under the name as given), otherwise every
// non-hidden option whose name matches; each option once.
func (c *Config) Match(patterns []string, match func(pattern, name string) bool) []Pair {
	seen := map[string]bool{}
	var out []Pair
	for _, p := range patterns {
		if !strings.ContainsAny(p, "[*?") {
			if seen[strings.ToLower(p)] {
				continue
			}
			if o, _ := lookup(p); o != nil {
				seen[strings.ToLower(p)] = true
				out = append(out, Pair{p, o.get(c)})
			}
			continue
		}
		for _, o := range optionTable {
			if o.has(hidden) {
				continue
			}
			for _, n := range []string{o.name, o.alias} {
				if n == "" || seen[n] || !match(p, n) {
					continue
				}
				seen[n] = true
				out = append(out, Pair{n, o.get(c)})
			}
		}
	}
	return out
}

// SetError is a failed CONFIG SET; its text is the reply without "ERR ".
type SetError struct{ Msg string }

func (e *SetError) Error() string { return e.Msg }

// SetFailed words a CONFIG SET failure about an option.
func SetFailed(name, reason string) *SetError {
	if reason == "" {
		return &SetError{"CONFIG SET failed (possibly related to argument '" + name + "')"}
	}
	return &SetError{"CONFIG SET failed (possibly related to argument '" + name + "') - " + reason}
}

// SetResult is a successful CONFIG SET: the primary names of the options
// whose value changed, and Undo to restore every previous value when
// applying the change fails.
type SetResult struct {
	Changed []string
	Names   []string // option names as registered (aliases kept), in order
	undo    func()
}

// Undo restores the values the options had before the set.
func (r *SetResult) Undo() { r.undo() }

// SetMany is CONFIG SET's atomic multi-parameter set: pairs alternate name
// and value. local tells whether the client is local, for
// enable-protected-configs local.
func (c *Config) SetMany(pairs []string, local bool) (*SetResult, error) {
	n := len(pairs) / 2
	opts := make([]*option, n)
	regs := make([]string, n)
	var errArg, errStr, unknown string
	invalid := false
	for i := 0; i < n; i++ {
		name := pairs[2*i]
		o, reg := lookup(name)
		if o == nil {
			if !invalid {
				unknown = name
				invalid = true
			}
			continue
		}
		if invalid {
			continue
		}
		if o.has(immutable) || (o.has(protected) && !allowProtected(c.EnableProtectedConfigs, local)) {
			errStr = "can't set protected config"
			if o.has(immutable) {
				errStr = "can't set immutable config"
			}
			errArg = name
			invalid = true
			continue
		}
		for j := 0; j < i; j++ {
			if regs[j] == reg {
				errStr = "duplicate parameter"
				errArg = name
				invalid = true
				break
			}
		}
		opts[i], regs[i] = o, reg
	}
	if invalid {
		if unknown != "" {
			return nil, &SetError{"Unknown option or number of arguments for CONFIG SET - '" + unknown + "'"}
		}
		return nil, SetFailed(errArg, errStr)
	}
	old := make([]string, n)
	for i, o := range opts {
		old[i] = o.get(c)
	}
	e := &env{chdir: os.Chdir}
	restore := func(upto int) {
		for i := 0; i < upto; i++ {
			opts[i].set(c, e, setArgs(opts[i], old[i]))
		}
	}
	res := &SetResult{Names: regs, undo: func() { restore(n) }}
	for i, o := range opts {
		r, msg := o.set(c, e, setArgs(o, pairs[2*i+1]))
		if r == setFailed {
			restore(i + 1)
			return nil, SetFailed(regs[i], msg)
		}
		if r == setChanged && !contains(res.Changed, o.name) {
			res.Changed = append(res.Changed, o.name)
		}
	}
	return res, nil
}

// setArgs splits a CONFIG SET value: multi-argument options on single
// spaces, others taken whole.
func setArgs(o *option, v string) []string {
	if o.has(multiArg) {
		return splitSpaces(v)
	}
	return []string{v}
}

func allowProtected(setting string, local bool) bool {
	return setting == "yes" || (setting == "local" && local)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
