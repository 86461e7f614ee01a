# Sourced by bench/run: the agent alone and the micro-benchmarks.
# Each appends notes to the results; a binary that is not built is noted
# as skipped, never an error.

run_side() {
	local micro_secs=1
	[ "$quick" = 1 ] && micro_secs=0.3
	run_loadgen
	run_micro jwt "$build/bench/edgeseal-jwt-bench" "$micro_secs"
	run_micro seal "$build/bench/edgeseal-seal-bench" "$micro_secs"
}

run_loadgen() {
	note loadgen.skip "agent alone: not wired yet"
}

# run_micro NAME BINARY SECONDS: run a micro-benchmark (they measure their
# own thread's CPU time, so other work on the machine does not skew them)
# and keep its output lines; "verify_vs_hmac R" also becomes a figure.
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
		esac
	done <"$work/$name-bench.txt"
}
