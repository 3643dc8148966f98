package rdb

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// DecoderOptions configures a Decoder. The zero value is usable.
type DecoderOptions struct {
	// Size is the total number of input bytes when known (file size, the
	// $<len> of a replication payload). 0 means: detect it from readers
	// that know their length (*os.File, *bytes.Reader, *strings.Reader...),
	// otherwise unknown. Lengths read from the input are checked against the
	// bytes left when the size is known.
	Size int64
	// MaxStringLen bounds every string/blob length (0: DefaultMaxStringLen).
	MaxStringLen uint64
	// Databases, when > 0, makes SELECTDB of a db >= Databases an error
	// (Redis exits in that case).
	Databases int
	// SkipChecksum disables the CRC64 verification at the end.
	SkipChecksum bool
	// ReuseStrings makes Entry.Key, and Value.Str of a string, alias
	// buffers the decoder reuses at its next call: a caller that copies
	// them anyway (into its own keyspace) saves two allocations per key.
	ReuseStrings bool
}

// RecordKind identifies what a Record holds.
type RecordKind uint8

// Record kinds.
const (
	// RecordAux is an AUX field (AuxKey, AuxValue).
	RecordAux RecordKind = iota + 1
	// RecordFunction is a function library (Function holds its source,
	// "#!lua name=...\n..."; 7.0-rc FUNCTION records are converted to it).
	RecordFunction
	// RecordSelectDB switches the current database (DB).
	RecordSelectDB
	// RecordResizeDB is the size hint of the current database (DBSize,
	// ExpiresSize).
	RecordResizeDB
	// RecordEntry is a key (Entry).
	RecordEntry
)

// Record is one item of an RDB file.
type Record struct {
	Kind        RecordKind
	AuxKey      []byte
	AuxValue    []byte
	Function    []byte
	DB          int
	DBSize      uint64
	ExpiresSize uint64
	Entry       Entry
}

// Decoder reads an RDB file record by record.
//
// The decoder reads exactly the bytes of the RDB (through the EOF opcode and
// checksum) when given a *bufio.Reader, so the caller can keep reading what
// follows (a replication stream, the $EOF:<mark> trailer). With any other
// reader it buffers ahead.
type Decoder struct {
	r       *reader
	v       valueReader
	opts    DecoderOptions
	version int
	db      int
	done    bool
	err     error
	empty   int
	crc     uint64 // stored checksum, once read
	// Key attributes set by opcodes, applying to the next key only.
	expire, idle int64
	freq         int
	// keyBuf and strBuf back the reused strings (ReuseStrings).
	keyBuf, strBuf []byte
	// rec is the record NextRecord returns.
	rec Record
}

// NewDecoder returns a decoder reading from r. opts may be nil.
func NewDecoder(r io.Reader, opts *DecoderOptions) *Decoder {
	var o DecoderOptions
	if opts != nil {
		o = *opts
	}
	size := o.Size
	if size <= 0 {
		size = inputSize(r)
	}
	rd := newReader(r, size, o.MaxStringLen)
	d := &Decoder{r: rd, v: valueReader{r: rd}, opts: o, idle: -1, freq: -1}
	if o.ReuseStrings {
		d.keyBuf = make([]byte, 0, 64)
		d.strBuf = make([]byte, 0, 64)
	}
	return d
}

// inputSize returns the number of bytes left in r when r can tell, else -1.
func inputSize(r io.Reader) int64 {
	switch x := r.(type) {
	case interface{ Len() int }:
		return int64(x.Len())
	case *os.File:
		st, err := x.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return -1
		}
		pos, err := x.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return st.Size() - pos
	}
	return -1
}

// Version returns the RDB version from the header (0 before the first Next).
func (d *Decoder) Version() int { return d.version }

// Offset returns the number of input bytes consumed so far.
func (d *Decoder) Offset() int64 { return d.r.offset() }

// EmptyKeysSkipped returns how many keys holding empty aggregates were
// skipped (Redis skips them too, with a warning).
func (d *Decoder) EmptyKeysSkipped() int { return d.empty }

// Checksum returns the CRC64 stored at the end of the file (valid after Next
// returned io.EOF; 0 means the file was written without a checksum).
func (d *Decoder) Checksum() uint64 { return d.crc }

