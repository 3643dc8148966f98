// Package rdb encodes and decodes Redis 7.0's RDB persistence format
// (version 10) and the DUMP/RESTORE payload format.
//
// The package is self-contained: it works on neutral value types (Value,
// Entry) rather than on the store's own types, so that the server can convert
// in both directions with whatever representation it prefers.
//
// Decoding is streaming (Decoder reads an io.Reader record by record and never
// holds the whole input in memory); every length read from the input is
// checked against configurable limits and, when the input size is known,
// against the bytes left. Encoding (Encoder) writes what redis-server 7.0.15
// writes: header "REDIS0010", the same aux fields, the same object encodings
// chosen with the same thresholds, EOF and the CRC-64/Jones checksum.
//
// DUMP payloads are produced by Dump and read by Restore; FUNCTION DUMP
// payloads by DumpFunctions and RestoreFunctions.
package rdb
