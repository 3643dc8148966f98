package server

import (
	"math"

	"github.com/redcluster/redcluster/internal/resp"
	"github.com/redcluster/redcluster/internal/store"
)

// Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD) and
// LCS, which share the string representation.

// strBitOffset is getBitOffsetFromArgument: a non-negative bit offset whose
// byte stays below proto-max-bulk-len; with hash, "#N" means N*nbits.
func strBitOffset(c *Ctx, arg []byte, hash bool, nbits int) (uint64, bool) {
	useHash := hash && nbits > 0 && len(arg) > 0 && arg[0] == '#'
	if useHash {
		arg = arg[1:]
	}
	v, ok := resp.ParseInt(arg)
	if ok && useHash {
		v *= int64(nbits)
	}
	if !ok || v < 0 || v>>3 >= c.S.protoMaxBulkLen.Load() {
		c.Error(errStrBitOffset)
		return 0, false
	}
	return uint64(v), true
}

// strBitString is lookupStringForBitCommand: the string at key, created or
// zero-padded so that bit maxbit exists. dirty reports whether it was
// created or grown. The object becomes "raw" like Redis's unshared copy.
func strBitString(c *Ctx, maxbit uint64) (o *store.Object, dirty, ok bool) {
	key := c.Args[1]
	n := int(maxbit>>3) + 1
	o = c.Lookup(key)
	if o == nil {
		o = strNewObject(c, make([]byte, n), store.StrEncRaw)
		c.Set(key, o)
		return o, true, true
	}
	if o.Type != store.TypeString {
		c.Error(resp.ErrWrongType)
		return nil, false, false
	}
	o.Enc = store.StrEncRaw
	if cur := o.Bytes(); len(cur) < n {
		o.SetBytes(strGrowZero(cur, n))
		dirty = true
	}
	return o, dirty, true
}

func cmdSetbit(c *Ctx) {
	off, ok := strBitOffset(c, c.Args[2], false, 0)
	if !ok {
		return
	}
	on, ok := resp.ParseInt(c.Args[3])
	if !ok || on&^1 != 0 {
		c.Error(errStrBitValue)
		return
	}
	o, dirty, ok := strBitString(c, off)
	if !ok {
		return
	}
	p := o.Bytes()
	old := int64(store.GetBit(p, off))
	if dirty || old != on {
		b, sh := off>>3, 7-off&7
		p[b] = p[b]&^(1<<sh) | byte(on)<<sh
		c.Modified(c.Args[1])
	}
	c.W.Int(old)
}

func cmdGetbit(c *Ctx) {
	off, ok := strBitOffset(c, c.Args[2], false, 0)
	if !ok {
		return
	}
	o := c.LookupRead(c.Args[1])
	if o == nil {
		c.W.Int(0)
		return
	}
	if o.Type != store.TypeString {
		c.Error(resp.ErrWrongType)
		return
	}
	c.W.Int(int64(store.GetBit(o.Bytes(), off)))
}

// strBitUnit parses BIT|BYTE; it reports whether the unit is bits.
func strBitUnit(c *Ctx, arg []byte) (isBit, ok bool) {
	switch {
	case strEq(arg, "bit"):
		return true, true
	case strEq(arg, "byte"):
		return false, true
	}
	c.Error(resp.ErrSyntax)
	return false, false
}

func cmdBitcount(c *Ctx) {
	args := c.Args
	o := c.LookupRead(args[1])
	if o == nil {
		c.W.Int(0)
		return
	}
	if o.Type != store.TypeString {
		c.Error(resp.ErrWrongType)
		return
	}
	p := o.Bytes()
	var start, end int64
	var first, last byte
	switch len(args) {
	case 4, 5:
		var ok bool
		if start, ok = strInt(c, args[2]); !ok {
			return
		}
		if end, ok = strInt(c, args[3]); !ok {
			return
		}
		if start < 0 && end < 0 && start > end {
			c.W.Int(0)
			return
		}
		isBit := false
		if len(args) == 5 {
			if isBit, ok = strBitUnit(c, args[4]); !ok {
				return
			}
		}
		total := int64(len(p))
		if isBit {
			total <<= 3
		}
		start, end = store.ClampRange(start, end, total)
		if isBit && start <= end {
			start, end, first, last = store.BitRangeMasks(start, end)
		}
	case 2:
		start, end = 0, int64(len(p))-1
	default:
		c.Error(resp.ErrSyntax)
		return
	}
	if start > end {
		c.W.Int(0)
		return
	}
	c.W.Int(store.BitCount(p, start, end, first, last))
}

