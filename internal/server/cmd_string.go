package server

import (
	"math"
	"slices"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

func stringCommands() []*Command {
	w, r, dm, f := FlagWrite, FlagReadOnly, FlagDenyOOM, FlagFast
	str := func(name string, arity int, flags Flag, first, last, step int, h func(*Ctx), since string, cats ...string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: first, LastKey: last, Step: step,
			Handler: h, Group: "string", Since: since, Categories: cats}
	}
	bit := func(name string, arity int, flags Flag, first, last, step int, h func(*Ctx), since string, cats ...string) *Command {
		c := str(name, arity, flags, first, last, step, h, since, cats...)
		c.Group = "bitmap"
		return c
	}
	return []*Command{
		str("get", 2, r|f, 1, 1, 1, cmdGet, "1.0.0", "read", "string", "fast"),
		str("set", -3, w|dm, 1, 1, 1, cmdSet, "1.0.0", "write", "string", "slow"),
		str("setnx", 3, w|dm|f, 1, 1, 1, cmdSetnx, "1.0.0", "write", "string", "fast"),
		str("setex", 4, w|dm, 1, 1, 1, cmdSetex, "2.0.0", "write", "string", "slow"),
		str("psetex", 4, w|dm, 1, 1, 1, cmdPsetex, "2.6.0", "write", "string", "slow"),
		str("getset", 3, w|dm|f, 1, 1, 1, cmdGetset, "1.0.0", "write", "string", "fast"),
		str("getdel", 2, w|f, 1, 1, 1, cmdGetdel, "6.2.0", "write", "string", "fast"),
		str("getex", -2, w|f, 1, 1, 1, cmdGetex, "6.2.0", "write", "string", "fast"),
		str("mget", -2, r|f, 1, -1, 1, cmdMget, "1.0.0", "read", "string", "fast"),
		str("mset", -3, w|dm, 1, -1, 2, cmdMset, "1.0.1", "write", "string", "slow"),
		str("msetnx", -3, w|dm, 1, -1, 2, cmdMsetnx, "1.0.1", "write", "string", "slow"),
		str("incr", 2, w|dm|f, 1, 1, 1, cmdIncr, "1.0.0", "write", "string", "fast"),
		str("decr", 2, w|dm|f, 1, 1, 1, cmdDecr, "1.0.0", "write", "string", "fast"),
		str("incrby", 3, w|dm|f, 1, 1, 1, cmdIncrby, "1.0.0", "write", "string", "fast"),
		str("decrby", 3, w|dm|f, 1, 1, 1, cmdDecrby, "1.0.0", "write", "string", "fast"),
		str("incrbyfloat", 3, w|dm|f, 1, 1, 1, cmdIncrbyfloat, "2.6.0", "write", "string", "fast"),
		str("append", 3, w|dm|f, 1, 1, 1, cmdAppend, "2.0.0", "write", "string", "fast"),
		str("strlen", 2, r|f, 1, 1, 1, cmdStrlen, "2.2.0", "read", "string", "fast"),
		str("getrange", 4, r, 1, 1, 1, cmdGetrange, "2.4.0", "read", "string", "slow"),
		str("substr", 4, r, 1, 1, 1, cmdGetrange, "1.0.0", "read", "string", "slow"),
		str("setrange", 4, w|dm, 1, 1, 1, cmdSetrange, "2.2.0", "write", "string", "slow"),
		str("lcs", -3, r, 1, 2, 1, cmdLcs, "7.0.0", "read", "string", "slow"),
		bit("setbit", 4, w|dm, 1, 1, 1, cmdSetbit, "2.2.0", "write", "bitmap", "slow"),
		bit("getbit", 3, r|f, 1, 1, 1, cmdGetbit, "2.2.0", "read", "bitmap", "fast"),
		bit("bitcount", -2, r, 1, 1, 1, cmdBitcount, "2.6.0", "read", "bitmap", "slow"),
		bit("bitpos", -3, r, 1, 1, 1, cmdBitpos, "2.8.7", "read", "bitmap", "slow"),
		bit("bitop", -4, w|dm, 2, -1, 1, cmdBitop, "2.6.0", "write", "bitmap", "slow"),
		bit("bitfield", -2, w|dm, 1, 1, 1, cmdBitfield, "3.2.0", "write", "bitmap", "slow"),
		bit("bitfield_ro", -2, r|f, 1, 1, 1, cmdBitfieldRo, "6.0.0", "read", "bitmap", "fast"),
	}
}

