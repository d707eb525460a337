-- wrk script: one complaint with its whole history (CUR_BENCH_QUERY), a random one of the ids
-- in CUR_BENCH_IDS (a file, one id a line: complaints in the caller's scope).
local function read(path)
  local file = assert(io.open(path))
  local text = file:read("*a")
  file:close()
  return text
end
local query = dofile("benches/wrk_query.lua")()
local ids = {}
for id in read(assert(os.getenv("CUR_BENCH_IDS"), "CUR_BENCH_IDS")):gmatch("%d+") do
  ids[#ids + 1] = id
end

math.randomseed(86)
request = function()
  local body = string.format('{"query":"%s","variables":{"id":"%s"}}', query, ids[math.random(1, #ids)])
  return wrk.format(nil, "/graphql", nil, body)
end

done = dofile("benches/wrk_done.lua")
