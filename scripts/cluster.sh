#!/usr/bin/env bash
# cluster.sh starts and stops a local redcluster cluster (what `make cluster`
# and `make cluster-stop` run).
#
#   scripts/cluster.sh start    # nodes up, `redis-cli --cluster create`, wait for cluster_state:ok
#   scripts/cluster.sh stop     # stop the nodes (pidfiles), remove the data folder
#   scripts/cluster.sh status   # one line per node
#
# Settings (environment; `make cluster CLUSTER_NODES=9` works too):
#   CLUSTER_BASE_PORT=7000      first client port; node i uses BASE+i and bus port BASE+i+10000
#   CLUSTER_NODES=6             number of nodes
#   CLUSTER_REPLICAS=1          replicas per master (redis-cli needs >= 3 masters)
#   CLUSTER_NODE_TIMEOUT=5000   cluster-node-timeout in ms
#   CLUSTER_DIR=cluster-data    data folder (relative to the repository root), one sub-folder per node
#   CLUSTER_WAIT=60             seconds allowed for the create step and for cluster_state:ok
#   CLUSTER_KEEP=0              stop: 1 keeps the data folder; start then restarts the kept cluster
#   CLUSTER_ARGS=               extra options for every node, e.g. "--save '' --appendonly yes"
#   REDCLUSTER_BIN=bin/redcluster, REDIS_CLI=redis-cli
set -euo pipefail

cd "$(dirname "$0")/.."

BASE=${CLUSTER_BASE_PORT:-7000}
NODES=${CLUSTER_NODES:-6}
REPLICAS=${CLUSTER_REPLICAS:-1}
NODE_TIMEOUT=${CLUSTER_NODE_TIMEOUT:-5000}
DIR=${CLUSTER_DIR:-cluster-data}
WAIT=${CLUSTER_WAIT:-60}
KEEP=${CLUSTER_KEEP:-0}
EXTRA=${CLUSTER_ARGS:-}
BIN=${REDCLUSTER_BIN:-bin/redcluster}
CLI=${REDIS_CLI:-redis-cli}
HOST=127.0.0.1
MARKER=.redcluster-cluster # in DIR: "BASE NODES REPLICAS", written by start
CREATED=created            # in DIR: present once the cluster was created

