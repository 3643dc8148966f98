package config

import (
	"math"
	"strconv"
	"strings"

	"github.com/redcluster/redcluster/internal/resp"
)

// optFlag are an option's properties, as Redis's *_CONFIG flags.
type optFlag uint16

const (
	immutable   optFlag = 1 << iota // only settable at start-up
	sensitive                       // value is a secret (redacted in logs)
	multiArg                        // takes several arguments
	hidden                          // not matched by CONFIG GET patterns
	protected                       // needs enable-protected-configs to change
	denyLoading                     // refused while loading data
	volatile                        // a set always counts as a change
)

// kind is an option's value type.
type kind uint8

const (
	kindBool kind = iota
	kindString
	kindEnum
	kindNum
	kindSpecial
)

// numFlag says which notations a numeric option accepts.
type numFlag uint8

const (
	numMemory  numFlag = 1 << iota // 1k 1kb 1m 1mb 1g 1gb
	numPercent                     // "N%", stored as -N
	numOctal                       // base 8
)

// results of an option's set function, as Redis's (0 error, 1 changed,
// 2 unchanged).
const (
	setFailed  = 0
	setChanged = 1
	setSame    = 2
)

type enumItem struct {
	name string
	val  int
}

// option describes one configuration directive.
type option struct {
	name, alias string
	flags       optFlag
	kind        kind
	def         string // default, written as CONFIG GET prints it

	emptyIsNull bool                             // strings: "" means unset
	checkBool   func(v bool) string              // booleans: extra validation
	check       func(c *Config, v string) string // strings: extra validation, returns the error
	items       []enumItem                       // enums
	checkEnum   func(v int) string               // enums: extra validation
	nflags      numFlag                          // numbers
	unsigned    bool                             // numbers: bounds compare as unsigned
	lo, hi      int64                            // numbers: bounds (unsigned: bit patterns)
	field       func(c *Config) any              // *bool, *string, *int or *int64; nil = stored as text
	post        func(c *Config)                  // run after a change (hz clamping, log level)
	setFn       func(c *Config, e *env, args []string) (int, string)
	getFn       func(c *Config) string
	rewriteFn   func(c *Config, o *option, st *rewriteState)
}

// env is the context of a set: reading configuration files or CONFIG SET.
type env struct {
	reading bool
	chdir   func(string) error
}

func (o *option) has(f optFlag) bool { return o.flags&f != 0 }

// set validates args and stores them; it returns setFailed with the reason,
// setChanged or setSame.
func (o *option) set(c *Config, e *env, args []string) (int, string) {
	if c.extra == nil { // a Config built without Default
		c.extra = map[string]string{}
	}
	if c.exact == nil {
		c.exact = map[string]uint64{}
	}
	var res int
	var msg string
	switch o.kind {
	case kindBool:
		res, msg = o.setBool(c, args[0])
	case kindString:
		res, msg = o.setString(c, args[0])
	case kindEnum:
		res, msg = o.setEnum(c, args)
	case kindNum:
		res, msg = o.setNum(c, args[0])
	default:
		res, msg = o.setFn(c, e, args)
	}
	if res == setChanged && o.post != nil {
		o.post(c)
	}
	if res == setSame && o.has(volatile) {
		res = setChanged
	}
	return res, msg
}

// get returns the option's value as CONFIG GET prints it.
func (o *option) get(c *Config) string {
	if o.kind == kindSpecial {
		return o.getFn(c)
	}
	if o.field == nil {
		return c.extra[o.name]
	}
	switch p := o.field(c).(type) {
	case *bool:
		if *p {
			return "yes"
		}
		return "no"
	case *string:
		return *p
	case *int:
		return o.formatNum(int64(*p))
	case *int64:
		if o.unsigned && *p == math.MaxInt64 {
			if v, ok := c.exact[o.name]; ok {
				return strconv.FormatUint(v, 10)
			}
		}
		return o.formatNum(*p)
	}
	panic("config: bad field type for " + o.name)
}

// setDefault stores the option's default.
func (o *option) setDefault(c *Config) string {
	e := &env{chdir: func(string) error { return nil }}
	var args []string
	if o.has(multiArg) {
		args = splitSpaces(o.def)
	} else {
		args = []string{o.def}
	}
	if o.kind == kindSpecial && o.name == "dir" {
		c.Dir = o.def
		return ""
	}
	if o.kind == kindSpecial && o.has(multiArg) && o.def == "" {
		return "" // replicaof: unset
	}
	if res, msg := o.set(c, e, args); res == setFailed {
		return msg
	}
	return ""
}

// storeText stores a validated value given as its CONFIG GET text.
func (o *option) storeText(c *Config, text string) {
	if o.field == nil {
		c.extra[o.name] = text
		return
	}
	switch p := o.field(c).(type) {
	case *bool:
		*p = text == "yes"
	case *string:
		*p = text
	default:
		panic("config: storeText on numeric field " + o.name)
	}
}

func (o *option) setBool(c *Config, arg string) (int, string) {
	var text string
	switch strings.ToLower(arg) {
	case "yes":
		text = "yes"
	case "no":
		text = "no"
	default:
		return setFailed, "argument must be 'yes' or 'no'"
	}
	if o.checkBool != nil {
		if msg := o.checkBool(text == "yes"); msg != "" {
			return setFailed, msg
		}
	}
	if o.get(c) == text {
		return setSame, ""
	}
	o.storeText(c, text)
	return setChanged, ""
}

func (o *option) setString(c *Config, arg string) (int, string) {
	if o.check != nil {
		if msg := o.check(c, arg); msg != "" {
			return setFailed, msg
		}
	}
	if o.get(c) == arg {
		return setSame, ""
	}
	o.storeText(c, arg)
	return setChanged, ""
}

