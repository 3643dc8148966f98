package rdb

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Header describes the aux fields written at the start of a file.
type Header struct {
	RedisVer string // "7.0.15" when empty
	Bits     int    // 64 when 0
	CTime    int64  // unix seconds; 0 means now
	UsedMem  int64
	// Repl, when set, adds repl-stream-db, repl-id and repl-offset (written by
	// Redis for replication and when a replication backlog exists).
	Repl    *ReplInfo
	AOFBase bool
}

// ReplInfo is the replication state saved in an RDB.
type ReplInfo struct {
	StreamDB int
	ID       string // 40 characters
	Offset   int64
}

// Encoder writes an RDB file. Call WriteHeader, then optionally WriteAux
// and WriteFunction, then for every non-empty database SelectDB followed by
// its entries, then Close. Errors are sticky: after the first one every
// method returns it.
type Encoder struct {
	w     *writer
	v     valueEncoder
	opts  EncoderOptions
	state int // 0 new, 1 header written, 2 closed
	db    int
}

// NewEncoder returns an encoder writing to w. opts may be nil.
func NewEncoder(w io.Writer, opts *EncoderOptions) *Encoder {
	var o EncoderOptions
	if opts != nil {
		o = *opts
	}
	wr := newWriter(w, !o.NoCompression)
	return &Encoder{w: wr, v: valueEncoder{w: wr, cfg: o.config()}, opts: o, db: -1}
}

var errEncoderState = errors.New("rdb: encoder used out of order")

func (e *Encoder) ready() error {
	if e.w.err != nil {
		return e.w.err
	}
	if e.state != 1 {
		return errEncoderState
	}
	return nil
}

// WriteHeader writes "REDIS0010" and the aux fields Redis 7.0.15 writes, in
// its order: redis-ver, redis-bits, ctime, used-mem, [repl-stream-db,
// repl-id, repl-offset], aof-base.
func (e *Encoder) WriteHeader(h *Header) error {
	if e.state != 0 {
		return errEncoderState
	}
	if h == nil {
		h = &Header{}
	}
	e.state = 1
	e.w.write([]byte("REDIS0010"))
	ver := h.RedisVer
	if ver == "" {
		ver = "7.0.15"
	}
	bits := h.Bits
	if bits == 0 {
		bits = 64
	}
	ctime := h.CTime
	if ctime == 0 {
		ctime = time.Now().Unix()
	}
	e.auxString("redis-ver", ver)
	e.auxInt("redis-bits", int64(bits))
	e.auxInt("ctime", ctime)
	e.auxInt("used-mem", h.UsedMem)
	if h.Repl != nil {
		e.auxInt("repl-stream-db", int64(h.Repl.StreamDB))
		e.auxString("repl-id", h.Repl.ID)
		e.auxInt("repl-offset", h.Repl.Offset)
	}
	aof := int64(0)
	if h.AOFBase {
		aof = 1
	}
	e.auxInt("aof-base", aof)
	return e.w.err
}

func (e *Encoder) auxString(k, v string) {
	e.w.writeByte(opAux)
	e.w.writeString([]byte(k))
	e.w.writeString([]byte(v))
}

func (e *Encoder) auxInt(k string, v int64) {
	e.auxString(k, strconv.FormatInt(v, 10))
}

// WriteAux writes an extra AUX field.
func (e *Encoder) WriteAux(key, value []byte) error {
	if err := e.ready(); err != nil {
		return err
	}
	e.w.writeByte(opAux)
	e.w.writeString(key)
	e.w.writeString(value)
	return e.w.err
}

// WriteFunction writes a function library (its full source code) as a
// FUNCTION2 record.
func (e *Encoder) WriteFunction(code []byte) error {
	if err := e.ready(); err != nil {
		return err
	}
	e.w.writeByte(opFunction2)
	e.w.writeString(code)
	return e.w.err
}

