package rdb

// Config holds the server settings that decide how values are encoded.
type Config struct {
	HashMaxListpackEntries int // hash-max-listpack-entries
	HashMaxListpackValue   int // hash-max-listpack-value
	ZSetMaxListpackEntries int // zset-max-listpack-entries
	ZSetMaxListpackValue   int // zset-max-listpack-value
	SetMaxIntsetEntries    int // set-max-intset-entries
	ListMaxListpackSize    int // list-max-listpack-size (negative: size class)
	StreamNodeMaxBytes     int // stream-node-max-bytes (0: no limit)
	StreamNodeMaxEntries   int // stream-node-max-entries (0: no limit)
}

// DefaultConfig returns redis-server 7.0.15's built-in defaults.
func DefaultConfig() Config {
	return Config{
		HashMaxListpackEntries: 512,
		HashMaxListpackValue:   64,
		ZSetMaxListpackEntries: 128,
		ZSetMaxListpackValue:   64,
		SetMaxIntsetEntries:    512,
		ListMaxListpackSize:    -2,
		StreamNodeMaxBytes:     4096,
		StreamNodeMaxEntries:   100,
	}
}

// EncoderOptions configures Encoder and Dump. The zero value writes like a
// default redis-server 7.0.15.
type EncoderOptions struct {
	// Config holds the encoding thresholds; nil means DefaultConfig().
	Config *Config
	// NoCompression disables LZF (rdbcompression no).
	NoCompression bool
	// NoChecksum writes a zero checksum (rdbchecksum no).
	NoChecksum bool
	// SaveIdle writes each entry's Idle (Redis does with an LRU
	// maxmemory-policy); SaveFreq writes Freq (LFU policies).
	SaveIdle bool
	SaveFreq bool
}

func (o *EncoderOptions) config() Config {
	if o == nil || o.Config == nil {
		return DefaultConfig()
	}
	return *o.Config
}
