package config

import (
	"github.com/redcluster/redcluster/internal/fsutil"

	"os"
	"strconv"
	"strings"
)

// Options with their own syntax: dir, save, client-output-buffer-limit,
// oom-score-adj-values, notify-keyspace-events, bind, replicaof and
// latency-tracking-info-percentiles.

func setDir(c *Config, e *env, args []string) (int, string) {
	if len(args) != 1 {
		return setFailed, "wrong number of arguments"
	}
	if err := e.chdir(args[0]); err != nil {
		return setFailed, fsutil.Strerror(err)
	}
	c.Dir = args[0]
	return setChanged, ""
}

func getDir(c *Config) string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return wd
}

func rewriteDir(c *Config, o *option, st *rewriteState) {
	wd, err := os.Getwd()
	if err != nil {
		st.markProcessed(o.name)
		return
	}
	st.rewriteLine(o.name, o.name+" "+Repr(wd), true)
}

// setSave implements "save <seconds> <changes> [...]" and save "".
func setSave(c *Config, e *env, args []string) (int, string) {
	if len(args) == 1 && args[0] == "" {
		c.Save = ""
		args = nil
	}
	if len(args)%2 != 0 {
		return setFailed, "Invalid save parameters"
	}
	for j, a := range args {
		v, ok, _ := strtoll(a, 10)
		if !ok || (j%2 == 0 && v < 1) || (j%2 == 1 && v < 0) {
			return setFailed, "Invalid save parameters"
		}
	}
	var points []string
	if e.reading && c.saveLoaded {
		// further save lines in a configuration file add points
		points = splitSpaces(c.Save)
	}
	if e.reading {
		c.saveLoaded = true
	}
	for j := 0; j < len(args); j += 2 {
		secs, _, _ := strtoll(args[j], 10)
		changes, _, _ := strtoll(args[j+1], 10)
		points = append(points, strconv.FormatInt(secs, 10), strconv.Itoa(int(int32(changes))))
	}
	c.Save = strings.Join(points, " ")
	return setChanged, ""
}

func rewriteSave(c *Config, o *option, st *rewriteState) {
	pts := splitSpaces(c.Save)
	if len(pts) == 0 {
		st.rewriteLine(o.name, `save ""`, true)
	}
	for j := 0; j+1 < len(pts); j += 2 {
		st.rewriteLine(o.name, "save "+pts[j]+" "+pts[j+1], true)
	}
	st.markProcessed(o.name)
}

// client-output-buffer-limit

var obufClassNames = [3]string{"normal", "slave", "pubsub"}

const defaultObufLimits = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"

func obufClass(name string) int {
	switch strings.ToLower(name) {
	case "normal":
		return 0
	case "slave", "replica":
		return 1
	case "pubsub":
		return 2
	}
	return -1 // master and unknown classes
}

func setObufLimits(c *Config, _ *env, args []string) (int, string) {
	if len(args)%4 != 0 {
		return setFailed, "Wrong number of arguments in buffer limit configuration."
	}
	var vals [3]OutputBufferLimit
	var set [3]bool
	for j := 0; j < len(args); j += 4 {
		class := obufClass(args[j])
		if class < 0 {
			return setFailed, "Invalid client class specified in buffer limit configuration."
		}
		hard, okH := memToUll(args[j+1])
		soft, okS := memToUll(args[j+2])
		secs, okSec, _ := strtoll(args[j+3], 10)
		secs = int64(int32(secs))
		if !okH || !okS || !okSec || secs < 0 {
			return setFailed, "Error in hard, soft or soft_seconds setting in buffer limit configuration."
		}
		vals[class] = OutputBufferLimit{Hard: hard, Soft: soft, SoftSeconds: secs}
		set[class] = true
	}
	for i := range vals {
		if set[i] {
			c.ClientOutputBufferLimit[i] = vals[i]
		}
	}
	return setChanged, ""
}

func getObufLimits(c *Config) string {
	parts := make([]string, 0, 3)
	for i, l := range c.ClientOutputBufferLimit {
		parts = append(parts, obufClassNames[i]+" "+strconv.FormatUint(l.Hard, 10)+" "+
			strconv.FormatUint(l.Soft, 10)+" "+strconv.FormatInt(l.SoftSeconds, 10))
	}
	return strings.Join(parts, " ")
}

