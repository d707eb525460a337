-- wrk script: the status change with optimistic locking (CUR_BENCH_QUERY: the mutation), each
-- request a complaint of CUR_BENCH_WRITES (a file of "id version" lines, complaints the caller
-- may move from ASSIGNED to IN_PROGRESS) taken once, at the version the file gives. Threads take
-- alternate lines, so no two requests race for one complaint. An answer with errors (a lost
-- version race, a refused transition, the pool used up) is counted with the non-2xx answers.
local query = dofile("benches/wrk_query.lua")()
local threads = {}

setup = function(thread)
  thread:set("index", #threads)
  threads[#threads + 1] = thread
end

local pool, next_at = {}, 1
-- A global: done() reads it from each thread.
failed = 0
init = function()
  local count = tonumber(os.getenv("CUR_BENCH_THREADS") or "1")
  local path = assert(os.getenv("CUR_BENCH_WRITES"), "CUR_BENCH_WRITES")
  local file = assert(io.open(path))
  local line = 0
  for id, version in file:read("*a"):gmatch("(%d+) (%d+)") do
    if line % count == index then pool[#pool + 1] = { id, version } end
    line = line + 1
  end
  file:close()
end

-- PostGraphile's BigInt is a string, the gateway's ID too; versions are Int.
request = function()
  local item = pool[next_at] or { "0", "0" }
  next_at = next_at + 1
  local body = string.format('{"query":"%s","variables":{"id":"%s","v":%s}}', query, item[1], item[2])
  return wrk.format(nil, "/graphql", nil, body)
end

response = function(status, headers, body)
  if status == 200 and body:find('"errors"', 1, true) then
    failed = failed + 1
  end
end

local report = dofile("benches/wrk_done.lua")
done = function(summary, latency, requests)
  for _, thread in ipairs(threads) do
    summary.errors.status = summary.errors.status + (thread:get("failed") or 0)
  end
  report(summary, latency, requests)
end
