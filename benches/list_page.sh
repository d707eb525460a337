#!/usr/bin/env bash
# List-page benchmark: the release gateway under wrk vs the equivalent SQL under pgbench, back
# to back in alternating rounds, same concurrency, on a Postgres database seeded with 1M
# complaints. Writes the medians to benches/RESULTS.md.
#
#   benches/list_page.sh            # seeds cur_bench on first use (about a minute and a half)
#
# Environment: PG_ROOT (default postgres://postgres@127.0.0.1:5432), BENCH_DB (cur_bench),
# CONNECTIONS (32), DURATION (20s per round and side), ROUNDS (3), COMPLAINTS (1000000); CUR_DB_POOL_SIZE passes through to
# the gateway (default: twice the cores). Needs wrk and pgbench
# (Debian: apt-get install wrk postgresql-client).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ROOT=${PG_ROOT:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-cur_bench}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-20s}
ROUNDS=${ROUNDS:-3}
COMPLAINTS=${COMPLAINTS:-1000000}
PORT=${PORT:-18090}
# Both sides talk to Postgres over loopback without TLS (libpq's default "prefer" would
# negotiate TLS for pgbench; the gateway gets the same plain connection).
export PGSSLMODE=disable
URL="$PG_ROOT/$BENCH_DB"
GW_URL="$URL?sslmode=disable"
OUT=benches/out
mkdir -p "$OUT"

for tool in wrk pgbench psql; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk postgresql-client)"; exit 1; }
done

cargo build --release --quiet
BIN=target/release/cur-gateway

have=$(psql "$URL" -Atc "SELECT COUNT(*) FROM complaint_search" 2>/dev/null || echo 0)
if [ "$have" -lt "$COMPLAINTS" ]; then
  echo "seeding $COMPLAINTS complaints into $BENCH_DB"
  psql "$PG_ROOT/postgres" -qc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)"
  psql "$PG_ROOT/postgres" -qc "CREATE DATABASE $BENCH_DB"
  DATABASE_URL="$GW_URL" "$BIN" seed --complaints "$COMPLAINTS" | tee "$OUT/seed.txt"
fi

. benches/operator_token.sh
CUR_BENCH_TOKEN=$(operator_token "$BIN" "$GW_URL")
export CUR_BENCH_TOKEN
# The comparison with raw SQL measures the GraphQL layer, so that gateway executes every
# request (no operation cache); a second gateway with the operation cache on (the default)
# runs in the same rounds for the repeated-read case.
CACHED_PORT=$((PORT + 1))
DATABASE_URL="$GW_URL" CUR_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn CUR_CACHE_OPERATIONS=false \
  "$BIN" serve > "$OUT/gateway.log" 2>&1 &
GW=$!
DATABASE_URL="$GW_URL" CUR_LISTEN="127.0.0.1:$CACHED_PORT" RUST_LOG=warn CUR_DEADLINE_WATCH_SECS=0 \
  "$BIN" serve > "$OUT/gateway_cached.log" 2>&1 &
GW_CACHED=$!
trap 'kill $GW $GW_CACHED 2>/dev/null || true' EXIT
for p in $PORT $CACHED_PORT; do
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.2; done
done