var obufDefaults = [3]OutputBufferLimit{{0, 0, 0}, {256 << 20, 64 << 20, 60}, {32 << 20, 8 << 20, 60}}

func rewriteObufLimits(c *Config, o *option, st *rewriteState) {
	for i, l := range c.ClientOutputBufferLimit {
		name := obufClassNames[i]
		if name == "slave" {
			name = "replica"
		}
		line := o.name + " " + name + " " + formatMemory(int64(l.Hard)) + " " + formatMemory(int64(l.Soft)) + " " + strconv.FormatInt(l.SoftSeconds, 10)
		st.rewriteLine(o.name, line, l != obufDefaults[i])
	}
}

// oom-score-adj-values

func setOOMScoreAdjValues(c *Config, _ *env, args []string) (int, string) {
	if len(args) != 3 {
		return setFailed, "wrong number of arguments"
	}
	var vals [3]int
	for i, a := range args {
		v, ok, _ := strtoll(a, 10)
		if !ok || v < -2000 || v > 2000 {
			return setFailed, "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
		}
		vals[i] = int(v)
	}
	if vals == c.OOMScoreAdjValues {
		return setSame, ""
	}
	c.OOMScoreAdjValues = vals
	return setChanged, ""
}

func getOOMScoreAdjValues(c *Config) string {
	v := c.OOMScoreAdjValues
	return strconv.Itoa(v[0]) + " " + strconv.Itoa(v[1]) + " " + strconv.Itoa(v[2])
}

func rewriteOOMScoreAdjValues(c *Config, o *option, st *rewriteState) {
	st.rewriteLine(o.name, o.name+" "+getOOMScoreAdjValues(c), c.OOMScoreAdjValues != [3]int{0, 200, 800})
}

// notify-keyspace-events

const (
	notifyKeyspace = 1 << 0
	notifyKeyevent = 1 << 1
	notifyGeneric  = 1 << 2
	notifyString   = 1 << 3
	notifyList     = 1 << 4
	notifySet      = 1 << 5
	notifyHash     = 1 << 6
	notifyZset     = 1 << 7
	notifyExpired  = 1 << 8
	notifyEvicted  = 1 << 9
	notifyStream   = 1 << 10
	notifyKeyMiss  = 1 << 11
	notifyModule   = 1 << 13
	notifyNew      = 1 << 14
	notifyAll      = notifyGeneric | notifyString | notifyList | notifySet | notifyHash | notifyZset |
		notifyExpired | notifyEvicted | notifyStream | notifyModule
)

// keyspaceEventsToFlags parses class characters; -1 on an unknown one.
func keyspaceEventsToFlags(s string) int {
	flags := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'A':
			flags |= notifyAll
		case 'g':
			flags |= notifyGeneric
		case '$':
			flags |= notifyString
		case 'l':
			flags |= notifyList
		case 's':
			flags |= notifySet
		case 'h':
			flags |= notifyHash
		case 'z':
			flags |= notifyZset
		case 'x':
			flags |= notifyExpired
		case 'e':
			flags |= notifyEvicted
		case 'K':
			flags |= notifyKeyspace
		case 'E':
			flags |= notifyKeyevent
		case 't':
			flags |= notifyStream
		case 'm':
			flags |= notifyKeyMiss
		case 'd':
			flags |= notifyModule
		case 'n':
			flags |= notifyNew
		default:
			return -1
		}
	}
	return flags
}

// keyspaceEventsToString prints flags in Redis's canonical order.
func keyspaceEventsToString(flags int) string {
	var b strings.Builder
	if flags&notifyAll == notifyAll {
		b.WriteByte('A')
	} else {
		for _, f := range []struct {
			bit int
			ch  byte
		}{{notifyGeneric, 'g'}, {notifyString, '$'}, {notifyList, 'l'}, {notifySet, 's'}, {notifyHash, 'h'},
			{notifyZset, 'z'}, {notifyExpired, 'x'}, {notifyEvicted, 'e'}, {notifyStream, 't'}, {notifyModule, 'd'}, {notifyNew, 'n'}} {
			if flags&f.bit != 0 {
				b.WriteByte(f.ch)
			}
		}
	}
	if flags&notifyKeyspace != 0 {
		b.WriteByte('K')
	}
	if flags&notifyKeyevent != 0 {
		b.WriteByte('E')
	}
	if flags&notifyKeyMiss != 0 {
		b.WriteByte('m')
	}
	return b.String()
}

