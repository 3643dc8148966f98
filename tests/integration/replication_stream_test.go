package integration

// Differential test of what a master propagates: the same commands run on
// redis-server 7.0.15 and on bin/redcluster, each watched by a raw replica
// connection (replication_helpers_test.go), must produce the same command
// stream: the rewritten forms that make a replica independent of clocks
// and random choices (SET ... PXAT, PEXPIREAT, SREM for SPOP, LPOP for
// BLPOP ...), nothing for a write that changed nothing, and the same
// database for every command.

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redcluster/redcluster/internal/testutil"
)

// A step of a stream case is a command sent on the main client, unless its
// first element is "@N" (sent on client N, reply read) or "&N" (sent on
// client N without reading the reply: a blocking command that blocks; the
// step ends once the server counts one more blocked client). Clients still
// blocked at the end of the case are released with CLIENT UNBLOCK.
//
// Arguments may hold {exat} (a time an hour ahead, Unix seconds), {exatms}
// (the same in ms) and {pxat} (a time an hour ahead in ms).
type streamCase struct {
	name  string
	setup [][]string // run after FLUSHALL; their stream is not compared
	steps [][]string
	// want is the expected stream (commands without their db, arguments
	// separated by one space). "<T>" stands for an absolute time in ms,
	// "?" for any argument. nil skips this check; the streams of both
	// servers are compared in any case.
	want []string
	// mask hides the members of SREM (what a random pop took).
	mask bool
}

