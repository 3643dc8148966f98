// Package replication implements Redis 7.0's master/replica replication
// protocol (PSYNC2) as components the server wires in.
//
// Master side (Master): the node's replication state, that is the
// replication IDs (replid, replid2 and second_repl_offset), the global
// replication offset, the circular Backlog, the attached replicas and the
// bookkeeping of WAIT. Commands enter the stream through Feed/FeedMulti
// (the server's propagation hook, which emits SELECT when the db changes,
// as Redis does); a replica connection that sent SYNC or PSYNC is handed
// over to Master.Serve, which answers +FULLRESYNC (producing the RDB through
// a SnapshotFunc, in the disk "$<len>" or diskless "$EOF:<mark>" form) or
// +CONTINUE (serving the backlog), then streams the commands and reads the
// replica's REPLCONF ACKs.
//
// Replica side (Replica): connects to a master, runs the handshake (PING,
// AUTH, REPLCONF listening-port, REPLCONF capa eof capa psync2, PSYNC),
// loads a full resynchronization into a Dataset through rdb.Decoder (the
// Dataset stages the new keyspace and swaps it in at the end), or continues
// a partial one, then applies the command stream, tracking the processed
// offset byte for byte as Redis does, answering REPLCONF GETACK and sending
// REPLCONF ACK every second. It reconnects with backoff after errors. The
// stream it applies is proxied byte for byte to the node's own Master (its
// backlog and sub-replicas), so the node can serve PSYNC after a promotion.
//
// The two sides share one Master per node: a node that is a replica keeps a
// Master in replica mode (Feed is then a no-op: only the master's stream is
// propagated, through FeedRaw).
//
// Wiring into the server (one Master and one Replica per node):
//
//   - Propagation: after a write command, still holding its slot locks,
//     call Master.Feed(db, args) with the rewritten form Redis propagates
//     (PEXPIREAT, SET ... PXAT, DEL on expiry...), or FeedMulti for
//     MULTI/EXEC blocks, scripts and commands propagating several
//     commands. Keep the returned offset as the client's write offset for
//     WAIT. The snapshot (SnapshotFunc) must call Begin while no write can
//     be between execution and Feed (every slot lock, the functions lock).
//   - REPLCONF: one LinkConf per client, LinkConf.Replconf(args).
//   - SYNC/PSYNC: Master.CheckSync, then flush the client's output and hand
//     the connection over to Master.Serve (blocks until the link ends).
//   - REPLICAOF host port / CLUSTER REPLICATE: Replica.SetMaster;
//     REPLICAOF NO ONE / failover: Replica.UnsetMaster.
//   - WAIT: Master.AckCount (inside MULTI, or enough already), else
//     Master.WaitAcks with a context carrying the timeout.
//   - INFO replication: AppendInfo(Master.Info(), Replica.Info() on a
//     replica); ROLE: WriteRole; INFO stats: Master.Stats().
//   - RDB files: Master.ReplInfo() for rdb.Header.Repl when saving;
//     Master.RestoreReplInfo after loading one at startup.
//   - Cluster bus offset: Master.Offset() on a master, Replica.Offset() on
//     a replica.
package replication
