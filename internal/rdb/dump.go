package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Dump serializes v as a DUMP payload: type byte, body, RDB version (u16 LE)
// and CRC64 (u64 LE) of everything before it. opts may be nil (default
// thresholds, LZF compression on).
func Dump(v *Value, opts *EncoderOptions) ([]byte, error) {
	var o EncoderOptions
	if opts != nil {
		o = *opts
	}
	w := newWriter(nil, !o.NoCompression)
	enc := valueEncoder{w: w, cfg: o.config()}
	t, err := enc.objectType(v)
	if err != nil {
		return nil, err
	}
	w.writeByte(t)
	if err := enc.writeValue(t, v); err != nil {
		return nil, err
	}
	return appendDumpFooter(w.buf), nil
}

// appendDumpFooter appends the version and checksum.
func appendDumpFooter(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, Version)
	return binary.LittleEndian.AppendUint64(b, CRC64(b))
}

// RestoreOptions configures Restore and RestoreFunctions. The zero value is
// usable.
type RestoreOptions struct {
	// SkipChecksum skips the CRC64 check (skip-checksum-validation).
	SkipChecksum bool
	// MaxStringLen bounds string lengths (0: DefaultMaxStringLen).
	MaxStringLen uint64
}

// verifyDump checks the payload footer (verifyDumpPayload) and returns the
// body and the payload's RDB version.
func verifyDump(p []byte, opts *RestoreOptions) ([]byte, int, error) {
	if len(p) < 10 {
		return nil, 0, ErrDumpPayload
	}
	footer := p[len(p)-10:]
	ver := int(binary.LittleEndian.Uint16(footer))
	if ver > Version {
		return nil, 0, ErrDumpPayload
	}
	if opts == nil || !opts.SkipChecksum {
		if CRC64(p[:len(p)-8]) != binary.LittleEndian.Uint64(footer[2:]) {
			return nil, 0, ErrDumpPayload
		}
	}
	return p[:len(p)-10], ver, nil
}

// Restore decodes a DUMP payload. Footer problems return ErrDumpPayload;
// body problems return an error wrapping ErrBadDataFormat and the cause (use
// errors.Is; reply to RESTORE with the sentinel's text). Empty aggregates and
// module values are refused like Redis does. Bytes after the value are
// ignored, as by Redis.
func Restore(payload []byte, opts *RestoreOptions) (Value, error) {
	body, _, err := verifyDump(payload, opts)
	if err != nil {
		return Value{}, err
	}
	var maxLen uint64
	if opts != nil {
		maxLen = opts.MaxStringLen
	}
	r := newReader(bytes.NewReader(body), int64(len(body)), maxLen)
	t, err := r.readByte()
	if err != nil {
		return Value{}, fmt.Errorf("%w: %w", ErrBadDataFormat, err)
	}
	if !isObjectType(int(t)) {
		return Value{}, fmt.Errorf("%w: invalid object type %d", ErrBadDataFormat, t)
	}
	v := valueReader{r: r}
	val, err := v.readValue(int(t))
	if err != nil {
		return Value{}, fmt.Errorf("%w: %w", ErrBadDataFormat, err)
	}
	return val, nil
}

// DumpFunctions builds a FUNCTION DUMP payload from library sources.
func DumpFunctions(libs [][]byte, opts *EncoderOptions) []byte {
	compress := opts == nil || !opts.NoCompression
	w := newWriter(nil, compress)
	for _, code := range libs {
		w.writeByte(opFunction2)
		w.writeString(code)
	}
	return appendDumpFooter(w.buf)
}

// Errors of RestoreFunctions, worded as FUNCTION RESTORE replies.
var (
	ErrFunctionType    = errors.New("ERR given type is not a function")
	ErrFunctionReadTyp = errors.New("ERR can not read data type")
	ErrFunctionPayload = errors.New("ERR Failed loading library payload")
)

// RestoreFunctions decodes a FUNCTION DUMP payload into library sources.
// Footer problems return ErrDumpPayload; a record that is not a function
// returns ErrFunctionType.
func RestoreFunctions(payload []byte, opts *RestoreOptions) ([][]byte, error) {
	body, _, err := verifyDump(payload, opts)
	if err != nil {
		return nil, err
	}
	var maxLen uint64
	if opts != nil {
		maxLen = opts.MaxStringLen
	}
	r := newReader(bytes.NewReader(body), int64(len(body)), maxLen)
	var libs [][]byte
	for r.offset() < int64(len(body)) {
		t, err := r.readByte()
		if err != nil {
			return nil, ErrFunctionReadTyp
		}
		var code []byte
		switch t {
		case opFunction2:
			if code, err = r.readString(); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrFunctionPayload, err)
			}
		case opFunction:
			if code, err = readOldFunction(r); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrFunctionPayload, err)
			}
		default:
			return nil, ErrFunctionType
		}
		libs = append(libs, code)
	}
	return libs, nil
}