func streamCases() []streamCase {
	return []streamCase{
		// --- strings ---
		{name: "SET EX", steps: [][]string{{"SET", "k", "v", "EX", "100"}}, want: []string{"SET k v PXAT <T>"}},
		{name: "SET px nx", steps: [][]string{{"set", "k", "v", "px", "100000", "nx"}}, want: []string{"SET k v PXAT <T>"}},
		{name: "SET EXAT", steps: [][]string{{"SET", "k", "v", "EXAT", "{exat}"}}, want: []string{"SET k v PXAT {exatms}"}},
		{name: "SET PXAT XX GET", setup: [][]string{{"SET", "k", "old"}},
			steps: [][]string{{"SET", "k", "v", "pxat", "{pxat}", "XX", "GET"}}, want: []string{"SET k v PXAT {pxat}"}},
		{name: "SET EXAT past", steps: [][]string{{"SET", "k", "v", "EXAT", "1"}, {"DEL", "k"}},
			want: []string{"SET k v PXAT 1000", "DEL k"}},
		{name: "SET GET", setup: [][]string{{"SET", "k", "old"}},
			steps: [][]string{{"SET", "k", "v", "GET"}, {"set", "k", "v2", "get", "keepttl"}, {"SET", "k", "v3", "GET", "get"}},
			want:  []string{"SET k v", "set k v2 keepttl", "SET k v3"}},
		{name: "SET not done", setup: [][]string{{"SET", "k", "v"}},
			steps: [][]string{{"SET", "k", "v2", "NX", "EX", "10"}, {"SET", "k", "v2", "NX", "GET"}, {"SET", "missing", "v", "XX"},
				{"SET", "k", "v", "EX", "0"}, {"SET", "k", "v", "EX", "abc"}},
			want: []string{}},
		{name: "SET KEEPTTL", setup: [][]string{{"SET", "k", "v", "EX", "100"}},
			steps: [][]string{{"SET", "k", "v2", "KEEPTTL"}, {"SET", "k", "v3"}}, want: []string{"SET k v2 KEEPTTL", "SET k v3"}},
		{name: "SETEX PSETEX", steps: [][]string{{"SETEX", "k", "100", "v"}, {"psetex", "k2", "100000", "v2"}, {"SETEX", "k", "-1", "v"}},
			want: []string{"SET k v PXAT <T>", "SET k2 v2 PXAT <T>"}},
		{name: "SETNX", setup: [][]string{{"SET", "a", "1"}}, steps: [][]string{{"SETNX", "a", "2"}, {"SETNX", "b", "2"}},
			want: []string{"SETNX b 2"}},
		{name: "GETSET", setup: [][]string{{"SET", "k", "1", "EX", "100"}},
			steps: [][]string{{"GETSET", "k", "2"}, {"getset", "n", "3"}}, want: []string{"SET k 2", "SET n 3"}},
		{name: "GETDEL", setup: [][]string{{"SET", "k", "v"}, {"LPUSH", "l", "a"}},
			steps: [][]string{{"GETDEL", "k"}, {"GETDEL", "k"}, {"GETDEL", "missing"}, {"GETDEL", "l"}}, want: []string{"DEL k"}},
		{name: "GETEX EX PX", setup: [][]string{{"SET", "k", "v"}},
			steps: [][]string{{"GETEX", "k", "EX", "100"}, {"getex", "k", "px", "100000"}},
			want:  []string{"PEXPIREAT k <T>", "PEXPIREAT k <T>"}},
		{name: "GETEX EXAT PXAT", setup: [][]string{{"SET", "k", "v"}},
			steps: [][]string{{"GETEX", "k", "EXAT", "{exat}"}, {"GETEX", "k", "PXAT", "{pxat}"}},
			want:  []string{"PEXPIREAT k {exatms}", "PEXPIREAT k {pxat}"}},
		{name: "GETEX PERSIST", setup: [][]string{{"SET", "k", "v", "EX", "100"}, {"SET", "n", "v"}},
			steps: [][]string{{"GETEX", "k", "PERSIST"}, {"GETEX", "k", "PERSIST"}, {"GETEX", "n", "persist"}, {"GETEX", "n"}},
			want:  []string{"PERSIST k"}},
		{name: "GETEX past", setup: [][]string{{"SET", "k", "v"}, {"SET", "k2", "v"}},
			steps: [][]string{{"GETEX", "k", "EXAT", "1"}, {"GETEX", "k2", "PXAT", "1"}}, want: []string{"DEL k", "DEL k2"}},
		{name: "GETEX no change", setup: [][]string{{"LPUSH", "l", "a"}, {"SET", "k", "v"}},
			steps: [][]string{{"GETEX", "missing", "EX", "10"}, {"GETEX", "l", "EX", "10"}, {"GETEX", "k", "EX", "0"}}, want: []string{}},
		{name: "INCRBYFLOAT", setup: [][]string{{"SET", "k", "10", "EX", "100"}},
			steps: [][]string{{"INCRBYFLOAT", "k", "1.5"}, {"incrbyfloat", "n", "3.0e3"}, {"INCRBYFLOAT", "k", "-0.25"}, {"INCRBYFLOAT", "k", "abc"}},
			want:  []string{"SET k 11.5 KEEPTTL", "SET n 3000 KEEPTTL", "SET k 11.25 KEEPTTL"}},
		{name: "string writes", steps: [][]string{
			{"SET", "a", "1"}, {"APPEND", "a", "23"}, {"APPEND", "new", "x"}, {"SETRANGE", "a", "1", "x"}, {"SETRANGE", "a", "0", ""},
			{"SETRANGE", "r", "3", "x"}, {"SET", "n", "5"}, {"INCR", "n"}, {"DECR", "n"}, {"INCRBY", "n", "10"}, {"DECRBY", "n", "3"},
			{"INCR", "a"}, {"MSET", "a", "1", "b", "2"}, {"MSETNX", "a", "1", "c", "3"}, {"MSETNX", "c", "3", "d", "4"},
			{"SETBIT", "bits", "7", "1"}, {"SETBIT", "bits", "7", "1"}, {"SETBIT", "bits", "100", "0"},
			{"BITFIELD", "bf", "SET", "u8", "0", "255", "GET", "u8", "0"}, {"BITFIELD", "bf", "GET", "u8", "0"},
			{"BITFIELD", "bf", "INCRBY", "u8", "0", "0"}, {"BITOP", "OR", "dst", "a", "b"}, {"BITOP", "AND", "dst", "nope1", "nope2"},
		}},

		// --- generic ---
		{name: "EXPIRE family", setup: [][]string{{"SET", "k", "v"}},
			steps: [][]string{{"EXPIRE", "k", "100"}, {"PEXPIRE", "k", "100000"}, {"EXPIREAT", "k", "{exat}"}, {"pexpireat", "k", "{pxat}"}},
			want:  []string{"PEXPIREAT k <T>", "PEXPIREAT k <T>", "PEXPIREAT k {exatms}", "pexpireat k {pxat}"}},
		{name: "EXPIRE options", setup: [][]string{{"SET", "k", "v"}},
			steps: [][]string{{"EXPIRE", "k", "100", "NX"}, {"EXPIRE", "k", "200", "nx"}, {"EXPIRE", "k", "200", "GT"},
				{"EXPIRE", "k", "50", "LT"}, {"EXPIRE", "k", "500", "XX"}, {"PEXPIRE", "k", "1000000", "xx", "gt"},
				{"PEXPIREAT", "k", "{pxat}", "GT"}, {"EXPIRE", "k", "10", "GT"}},
			want: []string{"PEXPIREAT k <T> NX", "PEXPIREAT k <T> GT", "PEXPIREAT k <T> LT", "PEXPIREAT k <T> XX",
				"PEXPIREAT k <T> xx gt", "PEXPIREAT k {pxat} GT"}},
		{name: "EXPIRE past", setup: [][]string{{"SET", "a", "v"}, {"SET", "b", "v"}, {"SET", "c", "v"}, {"SET", "d", "v"}},
			steps: [][]string{{"EXPIRE", "a", "-1"}, {"PEXPIRE", "b", "0"}, {"EXPIREAT", "c", "1"}, {"PEXPIREAT", "d", "1"},
				{"EXPIRE", "missing", "10"}, {"EXPIRE", "a", "10"}},
			want: []string{"DEL a", "DEL b", "DEL c", "DEL d"}},
		{name: "PERSIST", setup: [][]string{{"SET", "k", "v", "EX", "100"}, {"SET", "n", "v"}},
			steps: [][]string{{"PERSIST", "k"}, {"PERSIST", "k"}, {"PERSIST", "n"}, {"PERSIST", "missing"}}, want: []string{"PERSIST k"}},
		{name: "key writes", setup: [][]string{{"SET", "a", "1"}, {"SET", "b", "2"}, {"SET", "c", "3"}, {"SET", "f", "1"}},
			steps: [][]string{{"DEL", "a", "missing"}, {"UNLINK", "b"}, {"DEL", "missing"}, {"RENAME", "c", "d"}, {"RENAMENX", "d", "e"},
				{"RENAMENX", "e", "f"}, {"RENAME", "e", "e"}, {"COPY", "e", "g"}, {"COPY", "e", "g"}, {"COPY", "e", "g", "REPLACE"},
				{"COPY", "e", "h", "DB", "2"}, {"MOVE", "g", "1"}, {"MOVE", "missing", "1"}, {"SWAPDB", "0", "1"}, {"FLUSHDB"}},
			want: []string{"DEL a missing", "UNLINK b", "RENAME c d", "RENAMENX d e", "COPY e g", "COPY e g REPLACE",
				"COPY e h DB 2", "MOVE g 1", "SWAPDB 0 1", "FLUSHDB"}},
		{name: "FLUSHALL empty", steps: [][]string{{"FLUSHALL"}}, want: []string{"FLUSHALL"}},
		{name: "SELECT placement", steps: [][]string{{"SET", "a", "1"}, {"SELECT", "2"}, {"SET", "b", "2"}, {"SET", "c", "3"},
			{"SELECT", "0"}, {"SET", "d", "4"}, {"MULTI"}, {"SET", "e", "5"}, {"SELECT", "3"}, {"SET", "f", "6"}, {"EXEC"},
			{"SET", "g", "7"}, {"SELECT", "0"}}},

		// --- hashes ---
		{name: "hash writes", steps: [][]string{{"HSET", "h", "a", "1", "b", "2"}, {"HSET", "h", "a", "1"}, {"HSETNX", "h", "a", "2"},
			{"HSETNX", "h", "c", "3"}, {"HMSET", "h", "d", "4"}, {"HINCRBY", "h", "n", "5"}, {"HDEL", "h", "a", "missing"},
			{"HDEL", "h", "missing"}, {"HDEL", "nokey", "a"}, {"HINCRBY", "h", "a", "x"}}},
		{name: "HINCRBYFLOAT", setup: [][]string{{"HSET", "h", "n", "5", "s", "abc"}},
			steps: [][]string{{"HINCRBYFLOAT", "h", "f", "1.5"}, {"hincrbyfloat", "h", "f", "2.5e2"}, {"HINCRBYFLOAT", "h", "n", "0.5"},
				{"HINCRBYFLOAT", "h", "s", "1"}, {"HINCRBYFLOAT", "new", "f", "-1"}},
			want: []string{"HSET h f 1.5", "HSET h f 251.5", "HSET h n 5.5", "HSET new f -1"}},

		// --- lists ---
		{name: "list writes", steps: [][]string{{"RPUSH", "l", "a", "b", "c", "d", "e"}, {"LPUSH", "l", "z"}, {"LPUSHX", "l", "y"},
			{"LPUSHX", "missing", "y"}, {"RPUSHX", "missing", "y"}, {"LPOP", "l"}, {"RPOP", "l", "2"}, {"LPOP", "l", "0"},
			{"LPOP", "missing"}, {"LSET", "l", "0", "q"}, {"LINSERT", "l", "BEFORE", "q", "w"}, {"LINSERT", "l", "BEFORE", "nope", "w"},
			{"LREM", "l", "0", "w"}, {"LREM", "l", "0", "nope"}, {"LMOVE", "l", "m", "LEFT", "RIGHT"}, {"RPOPLPUSH", "l", "m"},
			{"LMOVE", "missing", "m", "LEFT", "LEFT"}, {"LMOVE", "m", "m", "LEFT", "RIGHT"}}},
		{name: "LTRIM", setup: [][]string{{"RPUSH", "l", "a", "b", "c"}},
			steps: [][]string{{"LTRIM", "l", "0", "-1"}, {"LTRIM", "l", "0", "1"}, {"LTRIM", "missing", "0", "1"}, {"LTRIM", "l", "5", "1"}},
			want:  []string{"LTRIM l 0 1", "LTRIM l 5 1"}},
		{name: "BLPOP BRPOP at once", setup: [][]string{{"RPUSH", "l", "a", "b", "c"}, {"RPUSH", "l2", "x"}},
			steps: [][]string{{"BLPOP", "missing", "l", "0"}, {"BRPOP", "l", "0"}, {"blpop", "l2", "0"}},
			want:  []string{"LPOP l", "RPOP l", "LPOP l2"}},
		{name: "BLMOVE BRPOPLPUSH at once", setup: [][]string{{"RPUSH", "a", "1", "2", "3"}, {"SET", "str", "x"}},
			steps: [][]string{{"BLMOVE", "a", "b", "LEFT", "RIGHT", "0"}, {"blmove", "a", "b", "right", "left", "0"},
				{"BRPOPLPUSH", "a", "c", "0"}, {"BLMOVE", "c", "str", "LEFT", "LEFT", "0"}},
			want: []string{"LMOVE a b LEFT RIGHT", "LMOVE a b right left", "RPOPLPUSH a c"}},
		{name: "LMPOP BLMPOP at once", setup: [][]string{{"RPUSH", "l", "a", "b", "c", "d", "e", "f"}},
			steps: [][]string{{"LMPOP", "2", "missing", "l", "LEFT"}, {"LMPOP", "1", "l", "RIGHT", "COUNT", "2"},
				{"BLMPOP", "0", "1", "l", "left", "count", "10"}, {"LMPOP", "1", "l", "LEFT"}},
			want: []string{"LPOP l 1", "RPOP l 2", "LPOP l 3"}},

		// --- sets ---
		{name: "set writes", steps: [][]string{{"SADD", "s", "a", "b", "c"}, {"SADD", "s", "a"}, {"SREM", "s", "a", "missing"},
			{"SREM", "s", "missing"}, {"SMOVE", "s", "t", "b"}, {"SMOVE", "s", "t", "nope"}, {"SADD", "u", "1", "2", "3"},
			{"SINTERSTORE", "x", "s", "t"}, {"SUNIONSTORE", "y", "s", "t", "u"}, {"SDIFFSTORE", "w", "u", "s"},
			{"SINTERSTORE", "x", "missing", "s"}, {"SINTERSTORE", "x", "missing", "s"}, {"SMOVE", "u", "u", "1"}}},
		{name: "SPOP one", setup: [][]string{{"SADD", "s", "only"}, {"SADD", "i", "7"}},
			steps: [][]string{{"SPOP", "s"}, {"SPOP", "i"}, {"SPOP", "missing"}},
			want:  []string{"SREM s only", "SREM i 7"}},
		{name: "SPOP whole set", setup: [][]string{{"SADD", "s", "a", "b", "c"}, {"SADD", "t", "1", "2"}},
			steps: [][]string{{"SPOP", "t", "0"}, {"SPOP", "s", "3"}, {"SPOP", "t", "5"}, {"SPOP", "missing", "2"}},
			want:  []string{"DEL s", "DEL t"}},
		{name: "SPOP count", setup: [][]string{{"SADD", "s", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"},
			{"SADD", "r", "a", "b"}, {"SADD", "n", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, {"SADD", "i2", "7", "8"}},
			steps: [][]string{{"SPOP", "s", "3"}, {"SPOP", "s", "6"}, {"SPOP", "r", "1"}, {"SPOP", "i2"}, {"SPOP", "n", "8"}},
			want: []string{"MULTI", "SREM s ?", "SREM s ?", "SREM s ?", "EXEC",
				"MULTI", "SREM s ?", "SREM s ?", "SREM s ?", "SREM s ?", "SREM s ?", "SREM s ?", "EXEC", "SREM r ?", "SREM i2 ?",
				"MULTI", "SREM n ?", "SREM n ?", "SREM n ?", "SREM n ?", "SREM n ?", "SREM n ?", "SREM n ?", "SREM n ?", "EXEC"},
			mask: true},
		{name: "random reads", setup: [][]string{{"SADD", "s", "a", "b", "c"}, {"ZADD", "z", "1", "a", "2", "b"}, {"HSET", "h", "a", "1", "b", "2"}},
			steps: [][]string{{"SRANDMEMBER", "s"}, {"SRANDMEMBER", "s", "-5"}, {"ZRANDMEMBER", "z", "2", "WITHSCORES"},
				{"HRANDFIELD", "h", "-3"}, {"SRANDMEMBER", "missing"}},
			want: []string{}},

		// --- sorted sets ---
		{name: "zset writes", steps: [][]string{{"ZADD", "z", "1", "a", "2", "b"}, {"ZADD", "z", "1", "a"}, {"ZADD", "z", "NX", "5", "a"},
			{"ZADD", "z", "XX", "CH", "5", "a"}, {"ZADD", "z", "GT", "1", "a"}, {"ZADD", "z", "INCR", "2", "a"}, {"ZINCRBY", "z", "1.5", "b"},
			{"ZADD", "z", "XX", "1", "missing"}, {"ZREM", "z", "a", "missing"}, {"ZREM", "z", "missing"}, {"ZPOPMIN", "z", "5"},
			{"ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"}, {"ZREMRANGEBYRANK", "z", "0", "0"}, {"ZREMRANGEBYSCORE", "z", "100", "200"},
			{"ZREMRANGEBYSCORE", "z", "2", "2"}, {"ZREMRANGEBYLEX", "z", "[a", "[b"}, {"ZRANGESTORE", "dst", "z", "0", "-1"},
			{"ZRANGESTORE", "dst2", "missing", "0", "-1"}, {"ZUNIONSTORE", "u", "2", "z", "dst"}, {"ZINTERSTORE", "i", "2", "z", "dst"},
			{"ZDIFFSTORE", "d", "2", "z", "dst"}, {"ZPOPMAX", "z"}, {"ZPOPMIN", "z", "0"}, {"ZPOPMIN", "missing"}}},
		{name: "zset pops at once", setup: [][]string{{"ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"}, {"ZADD", "y", "1", "a", "2", "b"}},
			steps: [][]string{{"BZPOPMIN", "z", "0"}, {"bzpopmax", "missing", "z", "0"}, {"ZMPOP", "1", "z", "MIN"},
				{"ZMPOP", "2", "missing", "z", "max", "COUNT", "10"}, {"BZMPOP", "0", "1", "y", "MAX", "COUNT", "1"}, {"ZMPOP", "1", "z", "MIN"}},
			want: []string{"ZPOPMIN z", "ZPOPMAX z", "ZPOPMIN z 1", "ZPOPMAX z 2", "ZPOPMAX y 1"}},

		// --- blocked clients served later ---
		{name: "BLPOP served", steps: [][]string{{"&1", "BLPOP", "l", "0"}, {"RPUSH", "l", "a", "b"}},
			want: []string{"RPUSH l a b", "LPOP l"}},
		{name: "BRPOP served", steps: [][]string{{"&1", "BRPOP", "x", "l", "0"}, {"LPUSH", "l", "a"}},
			want: []string{"LPUSH l a", "RPOP l"}},
		{name: "BLMOVE served", steps: [][]string{{"&1", "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"}, {"RPUSH", "src", "a", "b"}},
			want: []string{"RPUSH src a b", "LMOVE src dst right left"}},
		{name: "BRPOPLPUSH served", steps: [][]string{{"&1", "BRPOPLPUSH", "src", "dst", "0"}, {"LPUSH", "src", "a"}},
			want: []string{"LPUSH src a", "RPOPLPUSH src dst"}},
		{name: "BLMPOP served", steps: [][]string{{"&1", "BLMPOP", "0", "2", "x", "l", "RIGHT", "COUNT", "5"}, {"RPUSH", "l", "a", "b", "c"}},
			want: []string{"RPUSH l a b c", "RPOP l 3"}},
		{name: "BZPOPMIN served", steps: [][]string{{"&1", "BZPOPMIN", "z", "0"}, {"ZADD", "z", "1", "a", "2", "b"}},
			want: []string{"ZADD z 1 a 2 b", "ZPOPMIN z"}},
		{name: "BZPOPMAX served", steps: [][]string{{"&1", "BZPOPMAX", "y", "z", "0"}, {"ZADD", "z", "1", "a", "2", "b"}},
			want: []string{"ZADD z 1 a 2 b", "ZPOPMAX z"}},
		{name: "BZMPOP served", steps: [][]string{{"&1", "BZMPOP", "0", "1", "z", "MAX", "COUNT", "10"}, {"ZADD", "z", "1", "a", "2", "b"}},
			want: []string{"ZADD z 1 a 2 b", "ZPOPMAX z 2"}},
		{name: "two blocked one element", steps: [][]string{{"&1", "BLPOP", "l", "0"}, {"&2", "BLPOP", "l", "0"}, {"RPUSH", "l", "a"}},
			want: []string{"RPUSH l a", "LPOP l"}},
		{name: "BLMOVE served wrong type", setup: [][]string{{"SET", "dst", "x"}},
			steps: [][]string{{"&1", "BLMOVE", "src", "dst", "LEFT", "LEFT", "0"}, {"RPUSH", "src", "a"}},
			want:  []string{"RPUSH src a"}},
		{name: "served after EXEC", steps: [][]string{{"&1", "BLPOP", "l", "0"}, {"MULTI"}, {"RPUSH", "l", "a"}, {"RPUSH", "l", "b"}, {"EXEC"}},
			want: []string{"MULTI", "RPUSH l a", "RPUSH l b", "EXEC", "LPOP l"}},
		{name: "served chain", steps: [][]string{{"&1", "BLPOP", "dst", "0"}, {"&2", "BLMOVE", "src", "dst", "LEFT", "LEFT", "0"},
			{"RPUSH", "src", "a"}},
			want: []string{"RPUSH src a", "LMOVE src dst left left", "LPOP dst"}},
		{name: "served in db 1", steps: [][]string{{"@1", "SELECT", "1"}, {"&1", "BLPOP", "l", "0"}, {"SET", "x", "1"}, {"SELECT", "1"},
			{"RPUSH", "l", "a"}}},

		// --- transactions, pub/sub ---
		{name: "MULTI EXEC", setup: [][]string{{"RPUSH", "l", "a", "b"}},
			steps: [][]string{{"MULTI"}, {"SET", "a", "1"}, {"INCR", "a"}, {"EXPIRE", "a", "100"}, {"GET", "a"}, {"EXEC"},
				{"MULTI"}, {"SET", "b", "1"}, {"GET", "b"}, {"EXEC"}, {"MULTI"}, {"GET", "a"}, {"EXEC"},
				{"MULTI"}, {"BLPOP", "l", "0"}, {"BLPOP", "missing", "0"}, {"EXEC"},
				{"MULTI"}, {"BRPOP", "l", "0"}, {"SETEX", "x", "100", "v"}, {"EXEC"}},
			want: []string{"MULTI", "SET a 1", "INCR a", "PEXPIREAT a <T>", "EXEC", "SET b 1", "LPOP l",
				"MULTI", "RPOP l", "SET x v PXAT <T>", "EXEC"}},
		// A key found expired inside EXEC is deleted inside the MULTI
		// block, in order with the commands (lazy expiry's DEL).
		{name: "expiry in MULTI",
			steps: [][]string{{"MULTI"}, {"SET", "k", "v", "PXAT", "1"}, {"GET", "k"}, {"SET", "a", "1"}, {"EXEC"},
				{"MULTI"}, {"SET", "x", "v", "PXAT", "1"}, {"EXISTS", "x"}, {"EXEC"}},
			want: []string{"MULTI", "SET k v PXAT 1", "DEL k", "SET a 1", "EXEC", "MULTI", "SET x v PXAT 1", "DEL x", "EXEC"}},
		{name: "rewrites in MULTI", setup: [][]string{{"SADD", "s", "a", "b", "c"}, {"SET", "k", "1"}},
			steps: [][]string{{"MULTI"}, {"SPOP", "s", "2"}, {"INCRBYFLOAT", "k", "0.5"}, {"SETRANGE", "k", "0", "9"},
				{"HINCRBYFLOAT", "h", "f", "2"}, {"HINCRBYFLOAT", "h", "f", "3"}, {"GETDEL", "k"}, {"EXEC"}},
			want: []string{"MULTI", "SREM s ?", "SREM s ?", "SET k 1.5 KEEPTTL", "SETRANGE k 0 9", "HSET h f 2", "HSET h f 5",
				"DEL k", "EXEC"},
			mask: true},
		{name: "PUBLISH", steps: [][]string{{"PUBLISH", "ch", "msg"}, {"SPUBLISH", "sch", "msg"}},
			want: []string{"PUBLISH ch msg", "SPUBLISH sch msg"}},
	}
}

// streamTarget is one server of the comparison with its clients and its
// raw replica.
type streamTarget struct {
	name  string
	ctl   *testutil.Conn
	conns [3]*testutil.Conn
	ids   [3]string
	repl  *rawReplica
}

func newStreamTarget(t *testing.T, name, bin string) *streamTarget {
	p := testutil.Start(t, bin, "--repl-diskless-sync-delay", "0")
	st := &streamTarget{name: name}
	dial := func() *testutil.Conn {
		c, err := testutil.Dial(p.Addr())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	st.ctl = dial()
	for i := range st.conns {
		st.conns[i] = dial()
		raw, err := st.conns[i].DoStrings("CLIENT", "ID")
		require.NoError(t, err)
		st.ids[i] = strings.TrimSpace(strings.TrimPrefix(string(raw), ":"))
	}
	st.repl = attachRawReplica(t, p.Addr())
	return st
}

// sync reads the stream up to the master's current offset.
func (st *streamTarget) sync(t *testing.T) []streamCmd {
	t.Helper()
	return st.repl.readUntil(t, infoInt(t, st.ctl, "replication", "master_repl_offset"))
}

func (st *streamTarget) do(t *testing.T, conn int, args []string) {
	t.Helper()
	_, err := st.conns[conn].DoStrings(args...)
	require.NoError(t, err, "%s: %v", st.name, args)
}

// run executes a case and returns the stream of its steps.
func (st *streamTarget) run(t *testing.T, tc streamCase) []streamCmd {
	t.Helper()
	for i := range st.conns {
		st.do(t, i, []string{"SELECT", "0"})
	}
	st.do(t, 0, []string{"FLUSHALL"})
	for _, a := range tc.setup {
		st.do(t, 0, a)
	}
	st.sync(t)
	blocked := map[int]bool{}
	for _, a := range tc.steps {
		conn, async := 0, false
		if p := a[0]; p[0] == '@' || p[0] == '&' {
			conn, async = int(p[1]-'0'), p[0] == '&'
			a = a[1:]
		}
		if !async {
			st.do(t, conn, a)
			continue
		}
		before := infoInt(t, st.ctl, "clients", "blocked_clients")
		require.NoError(t, st.conns[conn].WriteRaw(testutil.Encode(toArgs(a...))))
		waitInt(t, st.name+" blocked_clients", before+1, func() int64 { return infoInt(t, st.ctl, "clients", "blocked_clients") })
		blocked[conn] = true
	}
	got := st.sync(t)
	// Release the clients still blocked, and read every blocked reply.
	for conn := range blocked {
		_, err := st.ctl.DoStrings("CLIENT", "UNBLOCK", st.ids[conn])
		require.NoError(t, err)
		_, err = st.conns[conn].ReadReply(5 * time.Second)
		require.NoError(t, err, "%s: reply of blocked client %d", st.name, conn)
	}
	return got
}

// TestReplicationStreamMatchesRedis compares, case by case, the command
// stream redis-server 7.0.15 and redcluster send their replicas.
func TestReplicationStreamMatchesRedis(t *testing.T) {
	redis := newStreamTarget(t, "redis-server", testutil.RedisServer(t))
	ours := newStreamTarget(t, "redcluster", testutil.Binary(t))
	future := time.Now().Add(time.Hour)
	subst := strings.NewReplacer(
		"{exat}", strconv.FormatInt(future.Unix(), 10),
		"{exatms}", strconv.FormatInt(future.Unix()*1000, 10),
		"{pxat}", strconv.FormatInt(future.UnixMilli()+123, 10))
	expand := func(cmds [][]string) [][]string {
		out := make([][]string, len(cmds))
		for i, c := range cmds {
			out[i] = make([]string, len(c))
			for j, a := range c {
				out[i][j] = subst.Replace(a)
			}
		}
		return out
	}
	for _, tc := range streamCases() {
		tc.setup, tc.steps = expand(tc.setup), expand(tc.steps)
		for i, w := range tc.want {
			tc.want[i] = subst.Replace(w)
		}
		ok := t.Run(tc.name, func(t *testing.T) {
			want := tc.run(t, redis)
			got := tc.run(t, ours)
			require.True(t, sameStream(want, got), "stream differs from redis-server's\nredis-server: %v\nredcluster:   %v", want, got)
			if tc.want != nil {
				require.True(t, streamMatches(tc.want, want), "redis-server's stream is not the expected one (the table is wrong)\nwant: %q\ngot:  %v", tc.want, want)
			}
		})
		if !ok {
			// The streams are out of step: the next cases would fail for
			// the same reason.
			return
		}
	}
}

func (tc streamCase) run(t *testing.T, st *streamTarget) []streamCmd {
	cmds := st.run(t, tc)
	if tc.mask {
		for i, c := range cmds {
			if c.args[0] == "SREM" && len(c.args) == 3 {
				cmds[i].args = []string{"SREM", c.args[1], "?"}
			}
		}
	}
	return cmds
}

// sameStream compares two streams; absolute times (ms) may differ by the
// time between the two runs.
func sameStream(a, b []streamCmd) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].db != b[i].db || len(a[i].args) != len(b[i].args) {
			return false
		}
		for j, x := range a[i].args {
			if y := b[i].args[j]; x != y && !closeTimes(x, y) {
				return false
			}
		}
	}
	return true
}