// SelectDB starts database db, writing SELECTDB and the RESIZEDB hint (its
// number of keys and of keys with a TTL). Redis writes only non-empty
// databases, in ascending order.
func (e *Encoder) SelectDB(db int, keys, expires uint64) error {
	if err := e.SwitchDB(db); err != nil {
		return err
	}
	e.w.writeByte(opResizeDB)
	e.w.writeLen(keys)
	e.w.writeLen(expires)
	return e.w.err
}

// WriteEntry writes one key of the current database: EXPIRETIME_MS when
// ExpireMs != 0, IDLE/FREQ when enabled in the options, then type, key and
// value. Ent.DB is not used (see SelectDB).
func (e *Encoder) WriteEntry(ent *Entry) error {
	if err := e.ready(); err != nil {
		return err
	}
	if e.db < 0 {
		return fmt.Errorf("rdb: WriteEntry before SelectDB")
	}
	t, err := e.v.objectType(&ent.Value)
	if err != nil {
		return err
	}
	if ent.ExpireMs != 0 {
		e.w.writeByte(opExpireTimeMs)
		e.w.writeUint64LE(uint64(ent.ExpireMs))
	}
	if e.opts.SaveIdle {
		e.w.writeByte(opIdle)
		e.w.writeLen(uint64(max(ent.Idle, 0)))
	}
	if e.opts.SaveFreq {
		e.w.writeByte(opFreq)
		e.w.writeByte(byte(min(max(ent.Freq, 0), 255)))
	}
	e.w.writeByte(t)
	e.w.writeString(ent.Key)
	if err := e.v.writeValue(t, &ent.Value); err != nil {
		// The file is now unusable: make the error sticky.
		e.w.err = fmt.Errorf("rdb: key %q: %w", truncKey(ent.Key), err)
		return e.w.err
	}
	return e.w.err
}

// Close writes the EOF opcode and the checksum and flushes. It does not close
// the underlying writer.
func (e *Encoder) Close() error {
	if err := e.ready(); err != nil {
		return err
	}
	e.state = 2
	e.w.writeByte(opEOF)
	crc := uint64(0)
	if !e.opts.NoChecksum {
		crc = e.w.checksum()
	}
	e.w.writeUint64LE(crc)
	e.w.flush()
	return e.w.err
}

// Written returns the number of bytes handed to the underlying writer.
func (e *Encoder) Written() int64 { return e.w.n }

// SwitchDB makes db the current database again without a RESIZEDB hint:
// a writer that visits the keyspace slot by slot returns to a database
// already started with SelectDB. Loaders accept SELECTDB anywhere.
func (e *Encoder) SwitchDB(db int) error {
	if err := e.ready(); err != nil {
		return err
	}
	if db < 0 {
		return fmt.Errorf("rdb: invalid db %d", db)
	}
	e.db = db
	e.w.writeByte(opSelectDB)
	e.w.writeLen(uint64(db))
	return e.w.err
}

// Flush hands every buffered byte to the underlying writer.
func (e *Encoder) Flush() error {
	e.w.flush()
	return e.w.err
}

// NewFragmentEncoder returns an encoder for a run of entries without
// header or trailer (SwitchDB, SelectDB and WriteEntry), kept in memory
// until Bytes: a snapshot encodes parts of the keyspace in any order and
// a whole-file Encoder inserts them with WriteRaw in its own.
func NewFragmentEncoder(opts *EncoderOptions) *Encoder {
	e := NewEncoder(nil, opts)
	e.state = 1
	return e
}

// Bytes returns what a fragment encoder holds (valid until its next use).
func (e *Encoder) Bytes() []byte { return e.w.buf }

// WriteRaw inserts bytes produced by a fragment encoder with the same
// options (they count in the checksum).
func (e *Encoder) WriteRaw(p []byte) error {
	if err := e.ready(); err != nil {
		return err
	}
	e.w.write(p)
	return e.w.err
}