func cmdBitpos(c *Ctx) {
	args := c.Args
	bit, ok := strInt(c, args[2])
	if !ok {
		return
	}
	if bit != 0 && bit != 1 {
		c.Error(errStrBitArg)
		return
	}
	o := c.LookupRead(args[1])
	if o == nil {
		if bit == 1 {
			c.W.Int(-1)
		} else {
			c.W.Int(0)
		}
		return
	}
	if o.Type != store.TypeString {
		c.Error(resp.ErrWrongType)
		return
	}
	p := o.Bytes()
	var start, end int64
	var first, last byte
	endGiven := false
	switch len(args) {
	case 4, 5, 6:
		total := int64(len(p))
		if start, ok = strInt(c, args[3]); !ok {
			return
		}
		isBit := false
		if len(args) == 6 {
			if isBit, ok = strBitUnit(c, args[5]); !ok {
				return
			}
		}
		if len(args) >= 5 {
			if end, ok = strInt(c, args[4]); !ok {
				return
			}
			endGiven = true
		} else if isBit {
			end = total<<3 + 7
		} else {
			end = total - 1
		}
		if isBit {
			total <<= 3
		}
		start, end = store.ClampRange(start, end, total)
		if isBit && start <= end {
			start, end, first, last = store.BitRangeMasks(start, end)
		}
	case 3:
		start, end = 0, int64(len(p))-1
	default:
		c.Error(resp.ErrSyntax)
		return
	}
	if start > end {
		c.W.Int(-1)
		return
	}
	c.W.Int(store.BitPos(p, int(bit), start, end, first, last, endGiven))
}

func cmdBitop(c *Ctx) {
	args := c.Args
	var op store.BitOp
	switch {
	case strEq(args[1], "and"):
		op = store.BitAnd
	case strEq(args[1], "or"):
		op = store.BitOr
	case strEq(args[1], "xor"):
		op = store.BitXor
	case strEq(args[1], "not"):
		op = store.BitNot
	default:
		c.Error(resp.ErrSyntax)
		return
	}
	if op == store.BitNot && len(args) != 4 {
		c.Error(errStrBitopNot)
		return
	}
	srcs := make([][]byte, len(args)-3)
	for i, key := range args[3:] {
		o := c.LookupRead(key)
		if o == nil {
			continue
		}
		if o.Type != store.TypeString {
			c.Error(resp.ErrWrongType)
			return
		}
		srcs[i] = o.Bytes()
	}
	res := store.BitOpApply(op, srcs)
	target := args[2]
	if res != nil {
		strPut(c, target, c.Lookup(target), res, store.StrEncRaw, 0, false)
		c.Modified(target)
	} else if c.DB.Delete(target, c.Now) {
		c.Modified(target)
	}
	c.W.Int(int64(len(res)))
}

// Operations of BITFIELD.
const (
	bfGet = iota
	bfSet
	bfIncrBy
)

type bitfieldOp struct {
	offset uint64
	value  int64
	opcode int
	ow     store.Overflow
	bits   int
	signed bool
}

// strBitfieldType parses i1..i64 / u1..u63.
func strBitfieldType(c *Ctx, arg []byte) (signed bool, bits int, ok bool) {
	if len(arg) > 0 && (arg[0] == 'i' || arg[0] == 'u') {
		signed = arg[0] == 'i'
		n, ok := resp.ParseInt(arg[1:])
		if ok && n >= 1 && ((signed && n <= 64) || (!signed && n <= 63)) {
			return signed, int(n), true
		}
	}
	c.Error(errStrBfType)
	return false, 0, false
}

func cmdBitfield(c *Ctx) { strBitfield(c, false) }

func cmdBitfieldRo(c *Ctx) { strBitfield(c, true) }

