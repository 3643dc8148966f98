package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// pollEvery is how often the waits poll the nodes.
const pollEvery = 200 * time.Millisecond

// node is one node of the cluster being created.
type node struct {
	addr string // ip:port
	c    *redis.Client
	id   string
}

// create forms the cluster of addrs, or waits for an already formed one.
func create(ctx context.Context, addrs []string, replicas int, out io.Writer) error {
	l, err := plan(len(addrs), replicas)
	if err != nil {
		return err
	}
	nodes, err := connect(ctx, addrs)
	if err != nil {
		return err
	}
	defer func() {
		for _, n := range nodes {
			n.c.Close()
		}
	}()
	fmt.Fprintf(out, ">>> Waiting for %d nodes to answer PING\n", len(nodes))
	if err := waitFor(ctx, "every node to answer PING", func() (bool, string) {
		for _, n := range nodes {
			if err := n.c.Ping(ctx).Err(); err != nil {
				return false, n.addr + ": " + err.Error()
			}
		}
		return true, ""
	}); err != nil {
		return err
	}
	fresh := 0
	for _, n := range nodes {
		ok, err := inspect(ctx, n)
		if err != nil {
			return err
		}
		if ok {
			fresh++
		}
	}
	switch fresh {
	case len(nodes):
		if err := form(ctx, nodes, l, out); err != nil {
			return err
		}
	case 0:
		fmt.Fprintln(out, ">>> The nodes already form a cluster: waiting for cluster_state:ok")
	default:
		return fmt.Errorf("%d of %d nodes are empty and the others already know other nodes or own slots: "+
			"start from empty nodes (docker compose down -v) or reset them (CLUSTER RESET HARD)", fresh, len(nodes))
	}
	if err := waitFor(ctx, "cluster_state:ok on every node", func() (bool, string) {
		return clusterOK(ctx, nodes, len(nodes)-l.masters)
	}); err != nil {
		return err
	}
	fmt.Fprintf(out, "[OK] %d nodes, %d masters: every node reports cluster_state:ok\n", len(nodes), l.masters)
	return nil
}

// connect resolves addrs to ip:port (MEET wants addresses) and opens one
// RESP2 client per node.
func connect(ctx context.Context, addrs []string) ([]*node, error) {
	type hostPort struct{ host, port string }
	var hps []hostPort
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("bad address %q: %w", a, err)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 55535 {
			return nil, fmt.Errorf("bad port in %q (the bus port, port+10000, must fit too)", a)
		}
		hps = append(hps, hostPort{host, port})
	}
	var nodes []*node
	seen := map[string]bool{}
	for _, hp := range hps {
		ip, err := resolve(ctx, hp.host)
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort(ip, hp.port)
		if seen[addr] {
			return nil, fmt.Errorf("%s is listed twice", addr)
		}
		seen[addr] = true
		nodes = append(nodes, &node{addr: addr, c: redis.NewClient(&redis.Options{
			Addr: addr, Protocol: 2, DisableIndentity: true, MaxRetries: -1,
			DialTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second,
		})})
	}
	return nodes, nil
}

// resolve returns host itself when it is an IP address, else its first
// IPv4 address (or first address). Lookups are retried until ctx ends:
// container names resolve only once their containers exist.
func resolve(ctx context.Context, host string) (string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), nil
	}
	var ip string
	err := waitFor(ctx, "a DNS answer for "+host, func() (bool, string) {
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil || len(ips) == 0 {
			return false, fmt.Sprint(err)
		}
		ip = ips[0].IP.String()
		for _, a := range ips {
			if a.IP.To4() != nil {
				ip = a.IP.String()
				break
			}
		}
		return true, ""
	})
	return ip, err
}

// inspect checks that n runs in cluster mode, records its id and tells
// whether it is fresh: knows no other node, owns no slot, holds no key.
func inspect(ctx context.Context, n *node) (bool, error) {
	info, err := n.c.Info(ctx, "cluster", "keyspace").Result()
	if err != nil {
		return false, fmt.Errorf("%s: INFO: %w", n.addr, err)
	}
	if v, _ := infoField(info, "cluster_enabled"); v != "1" {
		return false, fmt.Errorf("%s is not in cluster mode (cluster-enabled no)", n.addr)
	}
	_, hasKeys := infoField(info, "db0")
	ci, err := n.c.ClusterInfo(ctx).Result()
	if err != nil {
		return false, fmt.Errorf("%s: CLUSTER INFO: %w", n.addr, err)
	}
	known, _ := infoField(ci, "cluster_known_nodes")
	assigned, _ := infoField(ci, "cluster_slots_assigned")
	if n.id, err = n.c.Do(ctx, "cluster", "myid").Text(); err != nil {
		return false, fmt.Errorf("%s: CLUSTER MYID: %w", n.addr, err)
	}
	return known == "1" && assigned == "0" && !hasKeys, nil
}

