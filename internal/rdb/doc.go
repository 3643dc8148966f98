// Package rdb encodes and decodes Redis 7.0's RDB persistence format
// (version 10) and the DUMP/RESTORE payload format.
//
// The package is self-contained: it works on neutral value types (Value,
// Entry) rather than on the store's own types, so that the server can convert
// in both directions with whatever representation it prefers.
//
// Decoding is streaming: Decoder reads an io.Reader record by record (aux
// fields, function libraries, SELECTDB, RESIZEDB, keys) and never holds the
// whole input in memory. Every length read from the input is checked against
// limits and, when the input size is known, against the bytes left; errors
// wrap ErrCorrupt, ErrLimit, ErrUnsupported, ErrChecksum or
// io.ErrUnexpectedEOF. Given a *bufio.Reader the decoder consumes exactly the
// RDB, so a replica can decode a full-sync payload straight from the master
// connection and keep reading the command stream (or the $EOF: mark) after
// it:
//
//	d := rdb.NewDecoder(br, &rdb.DecoderOptions{Size: n, Databases: 16})
//	for {
//		rec, err := d.Next()
//		if err == io.EOF {
//			break // checksum verified
//		}
//		if err != nil {
//			return err
//		}
//		switch rec.Kind {
//		case rdb.RecordEntry:
//			// rec.Entry.DB, .Key, .Value, .ExpireMs
//		case rdb.RecordFunction:
//			// rec.Function holds a library's source
//		}
//	}
//
// NextRecord is Next without copying the Record: the decoder's own, valid
// until the next call (loaders of millions of keys use it).
//
// Encoder writes what redis-server 7.0.15 writes: header "REDIS0010", the
// same aux fields, the same object encodings chosen with the same thresholds
// (Config), quicklist and stream nodes split the same way, EOF and the
// CRC-64/Jones checksum:
//
//	enc := rdb.NewEncoder(w, nil)
//	enc.WriteHeader(&rdb.Header{UsedMem: used})
//	enc.WriteFunction(librarySource)
//	enc.SelectDB(0, keys, expires)
//	enc.WriteEntry(&rdb.Entry{Key: k, Value: v, ExpireMs: at})
//	err := enc.Close()
//
// DUMP payloads are produced by Dump and read by Restore (ErrDumpPayload and
// ErrBadDataFormat carry RESTORE's error replies); FUNCTION DUMP payloads by
// DumpFunctions and RestoreFunctions.
package rdb
