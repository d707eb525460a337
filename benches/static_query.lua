-- wrk script: POST one query without variables (CUR_BENCH_QUERY), over and over.
local path = assert(os.getenv("CUR_BENCH_QUERY"), "CUR_BENCH_QUERY")
local file = assert(io.open(path), path)
local query = file:read("*a")
file:close()
query = query:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\n", "\\n")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("CUR_BENCH_TOKEN"), "CUR_BENCH_TOKEN")
wrk.path = "/graphql"
wrk.body = string.format('{"query":"%s","variables":{}}', query)

done = dofile("benches/wrk_done.lua")