func setNotifyKeyspaceEvents(c *Config, _ *env, args []string) (int, string) {
	if len(args) != 1 {
		return setFailed, "wrong number of arguments"
	}
	flags := keyspaceEventsToFlags(args[0])
	if flags == -1 {
		return setFailed, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
	}
	c.NotifyKeyspaceEvents = keyspaceEventsToString(flags)
	return setChanged, ""
}

func rewriteNotifyKeyspaceEvents(c *Config, o *option, st *rewriteState) {
	st.rewriteLine(o.name, o.name+" "+Repr(c.NotifyKeyspaceEvents), c.NotifyKeyspaceEvents != "")
}

// bind

func setBind(c *Config, _ *env, args []string) (int, string) {
	if len(args) > 16 {
		return setFailed, "Too many bind addresses specified."
	}
	if len(args) == 1 && args[0] == "" {
		args = nil
	}
	c.Bind = append([]string{}, args...)
	return setChanged, ""
}

func rewriteBind(c *Config, o *option, st *rewriteState) {
	if len(c.Bind) == 2 && c.Bind[0] == "*" && c.Bind[1] == "-::*" {
		st.markProcessed(o.name)
		return
	}
	addrs := strings.Join(c.Bind, " ")
	if len(c.Bind) == 0 {
		addrs = `""`
	}
	st.rewriteLine(o.name, o.name+" "+addrs, true)
}

// replicaof

func setReplicaOf(c *Config, _ *env, args []string) (int, string) {
	if len(args) != 2 {
		return setFailed, "wrong number of arguments"
	}
	c.ReplicaOf = ""
	if strings.EqualFold(args[0], "no") && strings.EqualFold(args[1], "one") {
		return setChanged, ""
	}
	port, ok, _ := strtoll(args[1], 10) // like strtol: " 1", "+1" and "" (0) pass
	if !ok || port < 0 || port > 65535 {
		return setFailed, "Invalid master port"
	}
	c.ReplicaOf = args[0] + " " + strconv.FormatInt(port, 10)
	return setChanged, ""
}

// Master returns the replicaof host and port; ok is false on a master.
func (c *Config) Master() (host string, port int, ok bool) {
	i := strings.LastIndexByte(c.ReplicaOf, ' ')
	if c.ReplicaOf == "" || i < 0 {
		return "", 0, false
	}
	p, _ := strconv.Atoi(c.ReplicaOf[i+1:])
	return c.ReplicaOf[:i], p, true
}

func rewriteReplicaOf(c *Config, o *option, st *rewriteState) {
	if c.ClusterEnabled || c.ReplicaOf == "" {
		st.markProcessed(o.name)
		return
	}
	st.rewriteLine(o.name, o.name+" "+c.ReplicaOf, true)
}

// latency-tracking-info-percentiles

func setPercentiles(c *Config, _ *env, args []string) (int, string) {
	if len(args) == 1 && args[0] == "" {
		args = nil
	}
	vals := make([]float64, 0, len(args))
	for _, a := range args {
		f, ok := string2d(a)
		if !ok {
			c.LatencyTrackingInfoPercentiles = nil
			return setFailed, "Invalid latency-tracking-info-percentiles parameters"
		}
		if f > 100 || f < 0 {
			c.LatencyTrackingInfoPercentiles = nil
			return setFailed, "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
		}
		vals = append(vals, f)
	}
	c.LatencyTrackingInfoPercentiles = vals
	return setChanged, ""
}

func getPercentiles(c *Config) string {
	parts := make([]string, len(c.LatencyTrackingInfoPercentiles))
	for i, f := range c.LatencyTrackingInfoPercentiles {
		parts[i] = trimDouble(f)
	}
	return strings.Join(parts, " ")
}

func rewritePercentiles(c *Config, o *option, st *rewriteState) {
	line := o.name
	if len(c.LatencyTrackingInfoPercentiles) == 0 {
		line += ` ""`
	} else {
		line += " " + getPercentiles(c)
	}
	st.rewriteLine(o.name, line, true)
}