# One response checked by hand: 50 rows, no errors.
body=$(python3 -c 'import json,sys; print(json.dumps({"query": open("benches/list_page.graphql").read(), "variables": {"municipalityId": "1"}}))')
check=$(curl -s -X POST "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' \
  -H "authorization: Bearer $CUR_BENCH_TOKEN" -d "$body")
python3 - "$check" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert "errors" not in r, r["errors"]
assert len(r["data"]["complaints"]["edges"]) == 50, "expected a full page"
PY

echo "warming up"
wrk -t2 -c"$CONNECTIONS" -d5s -s benches/list_page.lua "http://127.0.0.1:$PORT" >/dev/null
(cd "$OUT" && pgbench -n -M prepared -c "$CONNECTIONS" -j 2 -T 5 -f ../list_page.sql "$URL" >/dev/null)

# Alternate the two, ROUNDS times each: this machine's throughput drifts by ±15 % from minute
# to minute, and alternating spreads that drift over both sides.
secs=${DURATION%s}
rm -f "$OUT"/wrk.*.txt "$OUT"/wrk_cached.*.txt "$OUT"/pgbench.*.txt "$OUT"/pgbench_log.*
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round: gateway (wrk -t2 -c$CONNECTIONS -d$DURATION)"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s benches/list_page.lua "http://127.0.0.1:$PORT" \
    | tee "$OUT/wrk.$round.txt" | grep RESULT
  echo "round $round: gateway with the operation cache"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s benches/list_page.lua "http://127.0.0.1:$CACHED_PORT" \
    | tee "$OUT/wrk_cached.$round.txt" | grep RESULT
  echo "round $round: raw SQL (pgbench -c$CONNECTIONS -T $secs)"
  (cd "$OUT" && pgbench -n -M prepared -c "$CONNECTIONS" -j 2 -T "$secs" -l \
    --log-prefix="pgbench_log.$round" -f ../list_page.sql "$URL") | tee "$OUT/pgbench.$round.txt" | grep tps
done
kill $GW $GW_CACHED; wait $GW $GW_CACHED 2>/dev/null || true
trap - EXIT

python3 - "$OUT" "$CONNECTIONS" "$DURATION" "$ROUNDS" <<'PY'
import sys; sys.path.insert(0, "benches")
from results_section import write_section
import glob, re, sys, datetime, statistics
out, conns, duration, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
pat = r"RESULT rps=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) requests=(\d+) non2xx=(\d+)"
gw = [re.search(pat, open(f"{out}/wrk.{r}.txt").read()) for r in range(1, rounds + 1)]
g_rps = [float(m[1]) for m in gw]
g_p50 = statistics.median(float(m[2]) for m in gw)
g_p99 = statistics.median(float(m[3]) for m in gw)
g_bad = sum(int(m[5]) for m in gw)
gc = [re.search(pat, open(f"{out}/wrk_cached.{r}.txt").read()) for r in range(1, rounds + 1)]
c_rps = [float(m[1]) for m in gc]
c_p50 = statistics.median(float(m[2]) for m in gc)
c_p99 = statistics.median(float(m[3]) for m in gc)
g_bad += sum(int(m[5]) for m in gc)
tps = [float(re.search(r"tps = ([\d.]+)", open(f"{out}/pgbench.{r}.txt").read())[1])
       for r in range(1, rounds + 1)]
def pct(r, p):
    lat = sorted(int(l.split()[2]) / 1000 for f in glob.glob(f"{out}/pgbench_log.{r}.*") for l in open(f))
    return lat[min(len(lat) - 1, int(round(p * (len(lat) - 1))))]
s_p50 = statistics.median(pct(r, 0.5) for r in range(1, rounds + 1))
s_p99 = statistics.median(pct(r, 0.99) for r in range(1, rounds + 1))
g, s, c = statistics.median(g_rps), statistics.median(tps), statistics.median(c_rps)
ratio = g / s
runs = ", ".join(f"{a:.0f}/{b:.0f}/{x:.0f}" for a, b, x in zip(g_rps, tps, c_rps))
block = f"""<!-- list-page:start -->
## List page: gateway vs raw SQL (issue 2)

`benches/list_page.sh` — {datetime.date.today()}, {conns} connections, {rounds} alternating rounds of
{duration} per side, on 1,000,000 complaints (Postgres 15, 2 cores shared by the load generator,
the gateway and the database). Page: 50 newest HOUSING_UTILITIES complaints of a random
municipality, with municipality, department, assignee, status and response count.

| median of {rounds} rounds | throughput (req/s) | p50 (ms) | p99 (ms) |
|---|---:|---:|---:|
| gateway, every request executed (GraphQL over HTTP, release build, wrk) | {g:.0f} | {g_p50:.2f} | {g_p99:.2f} |
| raw SQL (one statement, pgbench -M prepared) | {s:.0f} | {s_p50:.2f} | {s_p99:.2f} |
| gateway with the operation cache (22 distinct pages, repeated) | {c:.0f} | {c_p50:.2f} | {c_p99:.2f} |

Gateway (executing) / raw SQL throughput: **{ratio:.2f}** (aim: at least 0.5); with the
operation cache {c / s:.2f}, which measures the cache, not the GraphQL layer. Rounds
(gateway/pgbench/cached gateway): {runs}. Non-2xx responses: {g_bad}.
<!-- list-page:end -->"""
write_section("list-page", block)
PY
