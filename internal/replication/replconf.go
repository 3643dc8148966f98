package replication

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/redcluster/redcluster/internal/resp"
)

// LinkConf is what a would-be replica declared with REPLCONF before SYNC or
// PSYNC. The server keeps one per client connection (it is small) and
// passes it to Master.Serve.
type LinkConf struct {
	ListeningPort int    // listening-port
	IPAddress     string // ip-address (replica-announce-ip)
	CapaEOF       bool   // capa eof: understands the $EOF:<mark> RDB form
	CapaPSYNC2    bool   // capa psync2: understands +CONTINUE <replid>
	RDBOnly       bool   // rdb-only 1: wants the RDB and no stream
	// ExcludeData and ExcludeFunctions come from rdb-filter-only.
	ExcludeData      bool
	ExcludeFunctions bool
}

// maxIPLen is NET_HOST_STR_LEN: REPLCONF ip-address must be shorter.
const maxIPLen = 256

// Replconf executes REPLCONF (args[0] is the command name) for a client
// that is not an attached replica (attached replicas' REPLCONF ACK is read
// by Master.Serve). It returns the error to reply without its "-"
// (errMsg != ""), or noReply for the options Redis answers with nothing
// (ack, getack), else the reply is +OK. Options before a failing one stay
// applied, as in Redis.
func (lc *LinkConf) Replconf(args [][]byte) (errMsg string, noReply bool) {
	if len(args)%2 == 0 {
		return "ERR syntax error", false
	}
	for j := 1; j < len(args); j += 2 {
		opt, val := args[j], args[j+1]
		switch {
		case equalFold(opt, "listening-port"):
			port, ok := resp.ParseInt(val)
			if !ok {
				return "ERR value is not an integer or out of range", false
			}
			lc.ListeningPort = int(port)
		case equalFold(opt, "ip-address"):
			if len(val) >= maxIPLen {
				return fmt.Sprintf("ERR REPLCONF ip-address provided by replica instance is too long: %d bytes", len(val)), false
			}
			lc.IPAddress = string(val)
		case equalFold(opt, "capa"):
			if equalFold(val, "eof") {
				lc.CapaEOF = true
			} else if equalFold(val, "psync2") {
				lc.CapaPSYNC2 = true
			}
		case equalFold(opt, "ack"):
			// Only meaningful from an attached replica: no reply.
			return "", true
		case equalFold(opt, "getack"):
			// Sent by a master to its replicas: nothing to do here.
			return "", true
		case equalFold(opt, "rdb-only"):
			v, ok := resp.ParseInt(val)
			if !ok {
				return "ERR value is not an integer or out of range", false
			}
			if v < 0 || v > 1 {
				return "ERR value is out of range, value must between 0 and 1", false
			}
			lc.RDBOnly = v == 1
		case equalFold(opt, "rdb-filter-only"):
			filters, ok := splitArgs(val)
			if !ok {
				return "ERR Missing rdb-filter-only values", false
			}
			lc.ExcludeData = true
			lc.ExcludeFunctions = true
			for _, f := range filters {
				if !equalFold(f, "functions") {
					return "ERR Unsupported rdb-filter-only option: " + string(f), false
				}
				lc.ExcludeFunctions = false
			}
		default:
			return "ERR Unrecognized REPLCONF option: " + string(opt), false
		}
	}
	return "", false
}

// splitArgs splits a filter list on spaces, honouring double and single
// quotes like sdssplitargs (escapes inside double quotes are kept as is).
func splitArgs(b []byte) ([][]byte, bool) {
	var out [][]byte
	i := 0
	for {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
		if i >= len(b) {
			return out, true
		}
		if b[i] == '"' || b[i] == '\'' {
			q := b[i]
			end := bytes.IndexByte(b[i+1:], q)
			if end < 0 {
				return nil, false
			}
			out = append(out, b[i+1:i+1+end])
			i += end + 2
			if i < len(b) && b[i] != ' ' {
				return nil, false
			}
			continue
		}
		start := i
		for i < len(b) && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		out = append(out, b[start:i])
	}
}

// formatOffset formats an offset for PSYNC/ACK arguments.
func formatOffset(off int64) string { return strconv.FormatInt(off, 10) }