// Error replies of the string commands.
const (
	errStrTooLong      = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	errStrOffset       = "ERR offset is out of range"
	errStrBitOffset    = "ERR bit offset is not an integer or out of range"
	errStrBitValue     = "ERR bit is not an integer or out of range"
	errStrBitArg       = "ERR The bit argument must be 1 or 0."
	errStrBitopNot     = "ERR BITOP NOT must be called with a single source key."
	errStrDecrOverflow = "ERR decrement would overflow"
	errStrBfType       = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
	errStrBfOverflow   = "ERR Invalid OVERFLOW type specified"
	errStrBfRO         = "ERR BITFIELD_RO only supports the GET subcommand"
	errStrLcsType      = "ERR The specified keys must contain string values"
	errStrLcsLenIdx    = "ERR If you want both the length and indexes, please just use IDX."
	errStrLcsTooLong   = "ERR String too long for LCS"
	errStrLcsMemory    = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
	errStrNaN          = "ERR increment would produce NaN or Infinity"
)

// strPut stores buf (owned by the caller, not copied) at key as a string
// with encoding marker enc. old is the key's current live object, if any:
// a string object is updated in place. expireAt (ms) sets a TTL; otherwise
// the TTL is removed unless keepTTL.
func strPut(c *Ctx, key []byte, old *store.Object, buf []byte, enc store.StrEnc, expireAt int64, keepTTL bool) {
	if old != nil && old.Type == store.TypeString {
		old.SetBytes(buf)
		old.Enc = enc
		if expireAt != 0 {
			c.DB.SetExpire(key, old, expireAt)
		} else if !keepTTL && old.Expire != 0 {
			c.DB.SetExpire(key, old, 0)
		}
		return
	}
	o := strNewObject(c, buf, enc)
	strNewTTL(o, old, expireAt, keepTTL)
	c.Set(key, o)
}

// strNewTTL gives a new object replacing old the TTL strPut would.
func strNewTTL(o, old *store.Object, expireAt int64, keepTTL bool) {
	if expireAt != 0 {
		o.Expire = expireAt
	} else if keepTTL && old != nil {
		o.Expire = old.Expire
	}
}

// strNewObject returns a new string object with a fresh LRU clock.
func strNewObject(c *Ctx, buf []byte, enc store.StrEnc) *store.Object {
	o := &store.Object{Type: store.TypeString, Enc: enc, LRU: store.LRUClock(c.Now)}
	o.SetBytes(buf)
	return o
}

// strSetValue is setKey for a client-supplied value: it copies val,
// reusing the old string's storage when it fits. A new object gets its
// copy from DB.SetStringCopy (one allocation with a new key's name).
func strSetValue(c *Ctx, key []byte, old *store.Object, val []byte, expireAt int64, keepTTL bool) {
	if old != nil && old.Type == store.TypeString {
		strPut(c, key, old, store.ReuseBytes(old.Bytes(), val), store.StrEncAuto, expireAt, keepTTL)
		return
	}
	o := strNewObject(c, nil, store.StrEncAuto)
	strNewTTL(o, old, expireAt, keepTTL)
	c.SetStringCopy(key, val, o)
}

// strCheckLength is checkStringLength: size+add must fit proto-max-bulk-len.
func strCheckLength(c *Ctx, size, add int64) bool {
	total := size + add
	if total > c.S.protoMaxBulkLen.Load() || total < size || total < add {
		c.Error(errStrTooLong)
		return false
	}
	return true
}

