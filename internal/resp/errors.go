package resp

// Error replies shared by many commands, worded exactly as Redis 7.0 sends them.
const (
	ErrSyntax        = "ERR syntax error"
	ErrWrongType     = "WRONGTYPE Operation against a key holding the wrong kind of value"
	ErrNotInteger    = "ERR value is not an integer or out of range"
	ErrNotFloat      = "ERR value is not a valid float"
	ErrNoSuchKey     = "ERR no such key"
	ErrOutOfRange    = "ERR index out of range"
	ErrOverflow      = "ERR increment or decrement would overflow"
	ErrOOM           = "OOM command not allowed when used memory > 'maxmemory'."
	ErrNoAuth        = "NOAUTH Authentication required."
	ErrCrossSlot     = "CROSSSLOT Keys in request don't hash to the same slot"
	ErrTimeoutNotNum = "ERR timeout is not a float or out of range"
	ErrTimeoutNeg    = "ERR timeout is negative"
	ErrInvalidExpire = "ERR invalid expire time in '%s' command"
)
