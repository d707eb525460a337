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

done = dofile("benches/wrk_done.lua")