// strGrowZero extends b with zero bytes to length n (never shrinks).
func strGrowZero(b []byte, n int) []byte {
	old := len(b)
	if n <= old {
		return b
	}
	if n > cap(b) {
		extra := n
		if extra > 1<<20 {
			extra = 1 << 20
		}
		b = slices.Grow(b, n-old+extra)
	}
	b = b[:n]
	clear(b[old:])
	return b
}

func strInt(c *Ctx, arg []byte) (int64, bool) {
	v, ok := resp.ParseInt(arg)
	if !ok {
		c.Error(resp.ErrNotInteger)
	}
	return v, ok
}

func strEq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != s[i] {
			return false
		}
	}
	return true
}

func cmdGet(c *Ctx) {
	o := c.LookupRead(c.Args[1])
	if o == nil {
		c.W.Null()
		return
	}
	if o.Type != store.TypeString {
		c.Error(resp.ErrWrongType)
		return
	}
	c.W.Bulk(o.Bytes())
}

// Option flags of SET and GETEX (parseExtendedStringArgumentsOrReply).
const (
	strNX = 1 << iota
	strXX
	strEX
	strPX
	strKeepTTL
	strGet
	strEXAT
	strPXAT
	strPersist
)

const strAnyExpire = strEX | strPX | strEXAT | strPXAT

// strParseExt parses SET options (from argument 3) or GETEX options (from
// argument 2) with Redis's conflict rules. It returns the flags and the
// expire argument, replying with a syntax error on failure.
func strParseExt(c *Ctx, isSet bool) (int, []byte, bool) {
	args := c.Args
	j := 2
	if isSet {
		j = 3
	}
	flags := 0
	var expire []byte
	for ; j < len(args); j++ {
		opt := args[j]
		hasNext := j < len(args)-1
		switch {
		case isSet && strEq(opt, "nx") && flags&strXX == 0:
			flags |= strNX
		case isSet && strEq(opt, "xx") && flags&strNX == 0:
			flags |= strXX
		case isSet && strEq(opt, "get"):
			flags |= strGet
		case isSet && strEq(opt, "keepttl") && flags&(strPersist|strAnyExpire) == 0:
			flags |= strKeepTTL
		case !isSet && strEq(opt, "persist") && flags&(strAnyExpire|strKeepTTL) == 0:
			flags |= strPersist
		case strEq(opt, "ex") && hasNext && flags&(strKeepTTL|strPersist|strEXAT|strPX|strPXAT) == 0:
			flags |= strEX
			expire = args[j+1]
			j++
		case strEq(opt, "px") && hasNext && flags&(strKeepTTL|strPersist|strEX|strEXAT|strPXAT) == 0:
			flags |= strPX
			expire = args[j+1]
			j++
		case strEq(opt, "exat") && hasNext && flags&(strKeepTTL|strPersist|strEX|strPX|strPXAT) == 0:
			flags |= strEXAT
			expire = args[j+1]
			j++
		case strEq(opt, "pxat") && hasNext && flags&(strKeepTTL|strPersist|strEX|strEXAT|strPX) == 0:
			flags |= strPXAT
			expire = args[j+1]
			j++
		default:
			c.Error(resp.ErrSyntax)
			return 0, nil, false
		}
	}
	return flags, expire, true
}

// strExpireAt converts an expire argument to an absolute time in ms like
// getExpireMillisecondsOrReply. seconds selects EX/EXAT units; relative
// selects EX/PX.
func strExpireAt(c *Ctx, arg []byte, seconds, relative bool) (int64, bool) {
	ms, ok := strInt(c, arg)
	if !ok {
		return 0, false
	}
	if ms <= 0 || (seconds && ms > math.MaxInt64/1000) {
		c.Error("ERR invalid expire time in '" + c.Cmd.FullName() + "' command")
		return 0, false
	}
	if seconds {
		ms *= 1000
	}
	if relative {
		ms += c.Now
	}
	if ms <= 0 {
		c.Error("ERR invalid expire time in '" + c.Cmd.FullName() + "' command")
		return 0, false
	}
	return ms, true
}

