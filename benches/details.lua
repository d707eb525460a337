-- wrk script: one complaint with its whole history (CUR_BENCH_QUERY), a random one of the ids
-- in CUR_BENCH_IDS (a file, one id a line: complaints in the caller's scope).
local function read(path)
  local file = assert(io.open(path))
  local text = file:read("*a")
  file:close()
  return text
end
local query = read(assert(os.getenv("CUR_BENCH_QUERY"), "CUR_BENCH_QUERY"))
query = query:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\n", "\\n")
local ids = {}
for id in read(assert(os.getenv("CUR_BENCH_IDS"), "CUR_BENCH_IDS")):gmatch("%d+") do
  ids[#ids + 1] = id
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("CUR_BENCH_TOKEN"), "CUR_BENCH_TOKEN")

math.randomseed(86)
request = function()
  local body = string.format('{"query":"%s","variables":{"id":"%s"}}', query, ids[math.random(1, #ids)])
  return wrk.format(nil, "/graphql", nil, body)
end

done = dofile("benches/wrk_done.lua")
