package replication

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// ReplIDLen is the length of a replication ID (CONFIG_RUN_ID_SIZE).
const ReplIDLen = 40

// ZeroReplID is the cleared secondary replication ID ("000...0").
var ZeroReplID = strings.Repeat("0", ReplIDLen)

// NewReplID returns a new random replication ID: 40 hexadecimal characters.
func NewReplID() string {
	var b [ReplIDLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("replication: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}
