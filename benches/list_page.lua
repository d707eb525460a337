-- wrk script: POST the list page query for a random municipality (as pgbench does).
local query = dofile("benches/wrk_query.lua")("benches/list_page.graphql")

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