// enumValue maps arguments to the enum's value (bit flags are OR-ed for
// multi-argument enums); ok is false when one does not match.
func (o *option) enumValue(args []string) (int, bool) {
	bitflags := o.has(multiArg)
	if len(args) == 0 || (!bitflags && len(args) != 1) {
		return 0, false
	}
	v := 0
	for _, a := range args {
		matched := false
		for _, it := range o.items {
			if strings.EqualFold(a, it.name) {
				v |= it.val
				matched = true
			}
		}
		if !matched {
			return 0, false
		}
	}
	return v, true
}

// enumName prints an enum value like Redis's configEnumGetName.
func (o *option) enumName(v int) string {
	bitflags := o.has(multiArg)
	var names []string
	unmatched := v
	for _, it := range o.items {
		if v == it.val {
			return it.name
		}
		if bitflags && it.val != 0 && it.val == unmatched&it.val {
			names = append(names, it.name)
			unmatched &^= it.val
		}
	}
	if len(names) == 0 || unmatched != 0 {
		return "unknown"
	}
	return strings.Join(names, " ")
}

func (o *option) enumError() string {
	names := make([]string, len(o.items))
	for i, it := range o.items {
		names[i] = it.name
	}
	msg := "argument(s) must be one of the following: " + strings.Join(names, ", ")
	if len(msg) > 255 {
		msg = msg[:255]
	}
	return msg
}

func (o *option) setEnum(c *Config, args []string) (int, string) {
	v, ok := o.enumValue(args)
	if !ok {
		return setFailed, o.enumError()
	}
	if o.checkEnum != nil {
		if msg := o.checkEnum(v); msg != "" {
			return setFailed, msg
		}
	}
	text := o.enumName(v)
	if o.get(c) == text {
		return setSame, ""
	}
	o.storeText(c, text)
	return setChanged, ""
}

// parseNum reads a numeric option's argument like Redis's
// numericParseString (memory units, percent, octal or plain integer).
func (o *option) parseNum(s string) (int64, string) {
	if o.nflags&numMemory != 0 {
		if v, ok := memToUll(s); ok {
			return int64(v), ""
		}
	}
	if o.nflags&numPercent != 0 && len(s) > 1 && s[len(s)-1] == '%' {
		if v, ok := resp.ParseInt(s[:len(s)-1]); ok && v >= 0 {
			return -v, ""
		}
	}
	if o.nflags&numOctal != 0 {
		if v, ok, ovf := strtoll(s, 8); ok && !ovf {
			return v, ""
		}
	}
	if o.nflags == 0 {
		if v, ok := resp.ParseInt(s); ok {
			return v, ""
		}
	}
	switch {
	case o.nflags&numMemory != 0 && o.nflags&numPercent != 0:
		return 0, "argument must be a memory or percent value"
	case o.nflags&numMemory != 0:
		return 0, "argument must be a memory value"
	case o.nflags&numOctal != 0:
		return 0, "argument couldn't be parsed as an octal number"
	}
	return 0, "argument couldn't be parsed into an integer"
}

// checkBounds is Redis's numericBoundaryCheck.
func (o *option) checkBounds(v int64) string {
	if o.unsigned {
		u, lo, hi := uint64(v), uint64(o.lo), uint64(o.hi)
		if u > hi || u < lo {
			if o.nflags&numOctal != 0 {
				return "argument must be between " + strconv.FormatUint(lo, 8) + " and " + strconv.FormatUint(hi, 8) + " inclusive"
			}
			return "argument must be between " + strconv.FormatUint(lo, 10) + " and " + strconv.FormatUint(hi, 10) + " inclusive"
		}
		return ""
	}
	if o.nflags&numPercent != 0 && v < 0 {
		if v < o.lo {
			return "percentage argument must be less or equal to " + strconv.FormatInt(-o.lo, 10)
		}
		return ""
	}
	if v > o.hi || v < o.lo {
		return "argument must be between " + strconv.FormatInt(o.lo, 10) + " and " + strconv.FormatInt(o.hi, 10) + " inclusive"
	}
	return ""
}

func (o *option) formatNum(v int64) string {
	switch {
	case o.nflags&numPercent != 0 && v < 0:
		return strconv.FormatInt(-v, 10) + "%"
	case o.nflags&numMemory != 0:
		return strconv.FormatUint(uint64(v), 10)
	case o.nflags&numOctal != 0:
		return strconv.FormatUint(uint64(v), 8)
	case o.unsigned:
		return strconv.FormatUint(uint64(v), 10)
	}
	return strconv.FormatInt(v, 10)
}

func (o *option) setNum(c *Config, arg string) (int, string) {
	v, msg := o.parseNum(arg)
	if msg != "" {
		return setFailed, msg
	}
	if msg := o.checkBounds(v); msg != "" {
		return setFailed, msg
	}
	if o.get(c) == o.formatNum(v) {
		return setSame, ""
	}
	if o.field == nil {
		c.extra[o.name] = o.formatNum(v)
		return setChanged, ""
	}
	switch p := o.field(c).(type) {
	case *int:
		*p = int(v)
	case *int64:
		if o.unsigned && v < 0 {
			// an unsigned value past int64: keep it exactly for CONFIG GET
			*p = math.MaxInt64
			c.exact[o.name] = uint64(v)
		} else {
			*p = v
			delete(c.exact, o.name)
		}
	default:
		panic("config: bad numeric field for " + o.name)
	}
	return setChanged, ""
}

// splitSpaces splits on single spaces like sdssplitlen(s, " "): "" gives
// no elements, "a  b" gives an empty one in the middle.
func splitSpaces(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}