// strBitfield is bitfieldGeneric; readOnly is BITFIELD_RO.
func strBitfield(c *Ctx, readOnly bool) {
	args := c.Args
	var opsBuf [8]bitfieldOp
	ops := opsBuf[:0]
	ow := store.OverflowWrap
	writes := false
	var highest uint64
	for j := 2; j < len(args); j++ {
		rem := len(args) - j - 1
		sub := args[j]
		var opcode int
		switch {
		case strEq(sub, "get") && rem >= 2:
			opcode = bfGet
		case strEq(sub, "set") && rem >= 3:
			opcode = bfSet
		case strEq(sub, "incrby") && rem >= 3:
			opcode = bfIncrBy
		case strEq(sub, "overflow") && rem >= 1:
			j++
			switch {
			case strEq(args[j], "wrap"):
				ow = store.OverflowWrap
			case strEq(args[j], "sat"):
				ow = store.OverflowSat
			case strEq(args[j], "fail"):
				ow = store.OverflowFail
			default:
				c.Error(errStrBfOverflow)
				return
			}
			continue
		default:
			c.Error(resp.ErrSyntax)
			return
		}
		signed, bits, ok := strBitfieldType(c, args[j+1])
		if !ok {
			return
		}
		off, ok := strBitOffset(c, args[j+2], true, bits)
		if !ok {
			return
		}
		var v int64
		if opcode != bfGet {
			writes = true
			if top := off + uint64(bits) - 1; top > highest {
				highest = top
			}
			if v, ok = strInt(c, args[j+3]); !ok {
				return
			}
		}
		ops = append(ops, bitfieldOp{offset: off, value: v, opcode: opcode, ow: ow, bits: bits, signed: signed})
		if opcode == bfGet {
			j += 2
		} else {
			j += 3
		}
	}
	var o *store.Object
	dirty := false
	if !writes {
		o = c.LookupRead(args[1])
		if o != nil && o.Type != store.TypeString {
			c.Error(resp.ErrWrongType)
			return
		}
	} else {
		if readOnly {
			c.Error(errStrBfRO)
			return
		}
		var ok bool
		if o, dirty, ok = strBitString(c, highest); !ok {
			return
		}
	}
	c.W.Array(len(ops))
	changes := 0
	for i := range ops {
		op := &ops[i]
		if op.opcode == bfGet {
			var p []byte
			if o != nil {
				p = o.Bytes()
			}
			if op.signed {
				c.W.Int(store.GetSignedBitfield(p, op.offset, op.bits))
			} else {
				c.W.Int(int64(store.GetUnsignedBitfield(p, op.offset, op.bits)))
			}
			continue
		}
		var oldBits, newBits uint64
		var reply int64
		var overflow int
		if op.signed {
			oldv := store.GetSignedBitfield(o.Bytes(), op.offset, op.bits)
			var newv, wrapped int64
			if op.opcode == bfIncrBy {
				overflow, wrapped = store.SignedBitfieldOverflow(oldv, op.value, op.bits, op.ow)
				newv = oldv + op.value
				if overflow != 0 {
					newv = wrapped
				}
				reply = newv
			} else {
				newv = op.value
				overflow, wrapped = store.SignedBitfieldOverflow(newv, 0, op.bits, op.ow)
				if overflow != 0 {
					newv = wrapped
				}
				reply = oldv
			}
			oldBits, newBits = uint64(oldv), uint64(newv)
		} else {
			oldv := store.GetUnsignedBitfield(o.Bytes(), op.offset, op.bits)
			var newv, wrapped uint64
			if op.opcode == bfIncrBy {
				newv = oldv + uint64(op.value)
				overflow, wrapped = store.UnsignedBitfieldOverflow(oldv, op.value, op.bits, op.ow)
				if overflow != 0 {
					newv = wrapped
				}
				reply = int64(newv)
			} else {
				newv = uint64(op.value)
				overflow, wrapped = store.UnsignedBitfieldOverflow(newv, 0, op.bits, op.ow)
				if overflow != 0 {
					newv = wrapped
				}
				reply = int64(oldv)
			}
			oldBits, newBits = oldv, newv
		}
		if overflow != 0 && op.ow == store.OverflowFail {
			c.W.Null()
			continue
		}
		c.W.Int(reply)
		store.SetBitfield(o.Bytes(), op.offset, op.bits, newBits)
		if dirty || oldBits != newBits {
			changes++
		}
	}
	if changes > 0 {
		c.Dirty += changes - 1
		c.Modified(args[1])
	}
}

func cmdLcs(c *Ctx) {
	args := c.Args
	oa := c.LookupRead(args[1])
	ob := c.LookupRead(args[2])
	if (oa != nil && oa.Type != store.TypeString) || (ob != nil && ob.Type != store.TypeString) {
		c.Error(errStrLcsType)
		return
	}
	var a, b []byte
	if oa != nil {
		a = oa.Bytes()
	}
	if ob != nil {
		b = ob.Bytes()
	}
	var getLen, getIdx, withLen bool
	var minLen int64
	for j := 3; j < len(args); j++ {
		opt := args[j]
		switch {
		case strEq(opt, "idx"):
			getIdx = true
		case strEq(opt, "len"):
			getLen = true
		case strEq(opt, "withmatchlen"):
			withLen = true
		case strEq(opt, "minmatchlen") && j < len(args)-1:
			n, ok := strInt(c, args[j+1])
			if !ok {
				return
			}
			minLen = max(n, 0)
			j++
		default:
			c.Error(resp.ErrSyntax)
			return
		}
	}
	if getLen && getIdx {
		c.Error(errStrLcsLenIdx)
		return
	}
	if len(a) >= math.MaxUint32-1 || len(b) >= math.MaxUint32-1 {
		c.Error(errStrLcsTooLong)
		return
	}
	if store.LCSTableBytes(len(a), len(b)) > uint64(c.S.protoMaxBulkLen.Load()) {
		c.Error(errStrLcsMemory)
		return
	}
	res := store.LCS(a, b, !getLen && !getIdx, getIdx, minLen)
	switch {
	case getIdx:
		c.W.Map(2)
		c.W.BulkString("matches")
		c.W.Array(len(res.Matches))
		for _, m := range res.Matches {
			if withLen {
				c.W.Array(3)
			} else {
				c.W.Array(2)
			}
			c.W.Array(2)
			c.W.Int(int64(m.AStart))
			c.W.Int(int64(m.AEnd))
			c.W.Array(2)
			c.W.Int(int64(m.BStart))
			c.W.Int(int64(m.BEnd))
			if withLen {
				c.W.Int(int64(m.Len()))
			}
		}
		c.W.BulkString("len")
		c.W.Int(int64(res.Len))
	case getLen:
		c.W.Int(int64(res.Len))
	default:
		c.W.Bulk(res.Str)
	}
}