// form runs redis-cli's create sequence on fresh nodes.
func form(ctx context.Context, nodes []*node, l layout, out io.Writer) error {
	fmt.Fprintf(out, ">>> Assigning %d slots to %d masters\n", numSlots, l.masters)
	for i := 0; i < l.masters; i++ {
		r := l.slots[i]
		fmt.Fprintf(out, "M: %s %s slots %d-%d\n", nodes[i].id, nodes[i].addr, r[0], r[1])
		if err := nodes[i].c.Do(ctx, "cluster", "addslotsrange", r[0], r[1]).Err(); err != nil {
			return fmt.Errorf("%s: CLUSTER ADDSLOTSRANGE %d %d: %w", nodes[i].addr, r[0], r[1], err)
		}
	}
	for i, n := range nodes[l.masters:] {
		m := nodes[l.masterOf[l.masters+i]]
		fmt.Fprintf(out, "S: %s %s replicates %s %s\n", n.id, n.addr, m.id, m.addr)
	}
	for i, n := range nodes {
		// Distinct epochs let the nodes settle slot ownership at once; a
		// failure only slows that down (redis-cli ignores the reply too).
		if err := n.c.Do(ctx, "cluster", "set-config-epoch", i+1).Err(); err != nil {
			fmt.Fprintf(out, "warning: %s: CLUSTER SET-CONFIG-EPOCH %d: %v\n", n.addr, i+1, err)
		}
	}
	first := nodes[0]
	host, port, _ := net.SplitHostPort(first.addr)
	bus, err := busPort(ctx, first)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, ">>> Sending CLUSTER MEET %s %s %d to the other nodes\n", host, port, bus)
	for _, n := range nodes[1:] {
		if err := n.c.Do(ctx, "cluster", "meet", host, port, bus).Err(); err != nil {
			return fmt.Errorf("%s: CLUSTER MEET %s %s %d: %w", n.addr, host, port, bus, err)
		}
	}
	fmt.Fprintln(out, ">>> Waiting for the nodes to agree on the configuration")
	if err := waitFor(ctx, "the nodes to know each other and agree on the slots", func() (bool, string) {
		return agreed(ctx, nodes)
	}); err != nil {
		return err
	}
	if len(nodes) > l.masters {
		fmt.Fprintln(out, ">>> Attaching replicas")
	}
	for i := l.masters; i < len(nodes); i++ {
		n, m := nodes[i], nodes[l.masterOf[i]]
		if err := waitFor(ctx, n.addr+" to accept CLUSTER REPLICATE "+m.id, func() (bool, string) {
			if err := n.c.Do(ctx, "cluster", "replicate", m.id).Err(); err != nil {
				return false, err.Error()
			}
			return true, ""
		}); err != nil {
			return err
		}
	}
	return nil
}

// busPort reads n's cluster bus port from its own CLUSTER NODES line.
func busPort(ctx context.Context, n *node) (int, error) {
	text, err := n.c.ClusterNodes(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("%s: CLUSTER NODES: %w", n.addr, err)
	}
	lines, err := parseNodes(text)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", n.addr, err)
	}
	me, ok := myself(lines)
	if !ok || me.cport == 0 {
		return 0, fmt.Errorf("%s: no bus port in its CLUSTER NODES myself line", n.addr)
	}
	return me.cport, nil
}

// agreed tells whether every node knows all the others (no handshake left)
// and all print the same slot map.
func agreed(ctx context.Context, nodes []*node) (bool, string) {
	var sig0 string
	for i, n := range nodes {
		text, err := n.c.ClusterNodes(ctx).Result()
		if err != nil {
			return false, n.addr + ": " + err.Error()
		}
		lines, err := parseNodes(text)
		if err != nil {
			return false, n.addr + ": " + err.Error()
		}
		if len(lines) != len(nodes) {
			return false, fmt.Sprintf("%s knows %d nodes", n.addr, len(lines))
		}
		for _, l := range lines {
			if l.flags["handshake"] || l.flags["noaddr"] {
				return false, fmt.Sprintf("%s: %s is still in handshake", n.addr, l.id)
			}
		}
		sig := signature(lines)
		if i == 0 {
			sig0 = sig
		} else if sig != sig0 {
			return false, fmt.Sprintf("%s and %s see different slot maps", nodes[0].addr, n.addr)
		}
	}
	return true, ""
}

// clusterOK tells whether every node reports cluster_state:ok, knows every
// node and sees the expected number of replicas.
func clusterOK(ctx context.Context, nodes []*node, replicas int) (bool, string) {
	var bad []string
	for _, n := range nodes {
		ci, err := n.c.ClusterInfo(ctx).Result()
		if err != nil {
			bad = append(bad, n.addr+": "+err.Error())
			continue
		}
		state, _ := infoField(ci, "cluster_state")
		known, _ := infoField(ci, "cluster_known_nodes")
		if state != "ok" || known != strconv.Itoa(len(nodes)) {
			bad = append(bad, fmt.Sprintf("%s: cluster_state:%s cluster_known_nodes:%s", n.addr, state, known))
			continue
		}
		text, err := n.c.ClusterNodes(ctx).Result()
		if err != nil {
			bad = append(bad, n.addr+": "+err.Error())
			continue
		}
		lines, err := parseNodes(text)
		if err != nil {
			bad = append(bad, n.addr+": "+err.Error())
			continue
		}
		seen := 0
		for _, l := range lines {
			if l.flags["slave"] {
				seen++
			}
		}
		if seen != replicas {
			bad = append(bad, fmt.Sprintf("%s sees %d of %d replicas", n.addr, seen, replicas))
		}
	}
	return len(bad) == 0, strings.Join(bad, "; ")
}

// waitFor polls cond until it holds or ctx ends; the error then carries
// cond's last explanation.
func waitFor(ctx context.Context, what string, cond func() (bool, string)) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	last := ""
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		if ctx.Err() == nil || last == "" { // keep the reason from before the deadline
			last = why
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s (last: %s)", what, last)
		case <-t.C:
		}
	}
}
