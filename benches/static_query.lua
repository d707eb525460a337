-- wrk script: POST one query without variables (CUR_BENCH_QUERY), over and over.
local query = dofile("benches/wrk_query.lua")()
wrk.body = string.format('{"query":"%s","variables":{}}', query)

done = dofile("benches/wrk_done.lua")
