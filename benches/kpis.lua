-- wrk script for benches/kpis.sh. MODE=cached: the same KPI query over and over (after the
-- first, answered from the cache). MODE=uncached: every request a new window end (one second
-- later each time), so every request computes. MODE=mixed: cached reads with WRITE_EVERY-th
-- request an ingest of one new complaint (which invalidates the KPIs).
local mode = os.getenv("MODE") or "cached"
local days = tonumber(os.getenv("DAYS") or "30")
local write_every = tonumber(os.getenv("WRITE_EVERY") or "10")
local counter = 0
local threads, next_id = {}, 0
-- One window end for every thread (each loads this file on its own, maybe a second apart):
-- the same dashboard query on every connection. `window_end` and `tid` are globals that setup
-- gives each thread (a local here would shadow them: both threads were tid 0 and wrote the same
-- external ids, so some ingests were duplicates).
local window_end_at_start = os.time() + 3600

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  thread:set("window_end", window_end_at_start)
  table.insert(threads, thread)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("CUR_BENCH_TOKEN"), "CUR_BENCH_TOKEN")

local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

local kpi = 'query($f: KpiFilter!) { kpis(filter: $f, groupBy: DEPARTMENT) { key received overdue slaCompliance firstResponse { p50 p90 } } }'
local ingest = 'mutation($e: String!) { ingestComplaints(input: [{ source: VK, externalId: $e, text: \\"Яма на дороге у дома 5\\", municipalityId: \\"1\\" }]) { created } }'

request = function()
  counter = counter + 1
  if mode == "mixed" and counter % write_every == 0 then
    local body = string.format('{"query":"%s","variables":{"e":"kpi-bench-%d-%d-%d"}}', ingest, os.time(), tid, counter)
    return wrk.format(nil, "/graphql", nil, body)
  end
  local t = window_end
  if mode == "uncached" then
    t = window_end + counter * 100 + tid
  end
  local body = string.format('{"query":"%s","variables":{"f":{"from":"%s","to":"%s"}}}', kpi, iso(t - days * 86400), iso(t))
  return wrk.format(nil, "/graphql", nil, body)
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.2f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.requests, summary.errors.status))
end
