# Sourced by bench/run: the agent alone and the micro-benchmarks.
# Each appends notes to the results; a binary that is not built is noted
# as skipped, never an error.

run_side() {
	run_loadgen
	run_micro jwt "$build/bench/edgeseal-jwt-bench"
	run_micro seal "$build/bench/edgeseal-seal-bench"
}

run_loadgen() {
	note loadgen.skip "agent alone: not wired yet"
}

# run_micro NAME BINARY: run a micro-benchmark, keep its output lines.
run_micro() {
	local name=$1 bin=$2 line
	if [ ! -x "$bin" ]; then
		note "$name.skip" "$(basename "$bin") not built"
		return 0
	fi
	timeout 120 "$bin" >"$work/$name-bench.txt" 2>&1 ||
		log "$name bench exited non-zero (see $work/$name-bench.txt)"
	while IFS= read -r line; do
		note "$name.line" "$line"
	done <"$work/$name-bench.txt"
}