// closeTimes reports whether x and y are both Unix times in ms less than
// a minute apart.
func closeTimes(x, y string) bool {
	a, err1 := strconv.ParseInt(x, 10, 64)
	b, err2 := strconv.ParseInt(y, 10, 64)
	if err1 != nil || err2 != nil || a < 1e12 || b < 1e12 {
		return false
	}
	d := a - b
	return d > -60000 && d < 60000
}

// streamMatches checks a stream against the patterns of streamCase.want.
func streamMatches(want []string, got []streamCmd) bool {
	if len(want) != len(got) {
		return false
	}
	for i, w := range want {
		pat := strings.Split(w, " ")
		if len(pat) != len(got[i].args) {
			return false
		}
		for j, p := range pat {
			a := got[i].args[j]
			switch p {
			case "?":
			case "<T>":
				if n, err := strconv.ParseInt(a, 10, 64); err != nil || n < 1e12 {
					return false
				}
			default:
				if p != a {
					return false
				}
			}
		}
	}
	return true
}

// TestReplicationPublishClusterMode: in cluster mode PUBLISH travels over
// the cluster bus, not the replication stream (redis-server 7.0.15 and
// redcluster alike), while in standalone mode it is propagated (the
// PUBLISH case above).
func TestReplicationPublishClusterMode(t *testing.T) {
	for _, srv := range []struct{ name, bin string }{
		{"redis-server", testutil.RedisServer(t)},
		{"redcluster", testutil.Binary(t)},
	} {
		t.Run(srv.name, func(t *testing.T) {
			p := testutil.Start(t, srv.bin, "--cluster-enabled", "yes", "--repl-diskless-sync-delay", "0")
			c, err := testutil.Dial(p.Addr())
			require.NoError(t, err)
			defer c.Close()
			rr := attachRawReplica(t, p.Addr())
			rr.readUntil(t, infoInt(t, c, "replication", "master_repl_offset"))
			before := infoInt(t, c, "replication", "master_repl_offset")
			reply, err := c.DoStrings("PUBLISH", "ch", "msg")
			require.NoError(t, err)
			require.Equal(t, ":0\r\n", string(reply))
			require.Equal(t, before, infoInt(t, c, "replication", "master_repl_offset"), "PUBLISH reached the replication stream")
			// The stream does carry writes (the check above is not vacuous).
			reply, err = c.DoStrings("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
			require.NoError(t, err)
			require.Equal(t, "+OK\r\n", string(reply))
			deadline := time.Now().Add(10 * time.Second)
			for {
				reply, err = c.DoStrings("SET", "k", "v")
				require.NoError(t, err)
				if string(reply) == "+OK\r\n" || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond) // until the cluster state is ok
			}
			require.Equal(t, "+OK\r\n", string(reply))
			got := rr.readUntil(t, infoInt(t, c, "replication", "master_repl_offset"))
			require.Equal(t, []streamCmd{{db: 0, args: []string{"SET", "k", "v"}}}, got)
		})
	}
}