func strFlagsExpireAt(c *Ctx, flags int, expire []byte) (int64, bool) {
	if expire == nil {
		return 0, true
	}
	return strExpireAt(c, expire, flags&(strEX|strEXAT) != 0, flags&(strEX|strPX) != 0)
}

// strSetGeneric is setGenericCommand. intReplies selects the replies of
// SETNX (:1/:0) instead of +OK/null.
func strSetGeneric(c *Ctx, flags int, key, val, expire []byte, intReplies bool) {
	expireAt, ok := strFlagsExpireAt(c, flags, expire)
	if !ok {
		return
	}
	var old *store.Object
	if flags&strGet != 0 {
		old = c.LookupRead(key)
		if old != nil && old.Type != store.TypeString {
			c.Error(resp.ErrWrongType)
			return
		}
		if old == nil {
			c.W.Null()
		} else {
			c.W.Bulk(old.Bytes())
		}
	} else {
		old = c.Lookup(key)
	}
	found := old != nil
	if (flags&strNX != 0 && found) || (flags&strXX != 0 && !found) {
		if flags&strGet == 0 {
			if intReplies {
				c.W.Int(0)
			} else {
				c.W.Null()
			}
		}
		return
	}
	strSetValue(c, key, old, val, expireAt, flags&strKeepTTL != 0)
	c.Modified(key)
	if c.Propagating() {
		strPropagateSet(c, flags, key, val, expireAt)
	}
	if flags&strGet == 0 {
		if intReplies {
			c.W.Int(1)
		} else {
			c.W.OK()
		}
	}
}

// strPropagateSet gives the propagated form of a SET that stored val:
// with an expire option SET key val PXAT <abs-ms> (SETEX and PSETEX too),
// else the command without its GET options (setGenericCommand).
func strPropagateSet(c *Ctx, flags int, key, val []byte, expireAt int64) {
	switch {
	case expireAt != 0:
		c.Propagate(bSet, key, val, bPXAT, int64Arg(expireAt))
	case flags&strGet != 0:
		args := make([][]byte, 0, len(c.Args)-1)
		for j, a := range c.Args {
			if j >= 3 && strEq(a, "get") {
				continue
			}
			args = append(args, a)
		}
		c.Propagate(args...)
	}
}

func cmdSet(c *Ctx) {
	if len(c.Args) == 3 {
		key := c.Args[1]
		strSetValue(c, key, c.Lookup(key), c.Args[2], 0, false)
		c.Modified(key)
		c.W.OK()
		return
	}
	flags, expire, ok := strParseExt(c, true)
	if !ok {
		return
	}
	strSetGeneric(c, flags, c.Args[1], c.Args[2], expire, false)
}

func cmdSetnx(c *Ctx) { strSetGeneric(c, strNX, c.Args[1], c.Args[2], nil, true) }

func cmdSetex(c *Ctx) { strSetGeneric(c, strEX, c.Args[1], c.Args[3], c.Args[2], false) }

func cmdPsetex(c *Ctx) { strSetGeneric(c, strPX, c.Args[1], c.Args[3], c.Args[2], false) }

// strGetGeneric is getGenericCommand: it replies with the value (or null)
// and returns the object; ok is false after a WRONGTYPE error.
func strGetGeneric(c *Ctx) (*store.Object, bool) {
	o := c.LookupRead(c.Args[1])
	if o == nil {
		c.W.Null()
		return nil, true
	}
	if o.Type != store.TypeString {
		c.Error(resp.ErrWrongType)
		return nil, false
	}
	c.W.Bulk(o.Bytes())
	return o, true
}

func cmdGetset(c *Ctx) {
	o, ok := strGetGeneric(c)
	if !ok {
		return
	}
	key := c.Args[1]
	strSetValue(c, key, o, c.Args[2], 0, false)
	c.Modified(key)
	if c.Propagating() {
		c.Propagate(bSet, key, c.Args[2])
	}
}

