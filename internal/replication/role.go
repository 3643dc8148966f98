package replication

import "github.com/redcluster/redcluster/internal/resp"

// WriteRole writes the ROLE reply. ri is nil on a master: ["master",
// offset, [[ip, port, ack offset]...]] listing online replicas (port and
// offset as bulk strings); on a replica: ["slave", host, port, state,
// processed offset or -1].
func WriteRole(w *resp.Writer, mi *MasterInfo, ri *ReplicaInfo) {
	if ri == nil {
		w.Array(3)
		w.BulkString("master")
		w.Int(mi.Offset)
		n := 0
		for _, r := range mi.Replicas {
			if r.State == "online" {
				n++
			}
		}
		w.Array(n)
		for _, r := range mi.Replicas {
			if r.State != "online" {
				continue
			}
			w.Array(3)
			w.BulkString(r.IP)
			w.BulkInt(int64(r.Port))
			w.BulkInt(r.Offset)
		}
		return
	}
	w.Array(5)
	w.BulkString("slave")
	w.BulkString(ri.Host)
	w.Int(int64(ri.Port))
	w.BulkString(ri.State.String())
	w.Int(ri.RoleOffset)
}
