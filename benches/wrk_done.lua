-- The `done` of the wrk scripts (`done = dofile("benches/wrk_done.lua")`): one RESULT line the
-- benchmark scripts parse. Responses are not inspected here (each wrk thread has its own Lua
-- state); the scripts check one response before the run, and non-2xx answers are counted.
return function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
