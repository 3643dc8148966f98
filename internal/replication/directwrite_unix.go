//go:build unix

package replication

import "syscall"

// directWrites tells whether Flush may write to a replica's socket itself
// (rawWrite is available).
const directWrites = true

// rawWrite is one write(2) on a non-blocking descriptor; n is 0 on error.
func rawWrite(fd uintptr, p []byte) (int, error) {
	n, err := syscall.Write(int(fd), p)
	return max(n, 0), err
}
