-- wrk script: POST a KPI query (CUR_BENCH_QUERY) over the last DAYS days (30), each request
-- with a window end of its own, seconds later (so no cache can answer), from a fixed
-- start (both servers see the same windows).
local query = dofile("benches/wrk_query.lua")()
local days = tonumber(os.getenv("DAYS") or "30")
local to = tonumber(os.getenv("CUR_BENCH_WINDOW_END") or os.time())

local counter, threads = 0, 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

request = function()
  counter = counter + 1
  -- Each thread its own seconds: no two requests ask the same window.
  local t = to + counter * 16 + (tid or 0)
  local body = string.format('{"query":"%s","variables":{"from":"%s","to":"%s"}}', query,
    iso(t - days * 86400), iso(t))
  return wrk.format(nil, "/graphql", nil, body)
end

done = dofile("benches/wrk_done.lua")
