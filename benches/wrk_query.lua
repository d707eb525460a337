-- The start of the GraphQL wrk scripts (`local query = dofile("benches/wrk_query.lua")(default)`):
-- reads the query file CUR_BENCH_QUERY (or `default`), escaped for a JSON string, and sets the
-- request up: a POST of JSON with CUR_BENCH_TOKEN (a token the script mints with
-- `cur-gateway token`, so every request is verified as in production).
return function(default)
  local path = assert(os.getenv("CUR_BENCH_QUERY") or default, "CUR_BENCH_QUERY")
  local file = assert(io.open(path), path)
  local query = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.path = "/graphql"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("CUR_BENCH_TOKEN"), "CUR_BENCH_TOKEN")
  return (query:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\n", "\\n"))
end
