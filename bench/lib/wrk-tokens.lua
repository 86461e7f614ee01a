-- wrk script for bench/run: every request carries "Authorization: Bearer T"
-- where T cycles through the token file named by BENCH_TOKENS (one token a
-- line). The requests are built once in init() so that request() costs the
-- same on every path and wrk itself stays out of the measurement.
--
-- BENCH_STOP_AFTER=N ends the run once N responses came back (used to push
-- a fixed number of distinct tokens through the agent's cache).
-- BENCH_DELAY_MS=N makes every connection wait N ms between requests, to
-- hold a steady, moderate load (bench/soak) instead of the most wrk can.
-- done() prints one machine-readable line that bench/run parses.

local reqs = {}
local count = 0
local next_req = 0
local seen = 0
local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "0")
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

function init(args)
	local path = os.getenv("BENCH_TOKENS")
	for token in io.lines(path) do
		if #token > 0 then
			count = count + 1
			reqs[count] = wrk.format(nil, nil,
				{ Authorization = "Bearer " .. token })
		end
	end
	assert(count > 0, "no tokens in " .. path)

	-- Only ask wrk to parse responses when a stop is wanted: parsing
	-- costs client CPU on a machine where every core is shared.
	if stop_after <= 0 then
		response = nil
	end
	if delay_ms <= 0 then
		delay = nil
	end
end

function delay()
	return delay_ms
end

function request()
	next_req = next_req % count + 1
	return reqs[next_req]
end

function response(status, headers, body)
	seen = seen + 1
	if seen == stop_after then
		wrk.thread:stop()
		-- wrk's main thread sleeps for the whole -d; SIGINT is its
		-- own way to end a run early and still print the results.
		-- system() ignores SIGINT while it runs, so the signal is
		-- sent from the background once this thread has returned;
		-- the counts are final by then, only the exit waits.
		os.execute("(sleep 0.2; kill -INT $PPID) &")
	end
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d " ..
		"status_errors=%d socket_errors=%d\n",
		summary.requests, summary.duration,
		latency:percentile(50), latency:percentile(99), e.status,
		e.connect + e.read + e.write + e.timeout))
end