// readHeader reads and checks "REDIS" + 4 digit version.
func (d *Decoder) readHeader() error {
	var h [9]byte
	if err := d.r.readFull(h[:]); err != nil {
		return fmt.Errorf("rdb: reading header: %w", err)
	}
	if string(h[:5]) != "REDIS" {
		return ErrSignature
	}
	ver, err := strconv.Atoi(string(h[5:]))
	if err != nil || ver < 1 || ver > Version {
		// atoi semantics: leading digits only.
		n := 0
		for _, c := range h[5:] {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		return &VersionError{Version: n}
	}
	d.version = ver
	return nil
}

// Next returns the next record. At the end of the file it verifies the
// checksum and returns io.EOF. Errors are sticky.
func (d *Decoder) Next() (Record, error) {
	rec, err := d.NextRecord()
	if err != nil {
		return Record{}, err
	}
	return *rec, nil
}

// NextRecord is Next returning a record the decoder owns: it is valid
// until the next call, which overwrites it. A loader that handles each
// record at once saves the copies of the (large) Record.
func (d *Decoder) NextRecord() (*Record, error) {
	if d.err != nil {
		return nil, d.err
	}
	err := d.next(&d.rec)
	if err != nil {
		d.err = err
		d.r.flush() // the caller may go on reading after the RDB
		return nil, err
	}
	return &d.rec, nil
}

// fail wraps an error with the offset of the record being decoded.
func (d *Decoder) fail(start int64, format string, args ...any) error {
	return fmt.Errorf("rdb: at offset %d: %w", start, fmt.Errorf(format, args...))
}

func (d *Decoder) next(rec *Record) error {
	if d.done {
		return io.EOF
	}
	if d.version == 0 {
		if err := d.readHeader(); err != nil {
			return err
		}
	}
	for {
		start := d.r.offset()
		op, err := d.r.readByte()
		if err != nil {
			return d.fail(start, "reading opcode: %w", err)
		}
		switch op {
		case opEOF:
			return d.finish()
		case opExpireTime:
			p, err := d.r.readSmall(4)
			if err != nil {
				return d.fail(start, "reading expire time: %w", err)
			}
			secs := int32(uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24)
			d.expire = normalizeExpire(int64(secs) * 1000)
		case opExpireTimeMs:
			u, err := d.r.readUint64LE()
			if err != nil {
				return d.fail(start, "reading expire time: %w", err)
			}
			d.expire = normalizeExpire(int64(u))
		case opFreq:
			b, err := d.r.readByte()
			if err != nil {
				return d.fail(start, "reading LFU frequency: %w", err)
			}
			d.freq = int(b)
		case opIdle:
			n, err := d.r.readLen()
			if err != nil {
				return d.fail(start, "reading LRU idle time: %w", err)
			}
			d.idle = int64(n & (1<<63 - 1))
		case opSelectDB:
			n, err := d.r.readLen()
			if err != nil {
				return d.fail(start, "reading SELECTDB: %w", err)
			}
			if (d.opts.Databases > 0 && n >= uint64(d.opts.Databases)) || n > 1<<31-1 {
				return d.fail(start, "%w: SELECTDB %d: data file was created with a server configured to handle more databases", ErrLimit, n)
			}
			d.db = int(n)
			*rec = Record{Kind: RecordSelectDB, DB: d.db}
			return nil
		case opResizeDB:
			size, err := d.r.readLen()
			if err != nil {
				return d.fail(start, "reading RESIZEDB: %w", err)
			}
			exp, err := d.r.readLen()
			if err != nil {
				return d.fail(start, "reading RESIZEDB: %w", err)
			}
			*rec = Record{Kind: RecordResizeDB, DB: d.db, DBSize: size, ExpiresSize: exp}
			return nil
		case opAux:
			k, err := d.r.readString()
			if err != nil {
				return d.fail(start, "reading AUX key: %w", err)
			}
			v, err := d.r.readString()
			if err != nil {
				return d.fail(start, "reading AUX %q: %w", k, err)
			}
			*rec = Record{Kind: RecordAux, AuxKey: k, AuxValue: v}
			return nil
		case opModuleAux:
			id, err := d.r.readLen()
			if err != nil {
				return d.fail(start, "reading module aux: %w", err)
			}
			return d.fail(start, "%w: the RDB file contains AUX module data I can't load: no matching module '%s'", ErrUnsupported, moduleTypeName(id))
		case opFunction2:
			code, err := d.r.readString()
			if err != nil {
				return d.fail(start, "failed loading library payload: %w", err)
			}
			*rec = Record{Kind: RecordFunction, Function: code}
			return nil
		case opFunction:
			code, err := readOldFunction(d.r)
			if err != nil {
				return d.fail(start, "%w", err)
			}
			*rec = Record{Kind: RecordFunction, Function: code}
			return nil
		default:
			if !isObjectType(int(op)) && op != TypeSetListpack {
				return d.fail(start, "%w: unknown opcode or object type %d", ErrCorrupt, op)
			}
			var key []byte
			if d.opts.ReuseStrings {
				key, err = d.r.readStringBuf(&d.keyBuf)
			} else {
				key, err = d.r.readString()
			}
			if err != nil {
				return d.fail(start, "reading key: %w", err)
			}
			// The value is decoded in place: a Record is large, and a
			// load handles millions of them.
			e := &rec.Entry
			if op == TypeString {
				var str []byte
				var scratch *[]byte
				if d.opts.ReuseStrings {
					scratch = &d.strBuf
				}
				str, err = d.r.readStringBuf(scratch)
				e.Value = Value{Kind: KindString, Str: str}
			} else {
				e.Value, err = d.v.readValue(int(op))
			}
			expire, idle, freq := d.expire, d.idle, d.freq
			d.expire, d.idle, d.freq = 0, -1, -1
			if errors.Is(err, errEmptyKey) {
				d.empty++
				continue
			}
			if err != nil {
				return d.fail(start, "key %q (db %d, type %d): %w", truncKey(key), d.db, op, err)
			}
			e.DB, e.Key, e.ExpireMs, e.Idle, e.Freq = d.db, key, expire, idle, freq
			rec.Kind, rec.DB, rec.DBSize, rec.ExpiresSize = RecordEntry, 0, 0, 0
			rec.AuxKey, rec.AuxValue, rec.Function = nil, nil, nil
			return nil
		}
	}
}

// normalizeExpire maps stored expire times to Entry.ExpireMs (0 = none).
func normalizeExpire(ms int64) int64 {
	if ms <= 0 {
		return 1
	}
	return ms
}

// truncKey shortens a key for error messages.
func truncKey(k []byte) string {
	if len(k) > 64 {
		return string(k[:64]) + "..."
	}
	return string(k)
}

// readOldFunction reads a 7.0-rc FUNCTION record and converts it to the
// library source form Redis 7.0 uses.
func readOldFunction(r *reader) ([]byte, error) {
	name, err := r.readString()
	if err != nil {
		return nil, fmt.Errorf("failed loading library name: %w", err)
	}
	engine, err := r.readString()
	if err != nil {
		return nil, fmt.Errorf("failed loading engine name: %w", err)
	}
	hasDesc, err := r.readLen()
	if err != nil {
		return nil, fmt.Errorf("failed loading library description indicator: %w", err)
	}
	if hasDesc != 0 {
		if _, err := r.readString(); err != nil {
			return nil, fmt.Errorf("failed loading library description: %w", err)
		}
	}
	blob, err := r.readString()
	if err != nil {
		return nil, fmt.Errorf("failed loading library blob: %w", err)
	}
	out := make([]byte, 0, len(engine)+len(name)+len(blob)+10)
	out = append(out, "#!"...)
	out = append(out, engine...)
	out = append(out, " name="...)
	out = append(out, name...)
	out = append(out, '\n')
	return append(out, blob...), nil
}

// finish reads and verifies the checksum after the EOF opcode.
func (d *Decoder) finish() error {
	d.done = true
	if d.version < 5 {
		return io.EOF
	}
	expected := d.r.sum()
	stored, err := d.r.readUint64LE()
	if err != nil {
		return fmt.Errorf("rdb: reading checksum: %w", err)
	}
	d.crc = stored
	if stored != 0 && !d.opts.SkipChecksum && stored != expected {
		return fmt.Errorf("%w: expected %016x, file has %016x", ErrChecksum, expected, stored)
	}
	return io.EOF
}

// Walk decodes a whole RDB from r, calling fn for every record. It returns
// nil at the end of a valid file.
func Walk(r io.Reader, opts *DecoderOptions, fn func(*Record) error) error {
	d := NewDecoder(r, opts)
	for {
		rec, err := d.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(&rec); err != nil {
			return err
		}
	}
}
