package rdb

import (
	"errors"
	"fmt"
)

// Errors returned by this package. Decoding errors wrap one of them (test with
// errors.Is); the wrapped message adds context such as the key and offset.
var (
	// ErrDumpPayload is returned by Restore and RestoreFunctions when the
	// payload footer (RDB version or CRC64) is wrong. Its text is the exact
	// error reply of RESTORE and FUNCTION RESTORE.
	ErrDumpPayload = errors.New("ERR DUMP payload version or checksum are wrong")
	// ErrBadDataFormat is returned by Restore when the payload's footer is
	// fine but its body does not parse. Its text is RESTORE's error reply.
	ErrBadDataFormat = errors.New("ERR Bad data format")
	// ErrCorrupt marks malformed input (bad encodings, inconsistent counts,
	// duplicates, truncated blobs...).
	ErrCorrupt = errors.New("rdb: corrupt data")
	// ErrChecksum is returned at the end of a file whose CRC64 does not match.
	ErrChecksum = errors.New("rdb: wrong RDB checksum")
	// ErrLimit is returned when a length read from the input exceeds the
	// decoder's limits or the bytes left in the input.
	ErrLimit = errors.New("rdb: length out of range")
	// ErrUnsupported is returned for data this package does not load: module
	// values and module aux data (Redis 7.0 also refuses them without the
	// module), and Redis 7.2+ types such as the listpack set.
	ErrUnsupported = errors.New("rdb: unsupported")
	// ErrSignature is returned when the input does not start with "REDIS".
	ErrSignature = errors.New("Wrong signature trying to load DB from file")
)

// VersionError is returned for an RDB whose version is not in 1..10.
type VersionError struct {
	Version int
}

// Error returns Redis's message for the condition.
func (e *VersionError) Error() string {
	return fmt.Sprintf("Can't handle RDB format version %d", e.Version)
}

// corruptf builds an error wrapping ErrCorrupt.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// limitf builds an error wrapping ErrLimit.
func limitf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrLimit, fmt.Sprintf(format, args...))
}