die() {
	echo "cluster: $*" >&2
	exit 1
}
say() { echo "cluster: $*"; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

check_settings() {
	local v name
	for v in BASE:CLUSTER_BASE_PORT NODES:CLUSTER_NODES REPLICAS:CLUSTER_REPLICAS \
		NODE_TIMEOUT:CLUSTER_NODE_TIMEOUT WAIT:CLUSTER_WAIT; do
		name=${v%%:*}
		is_uint "${!name}" || die "${v#*:} must be a non-negative integer, got '${!name}'"
	done
	((NODES >= 1)) || die "CLUSTER_NODES must be at least 1"
	((NODES / (REPLICAS + 1) >= 3)) ||
		die "CLUSTER_NODES=$NODES with CLUSTER_REPLICAS=$REPLICAS gives fewer than 3 masters (redis-cli --cluster create needs 3)"
	((BASE >= 1 && BASE + NODES - 1 + 10000 <= 65535)) ||
		die "ports $BASE..$((BASE + NODES - 1)) and their bus ports (+10000) must lie in 1..65535"
}

ports() { seq "$BASE" $((BASE + NODES - 1)); }

# node_pid prints the pid in a node's pidfile when that process is alive
# and is a redcluster (a recycled pid must never be killed).
node_pid() {
	local f=$DIR/$1/redcluster.pid pid
	[[ -f $f ]] || return 1
	pid=$({ tr -dc 0-9 <"$f"; } 2>/dev/null) # gone when the node exits
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
	if [[ -d /proc/$pid ]]; then # a zombie has an empty cmdline: not running
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q redcluster || return 1
	else
		ps -p "$pid" -o command= 2>/dev/null | grep -q redcluster || return 1
	fi
	echo "$pid"
}

# live_nodes lists "port:pid" of every node of DIR that is still running.
live_nodes() {
	local d p pid
	[[ -d $DIR ]] || return 0
	for d in "$DIR"/*/; do
		p=$(basename "$d")
		pid=$(node_pid "$p") && echo "$p:$pid"
	done
	return 0
}

# port_busy succeeds when something listens on TCP port $1.
port_busy() {
	if command -v ss >/dev/null; then
		[[ -n $(ss -ltn "sport = :$1" 2>/dev/null | tail -n +2) ]]
	else
		(exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
	fi
}

cli() { "$CLI" -h "$HOST" -p "$1" "${@:2}" 2>/dev/null </dev/null; }

info_field() { cli "$1" cluster info | tr -d '\r' | sed -n "s/^$2://p"; }

# stop_nodes sends SIGTERM to every running node of DIR, waits up to 10 s,
# then SIGKILLs the ones still there.
stop_nodes() {
	local live entry pid i
	mapfile -t live < <(live_nodes)
	((${#live[@]})) || return 0
	for entry in "${live[@]}"; do kill -TERM "${entry#*:}" 2>/dev/null || true; done
	for ((i = 0; i < 100; i++)); do
		mapfile -t live < <(live_nodes)
		((${#live[@]})) || break
		sleep 0.1
	done
	for entry in "${live[@]}"; do
		pid=${entry#*:}
		if kill -0 "$pid" 2>/dev/null; then
			say "node ${entry%%:*} (pid $pid) ignored SIGTERM: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
}

# fail stops the nodes this run started, keeps their logs and exits 1.
fail() {
	echo "cluster: $*" >&2
	echo "cluster: node logs: $DIR/<port>/redcluster.log and stdout.log" >&2
	stop_nodes
	echo "cluster: nodes stopped; the data folder $DIR is kept for inspection (make cluster removes it on the next run)" >&2
	exit 1
}

start_node() {
	local p=$1 d extra=()
	d=$(cd "$DIR/$p" && pwd)
	eval "extra=($EXTRA)" # CLUSTER_ARGS is shell words, quotes allowed
	# --daemonize no: redcluster always runs in the foreground, so setsid and
	# nohup detach it from this shell and its terminal.
	# shellcheck disable=SC2086 # DETACH is empty or one word
	$DETACH nohup "$BINABS" --port "$p" --bind "$HOST" --dir "$d" \
		--cluster-enabled yes --cluster-config-file nodes.conf \
		--cluster-node-timeout "$NODE_TIMEOUT" --logfile redcluster.log \
		--pidfile "$d/redcluster.pid" --daemonize no "${extra[@]}" \
		>"$d/stdout.log" 2>&1 </dev/null &
	STARTED[$p]=$!
}

wait_ping() {
	local p deadline=$((SECONDS + 10))
	for p in $(ports); do
		until [[ $(cli "$p" ping) == PONG ]]; do
			if ! kill -0 "${STARTED[$p]}" 2>/dev/null; then
				tail -n 5 "$DIR/$p/stdout.log" "$DIR/$p/redcluster.log" >&2 2>/dev/null || true
				fail "node $p exited during start-up (see above)"
			fi
			((SECONDS < deadline)) || fail "node $p does not answer PING after 10 s"
			sleep 0.1
		done
	done
	say "$NODES nodes answer PING on $HOST:$BASE-$((BASE + NODES - 1))"
}

# wait_ok waits until every node reports cluster_state:ok, knows every node
# and sees every replica as one (roles travel by gossip after REPLICATE).
wait_ok() {
	local p state known slaves bad deadline=$((SECONDS + WAIT))
	local want=$((NODES - NODES / (REPLICAS + 1)))
	while :; do
		bad=()
		for p in $(ports); do
			state=$(info_field "$p" cluster_state)
			known=$(info_field "$p" cluster_known_nodes)
			slaves=$(cli "$p" cluster nodes | awk '$3 ~ /(^|,)slave(,|$)/' | wc -l)
			[[ $state == ok && $known == "$NODES" && $slaves == "$want" ]] ||
				bad+=("$p(state=${state:-?},known_nodes=${known:-?},replicas_seen=$slaves/$want)")
		done
		((${#bad[@]})) || break
		((SECONDS < deadline)) || fail "the cluster is not ready after ${WAIT}s: ${bad[*]}"
		sleep 0.2
	done
	say "every node reports cluster_state:ok and sees $NODES nodes, $want of them replicas"
}

create() {
	local addrs=() p rc=0
	for p in $(ports); do addrs+=("$HOST:$p"); done
	say "$CLI --cluster create ${addrs[*]} --cluster-replicas $REPLICAS --cluster-yes"
	# redis-cli waits forever for the nodes to agree on the configuration;
	# bound it so that a broken cluster bus fails instead of hanging.
	timeout --foreground "$WAIT" "$CLI" --cluster create "${addrs[@]}" \
		--cluster-replicas "$REPLICAS" --cluster-yes </dev/null || rc=$?
	case $rc in
	0) ;;
	124) echo && fail "redis-cli --cluster create did not finish within ${WAIT}s: the nodes never agreed on the slot configuration (is the cluster bus working?)" ;;
	*) fail "redis-cli --cluster create failed (exit status $rc, output above)" ;;
	esac
	# redis-cli exits 0 even when its final check reports errors: wait_ok
	# is the real check.
	touch "$DIR/$CREATED"
}

# prepare_dir decides between a fresh cluster and a restart of a kept one,
# and prints "fresh" or "restart".
prepare_dir() {
	if [[ -d $DIR && -n $(ls -A "$DIR") ]]; then
		[[ -f $DIR/$MARKER ]] ||
			die "$DIR exists and was not made by scripts/cluster.sh: remove it or set CLUSTER_DIR"
		if [[ -f $DIR/$CREATED ]]; then
			[[ $(cat "$DIR/$MARKER") == "$BASE $NODES $REPLICAS" ]] ||
				die "$DIR holds a kept cluster with other settings (base port, nodes, replicas = $(cat "$DIR/$MARKER")): make cluster-stop removes it"
			echo restart
			return
		fi
		rm -rf "$DIR" # leftover of a run that failed
	fi
	mkdir -p "$DIR"
	echo "$BASE $NODES $REPLICAS" >"$DIR/$MARKER"
	echo fresh
}

cmd_start() {
	local live busy=() p mode
	check_settings
	[[ -x $BIN ]] || die "$BIN not found: run make build"
	command -v "$CLI" >/dev/null || die "$CLI not found: run make deps (installs redis-tools)"
	mapfile -t live < <(live_nodes)
	((${#live[@]} == 0)) ||
		die "a cluster from an earlier run is still up (port:pid ${live[*]}): run make cluster-stop first"
	for p in $(ports); do
		port_busy "$p" && busy+=("$p")
		port_busy $((p + 10000)) && busy+=("$((p + 10000))")
	done
	((${#busy[@]} == 0)) ||
		die "port(s) $(printf '%s\n' "${busy[@]}" | sort -n | xargs) already in use on this machine: stop whatever listens there (make cluster-stop, docker compose down), or pick CLUSTER_BASE_PORT"

	mode=$(prepare_dir)
	BINABS=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
	DETACH=$(command -v setsid || true) # own session where available (not on macOS)
	declare -gA STARTED=()
	trap 'echo; fail "interrupted"' INT TERM
	for p in $(ports); do
		mkdir -p "$DIR/$p"
		start_node "$p"
	done
	wait_ping
	if [[ $mode == fresh ]]; then
		create
	else
		say "restarting the cluster kept in $DIR (nodes.conf of each node)"
	fi
	wait_ok
	cat <<EOF

Cluster ready: $NODES nodes on $HOST:$BASE-$((BASE + NODES - 1)), $((NODES / (REPLICAS + 1))) masters, $REPLICAS replica(s) each.
  connect:  redis-cli -c -p $BASE
  nodes:    redis-cli -p $BASE cluster nodes
  logs:     $DIR/<port>/redcluster.log
  stop:     make cluster-stop        (CLUSTER_KEEP=1 keeps $DIR; make cluster then restarts it)
EOF
}

cmd_stop() {
	local live
	if [[ ! -d $DIR ]]; then
		say "no $DIR: nothing to stop"
		return 0
	fi
	mapfile -t live < <(live_nodes)
	if ((${#live[@]})); then
		stop_nodes
		say "stopped ${#live[@]} node(s) (port:pid ${live[*]})"
	else
		say "no node of $DIR is running"
	fi
	if [[ $KEEP == 1 ]]; then
		say "kept $DIR (make cluster restarts this cluster)"
	elif [[ -f $DIR/$MARKER ]]; then
		rm -rf "$DIR"
		say "removed $DIR"
	else
		say "$DIR was not made by scripts/cluster.sh: not removed"
	fi
}

cmd_status() {
	local p pid
	check_settings
	for p in $(ports); do
		if pid=$(node_pid "$p"); then
			echo "$HOST:$p pid $pid cluster_state:$(info_field "$p" cluster_state) known_nodes:$(info_field "$p" cluster_known_nodes)"
		else
			echo "$HOST:$p not running"
		fi
	done
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
