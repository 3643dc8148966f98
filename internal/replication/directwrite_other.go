//go:build !unix

package replication

import "errors"

// directWrites tells whether Flush may write to a replica's socket itself:
// not on this platform, the writer goroutine does all the writing.
const directWrites = false

func rawWrite(uintptr, []byte) (int, error) { return 0, errors.New("direct writes unsupported") }
