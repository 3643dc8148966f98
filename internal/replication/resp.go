package replication

import "strconv"

// AppendCommand appends the RESP encoding of a command (an array of bulk
// strings) to dst, byte for byte what Redis writes to the replication
// stream.
func AppendCommand(dst []byte, args [][]byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// appendCommandStrings is AppendCommand for string arguments.
func appendCommandStrings(dst []byte, args ...string) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// appendSelect appends "SELECT <db>" as Redis propagates it.
func appendSelect(dst []byte, db int) []byte {
	return appendCommandStrings(dst, "SELECT", strconv.Itoa(db))
}

// ackCommand returns "REPLCONF ACK <off>".
func ackCommand(off int64) []byte {
	return appendCommandStrings(nil, "REPLCONF", "ACK", strconv.FormatInt(off, 10))
}

// Fixed commands of the stream, encoded as Redis encodes them.
var (
	pingCmd   = appendCommandStrings(nil, "ping")
	getackCmd = appendCommandStrings(nil, "REPLCONF", "GETACK", "*")
	multiCmd  = appendCommandStrings(nil, "MULTI")
	execCmd   = appendCommandStrings(nil, "EXEC")
)
