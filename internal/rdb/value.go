package rdb

// Kind is the logical type of a value.
type Kind uint8

// Value kinds.
const (
	KindString Kind = iota
	KindList
	KindSet
	KindZSet
	KindHash
	KindStream
)

// String returns the name TYPE reports for the kind.
func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindList:
		return "list"
	case KindSet:
		return "set"
	case KindZSet:
		return "zset"
	case KindHash:
		return "hash"
	case KindStream:
		return "stream"
	}
	return "unknown"
}

// Encoding says how an aggregate is (or should be) stored.
//
// On decode it reports the form found in the input: EncodingCompact for
// intset/listpack/ziplist/zipmap forms, EncodingTable for the hash table and
// skiplist forms (SET, HASH, ZSET, ZSET_2). It is only a description of the
// input: Redis itself re-applies its thresholds after loading.
//
// On encode EncodingAuto picks the form with Redis's thresholds (Config);
// EncodingCompact forces intset/listpack when representable and
// EncodingTable forces the hash table/skiplist form, so that a store whose
// object was converted (conversions are one-way in Redis) is written the way
// Redis would write it.
type Encoding uint8

// Encodings.
const (
	EncodingAuto Encoding = iota
	EncodingCompact
	EncodingTable
)

// FieldValue is one hash field.
type FieldValue struct {
	Field []byte
	Value []byte
}

// ScoredMember is one sorted set member.
type ScoredMember struct {
	Member []byte
	Score  float64
}

// Value is a neutral representation of a Redis value. Only the fields of its
// Kind are meaningful. Aggregates keep the order of the input: lists in list
// order, hashes in listpack (insertion) order, zsets as stored (ascending for
// listpacks, descending for ZSET_2), sets as stored (ascending for intsets).
//
// Byte slices of a decoded value may share backing arrays with each other
// (their capacity is clipped, so appending to one never clobbers another);
// the encoder never modifies or retains the slices it is given.
type Value struct {
	Kind     Kind
	Encoding Encoding

	Str    []byte         // KindString
	List   [][]byte       // KindList
	Set    [][]byte       // KindSet
	Hash   []FieldValue   // KindHash
	ZSet   []ScoredMember // KindZSet
	Stream *Stream        // KindStream
}

// Len returns the number of elements of an aggregate (the string length for
// strings, the number of entries for streams).
func (v *Value) Len() int {
	switch v.Kind {
	case KindString:
		return len(v.Str)
	case KindList:
		return len(v.List)
	case KindSet:
		return len(v.Set)
	case KindHash:
		return len(v.Hash)
	case KindZSet:
		return len(v.ZSet)
	case KindStream:
		if v.Stream == nil {
			return 0
		}
		return len(v.Stream.Entries)
	}
	return 0
}

// StreamID is a stream entry ID.
type StreamID struct {
	Ms  uint64
	Seq uint64
}

// StreamEntry is one live stream entry; Fields holds field, value, field,
// value...
type StreamEntry struct {
	ID     StreamID
	Fields [][]byte
}

// StreamPending is an entry of a consumer group's pending entries list.
type StreamPending struct {
	ID            StreamID
	DeliveryTime  int64 // unix ms of the last delivery
	DeliveryCount uint64
}

// StreamConsumer is a consumer of a group.
type StreamConsumer struct {
	Name     []byte
	SeenTime int64      // unix ms
	Pending  []StreamID // its entries; each must be in the group's Pending
}

// StreamGroup is a consumer group.
type StreamGroup struct {
	Name        []byte
	LastID      StreamID
	EntriesRead int64 // -1 when unknown (SCG_INVALID_ENTRIES_READ)
	Pending     []StreamPending
	Consumers   []StreamConsumer
}

// Stream is a stream value: its live entries in ID order and metadata.
type Stream struct {
	Entries      []StreamEntry
	LastID       StreamID
	FirstID      StreamID // 0-0 when empty
	MaxDeletedID StreamID
	EntriesAdded uint64
	Groups       []StreamGroup
}

// Entry is one key of a database.
type Entry struct {
	DB    int
	Key   []byte
	Value Value
	// ExpireMs is the absolute expire time in unix milliseconds, 0 when the
	// key has no TTL. A stored expire time <= 0 (long past) decodes as 1.
	ExpireMs int64
	// Idle is the LRU idle time in seconds, -1 when absent. It is written
	// only when EncoderOptions.SaveIdle is set (Redis: an LRU policy).
	Idle int64
	// Freq is the LFU counter, -1 when absent. It is written only when
	// EncoderOptions.SaveFreq is set (Redis: an LFU policy).
	Freq int
}