func cmdGetdel(c *Ctx) {
	o, ok := strGetGeneric(c)
	if !ok || o == nil {
		return
	}
	if c.DB.Delete(c.Args[1], c.Now) {
		c.Modified(c.Args[1])
		propagateKey(c, bDel, c.Args[1])
	}
}

func cmdGetex(c *Ctx) {
	flags, expire, ok := strParseExt(c, false)
	if !ok {
		return
	}
	key := c.Args[1]
	o := c.LookupRead(key)
	if o == nil {
		c.W.Null()
		return
	}
	if o.Type != store.TypeString {
		c.Error(resp.ErrWrongType)
		return
	}
	expireAt, ok := strFlagsExpireAt(c, flags, expire)
	if !ok {
		return
	}
	c.W.Bulk(o.Bytes())
	// GETEX itself never reaches the replicas: it becomes PEXPIREAT,
	// PERSIST or DEL.
	switch {
	case flags&(strEXAT|strPXAT) != 0 && alreadyExpired(c, expireAt):
		c.DB.Delete(key, c.Now)
		c.Modified(key)
		propagateKey(c, bDel, key)
	case expire != nil:
		c.DB.SetExpire(key, o, expireAt)
		c.Modified(key)
		propagateExpireAt(c, key, expireAt, false)
	case flags&strPersist != 0 && o.Expire != 0:
		c.DB.SetExpire(key, o, 0)
		c.Modified(key)
		propagateKey(c, bPersist, key)
	}
}

func cmdMget(c *Ctx) {
	c.W.Array(len(c.Args) - 1)
	for _, key := range c.Args[1:] {
		o := c.LookupRead(key)
		if o == nil || o.Type != store.TypeString {
			c.W.Null()
		} else {
			c.W.Bulk(o.Bytes())
		}
	}
}

func strMset(c *Ctx, nx bool) {
	args := c.Args
	if len(args)%2 == 0 {
		c.ArityError()
		return
	}
	if nx {
		for j := 1; j < len(args); j += 2 {
			if c.Lookup(args[j]) != nil {
				c.W.Int(0)
				return
			}
		}
	}
	for j := 1; j < len(args); j += 2 {
		strSetValue(c, args[j], c.Lookup(args[j]), args[j+1], 0, false)
		c.Modified(args[j])
	}
	if nx {
		c.W.Int(1)
	} else {
		c.W.OK()
	}
}

func cmdMset(c *Ctx) { strMset(c, false) }

func cmdMsetnx(c *Ctx) { strMset(c, true) }

// strIncrBy is incrDecrCommand: add incr to the integer at key, keeping
// its TTL.
func strIncrBy(c *Ctx, incr int64) {
	key := c.Args[1]
	o := c.Lookup(key)
	var v int64
	if o != nil {
		if o.Type != store.TypeString {
			c.Error(resp.ErrWrongType)
			return
		}
		var ok bool
		if v, ok = resp.ParseInt(o.Bytes()); !ok {
			c.Error(resp.ErrNotInteger)
			return
		}
	}
	if (incr < 0 && v < 0 && incr < math.MinInt64-v) || (incr > 0 && v > 0 && incr > math.MaxInt64-v) {
		c.Error(resp.ErrOverflow)
		return
	}
	v += incr
	var tmp [24]byte
	digits := store.AppendInt64(tmp[:0], v)
	if o != nil {
		o.SetBytes(store.ReuseBytes(o.Bytes(), digits))
		o.Enc = store.StrEncAuto
	} else {
		c.SetStringCopy(key, digits, strNewObject(c, nil, store.StrEncAuto))
	}
	c.Modified(key)
	c.W.Int(v)
}

func cmdIncr(c *Ctx) { strIncrBy(c, 1) }

func cmdDecr(c *Ctx) { strIncrBy(c, -1) }

func cmdIncrby(c *Ctx) {
	if n, ok := strInt(c, c.Args[2]); ok {
		strIncrBy(c, n)
	}
}

func cmdDecrby(c *Ctx) {
	n, ok := strInt(c, c.Args[2])
	if !ok {
		return
	}
	if n == math.MinInt64 {
		c.Error(errStrDecrOverflow)
		return
	}
	strIncrBy(c, -n)
}

