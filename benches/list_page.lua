-- wrk script: POST the list page query for a random municipality (as pgbench does).
local file = io.open(os.getenv("CUR_BENCH_QUERY") or "benches/list_page.graphql")
local query = file:read("*a")
file:close()
query = query:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\n", "\\n")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- An operator's token (the script mints it with `cur-gateway token`): every request is
-- verified as in production.
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("CUR_BENCH_TOKEN"), "CUR_BENCH_TOKEN")

math.randomseed(86)
request = function()
  -- The gateway's `municipalityId` is an ID (a string); PostGraphile's an Int
  -- (CUR_BENCH_INT_IDS=1).
  local id = os.getenv("CUR_BENCH_INT_IDS") and "%d" or '"%d"'
  local body = string.format('{"query":"%s","variables":{"municipalityId":' .. id .. '}}',
    query, math.random(1, 22))
  return wrk.format(nil, "/graphql", nil, body)
end

-- Responses are not inspected here (each wrk thread has its own Lua state); the script
-- checks one response for errors before the run, and non-2xx answers are counted below.
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
