# shellcheck shell=bash
# Sourced by bench/run and bench/soak: starting and stopping processes,
# reading their CPU and memory, and the edgeseal processes themselves.
# Expects host, root, lib, work, build, fix, port_upstream and an array
# pids (every process started here, stopped by cleanup on exit; the
# sourcing script sets the traps).

log() { printf 'bench: %s\n' "$*" >&2; }

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
}

# start NAME CMD...: run CMD in the background, logging to $work/NAME.log;
# its pid lands in $started.
start() {
	local name=$1
	shift
	"$@" >"$work/$name.log" 2>&1 &
	started=$!
	pids+=("$started")
}

# stop PID: SIGTERM and reap one process started here.
stop() {
	local p=$1 keep=() q
	kill "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	for q in "${pids[@]}"; do
		[ "$q" = "$p" ] || keep+=("$q")
	done
	pids=("${keep[@]}")
}

# wait_port PORT PID: poll until something accepts on PORT (5 s at most),
# failing early when PID died.
wait_port() {
	local port=$1 pid=$2
	for _ in $(seq 50); do
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# cpu_ticks PID...: total user+system clock ticks of the given processes
# (an empty PID counts nothing).
cpu_ticks() {
	local p sum=0 f
	for p in "$@"; do
		[ -n "$p" ] || continue
		f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
		sum=$((sum + ${f% *} + ${f#* }))
	done
	echo "$sum"
}

# mem_kib PID FIELD: VmHWM or VmRSS of PID in KiB.
mem_kib() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

start_upstream() {
	start upstream env BENCH_UPSTREAM="$host:$port_upstream" \
		haproxy -db -f "$lib/upstream.cfg"
	upstream_pid=$started
	wait_port "$port_upstream" "$upstream_pid" ||
		{ log "upstream did not start: $work/upstream.log"; exit 1; }
}

# agent_conf FILE CACHE_ENTRIES LISTEN METRICS THREADS: an agent
# configuration.
agent_conf() {
	cat >"$1" <<-EOF
	; written by bench/run
	[agent]
	listen = $3
	threads = $5
	log_level = ${agent_log_level-warn}
	metrics = $4

	[issuer bench-pki]
	issuer = https://idp.bench.example/
	audiences = api
	pem_key = rs1 RS256 $fix/keys/rs1.pub.pem
	pem_key = es1 ES256 $fix/keys/es1.pub.pem
	algorithms = RS256 ES256

	[issuer bench-hs]
	issuer = https://hs.bench.example/
	audiences = api
	hmac_key = hs1 HS256 $fix/keys/hs1.key
	algorithms = HS256
	subject_prefix = hs:

	[seal]
	keyset = $fix/keys/seal.jwks
	signing_kid = bench-1
	ttl = 60

	[cache]
	entries = $2
	EOF
}

# start_agent NAME ENTRIES AGENT_PORT METRICS_PORT THREADS: an agent with
# a cache of ENTRIES, logging to $work/agent-NAME.log; its pid lands in
# $agent_pid. Fails if it does not start.
start_agent() {
	local conf=$work/agent-$1.conf
	agent_conf "$conf" "$2" "$host:$3" "$host:$4" "$5"
	start "agent-$1" "$build/spoa-agent/edgeseal-spoa" -d -f "$conf"
	agent_pid=$started
	wait_port "$3" "$agent_pid"
}

# start_edge NAME ENTRIES AGENT_PORT METRICS_PORT EDGE_PORT: an agent
# (2 threads) and the shipped HAProxy files in front of it; their pids land
# in $agent_pid and $edge_pid. Fails if either does not start.
start_edge() {
	edge_pid=
	start_agent "$1" "$2" "$3" "$4" 2 || return 1
	start "edge-$1" env EDGESEAL_BIND="$host:$5" \
		EDGESEAL_AGENT="$host:$3" \
		EDGESEAL_UPSTREAM="$host:$port_upstream" \
		EDGESEAL_SPOE_CONF="$root/haproxy-conf/edgeseal-spoe.conf" \
		haproxy -db -f "$root/haproxy-conf/haproxy.cfg"
	edge_pid=$started
	wait_port "$5" "$edge_pid"
}