func cmdIncrbyfloat(c *Ctx) {
	key := c.Args[1]
	o := c.Lookup(key)
	var cur []byte
	if o != nil {
		if o.Type != store.TypeString {
			c.Error(resp.ErrWrongType)
			return
		}
		cur = o.Bytes()
		if cur == nil {
			cur = []byte{}
		}
	}
	out, err := store.IncrByFloat(cur, c.Args[2])
	switch err {
	case nil:
	case store.ErrLongDoubleNaNInf:
		c.Error(errStrNaN)
		return
	default:
		c.Error(resp.ErrNotFloat)
		return
	}
	enc := store.StrEncEmbstr
	if len(out) > 44 {
		enc = store.StrEncRaw
	}
	strPut(c, key, o, out, enc, 0, true)
	c.Modified(key)
	c.W.Bulk(out)
	if c.Propagating() {
		// The result, not the increment, so that float formatting cannot
		// make the replicas differ. out is now the value's storage, which
		// a later command of the same EXEC may change in place: copy it.
		c.Propagate(bSet, key, append([]byte(nil), out...), bKeepTTL)
	}
}

func cmdAppend(c *Ctx) {
	key, val := c.Args[1], c.Args[2]
	o := c.Lookup(key)
	if o == nil {
		c.SetStringCopy(key, val, strNewObject(c, nil, store.StrEncAuto))
		c.Modified(key)
		c.W.Int(int64(len(val)))
		return
	}
	if o.Type != store.TypeString {
		c.Error(resp.ErrWrongType)
		return
	}
	cur := o.Bytes()
	if !strCheckLength(c, int64(len(cur)), int64(len(val))) {
		return
	}
	cur = append(cur, val...)
	o.SetBytes(cur)
	o.Enc = store.StrEncRaw
	c.Modified(key)
	c.W.Int(int64(len(cur)))
}

func cmdStrlen(c *Ctx) {
	o := c.LookupRead(c.Args[1])
	if o == nil {
		c.W.Int(0)
		return
	}
	if o.Type != store.TypeString {
		c.Error(resp.ErrWrongType)
		return
	}
	c.W.Int(int64(len(o.Bytes())))
}

func cmdGetrange(c *Ctx) {
	start, ok := strInt(c, c.Args[2])
	if !ok {
		return
	}
	end, ok := strInt(c, c.Args[3])
	if !ok {
		return
	}
	o := c.LookupRead(c.Args[1])
	if o == nil {
		c.W.Bulk(nil)
		return
	}
	if o.Type != store.TypeString {
		c.Error(resp.ErrWrongType)
		return
	}
	c.W.Bulk(store.GetRange(o.Bytes(), start, end))
}

func cmdSetrange(c *Ctx) {
	key, val := c.Args[1], c.Args[3]
	offset, ok := strInt(c, c.Args[2])
	if !ok {
		return
	}
	if offset < 0 {
		c.Error(errStrOffset)
		return
	}
	o := c.Lookup(key)
	if o == nil {
		if len(val) == 0 {
			c.W.Int(0)
			return
		}
		if !strCheckLength(c, offset, int64(len(val))) {
			return
		}
		buf := make([]byte, offset+int64(len(val)))
		copy(buf[offset:], val)
		c.Set(key, strNewObject(c, buf, store.StrEncRaw))
		c.Modified(key)
		c.W.Int(int64(len(buf)))
		return
	}
	if o.Type != store.TypeString {
		c.Error(resp.ErrWrongType)
		return
	}
	if len(val) == 0 {
		c.W.Int(int64(len(o.Bytes())))
		return
	}
	if !strCheckLength(c, offset, int64(len(val))) {
		return
	}
	cur := strGrowZero(o.Bytes(), int(offset)+len(val))
	copy(cur[offset:], val)
	o.SetBytes(cur)
	o.Enc = store.StrEncRaw
	c.Modified(key)
	c.W.Int(int64(len(cur)))
}
