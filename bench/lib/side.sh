# shellcheck shell=bash
# Sourced by bench/run: the agent alone and the micro-benchmarks.
# Each appends notes to the results; a binary that is not built is noted
# as skipped, never an error.

run_side() {
	local micro_secs=0.5
	[ "$quick" = 1 ] && micro_secs=0.3
	run_loadgen
	run_micro jwt "$build/bench/edgeseal-jwt-bench" "$micro_secs"
	run_micro seal "$build/bench/edgeseal-seal-bench" "$micro_secs"
}

# The agent alone, with edgeseal-spop-loadgen and no HAProxy: one token
# again and again (cache hits), then 20,000 distinct tokens per algorithm
# through a 1,024-entry cache (every token new). The agent runs one thread
# so that the loadgen has the other core; "per core" divides by the CPU
# time the agent actually used (/proc/PID/stat), not by wall time.
run_loadgen() {
	local gen k gen_secs=4
	[ "$quick" = 1 ] && gen_secs=2
	gen=$build/spoa-agent/edgeseal-spop-loadgen
	if [ ! -x "$gen" ]; then
		note loadgen.skip "edgeseal-spop-loadgen not built"
		return 0
	fi
	if [ "$have_c" != 1 ]; then
		note loadgen.skip "agent alone: skipped, the agent did not run"
		return 0
	fi
	for k in rs1 es1 hs1; do
		sed 's/^/Bearer /' "$fix/tokens/$k-one.txt" \
			>"$work/auth-$k-one.txt"
		sed 's/^/Bearer /' "$fix/tokens/$k-many.txt" \
			>"$work/auth-$k-many.txt"
	done

	if start_agent alone 131072 "$port_agent_alone" \
		"$port_agent_alone_metrics" 1; then
		loadgen_point cached "$work/auth-rs1-one.txt"
	fi
	stop "$agent_pid"

	if start_agent alone 1024 "$port_agent_alone" \
		"$port_agent_alone_metrics" 1; then
		for k in rs1 es1 hs1; do
			loadgen_point "$k.new" "$work/auth-$k-many.txt"
		done
	fi
	stop "$agent_pid"
}

# loadgen_point NAME AUTH_FILE: one loadgen run against $agent_pid; notes
# its line and NOTIFY/s per core of agent CPU.
loadgen_point() {
	local t0 t1 out n per cores
	t0=$(cpu_ticks "$agent_pid")
	out=$(timeout $((gen_secs + 30)) "$gen" -s "$host:$port_agent_alone" \
		-n 4 -d 16 -t "$gen_secs" -f "$2" 2>&1) ||
		log "loadgen $1 exited non-zero: $out"
	t1=$(cpu_ticks "$agent_pid")
	out=$(grep 'notify_per_s=' <<<"$out") ||
		{ note loadgen.line "$1: no result"; return 0; }
	n=$(sed 's/.* notify=\([0-9]*\).*/\1/' <<<"$out")
	# Parentheses: a bare ">" after printf would be a redirection.
	read -r cores per < <(awk -v n="$n" -v t=$((t1 - t0)) \
		-v hz="$(getconf CLK_TCK)" -v s="$gen_secs" 'BEGIN {
		printf "%.2f %.0f\n", t / hz / s, (t > 0 ? n / (t / hz) : 0)
	}')
	note loadgen.line "$1: $out agent_cores=$cores per_core=$per"
	[ "$1" = cached ] && note loadgen.cached_per_core "$per"
	return 0
}

# run_micro NAME BINARY SECONDS: run a micro-benchmark (they measure their
# own thread's CPU time, so other work on the machine does not skew them)
# and keep its output lines; "verify_vs_hmac R" (or, preferred, against a
# pre-keyed HMAC: "verify_vs_hmac_prekeyed R") also becomes a figure.
run_micro() {
	local name=$1 bin=$2 line
	if [ ! -x "$bin" ]; then
		note "$name.skip" "$(basename "$bin") not built"
		return 0
	fi
	log "$(basename "$bin")"
	timeout 300 "$bin" "$3" >"$work/$name-bench.txt" 2>&1 ||
		log "$name bench exited non-zero (see $work/$name-bench.txt)"
	while IFS= read -r line; do
		note "$name.line" "$line"
		case $line in
		"verify_vs_hmac "*) note seal.verify_vs_hmac "${line#* }" ;;
		"verify_vs_hmac_prekeyed "*)
			note seal.verify_vs_hmac_prekeyed "${line#* }" ;;
		esac
	done <"$work/$name-bench.txt"
}
