#!/usr/bin/env bash
# List-page benchmark: the release gateway under wrk vs the equivalent SQL under pgbench, back
# to back, same concurrency, on a Postgres database seeded with 1M complaints.
#
#   benches/list_page.sh            # seeds cur_bench on first use (about a minute and a half)
#
# Environment: PG_ROOT (default postgres://postgres@127.0.0.1:5432), BENCH_DB (cur_bench),
# CONNECTIONS (32), DURATION (30s), COMPLAINTS (1000000); CUR_DB_POOL_SIZE passes through to
# the gateway (default: twice the cores). Needs wrk and pgbench
# (Debian: apt-get install wrk postgresql-client).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ROOT=${PG_ROOT:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-cur_bench}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-30s}
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

DATABASE_URL="$GW_URL" CUR_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn \
  "$BIN" serve > "$OUT/gateway.log" 2>&1 &
GW=$!
trap 'kill $GW 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done

# One response checked by hand: 50 rows, no errors.
body=$(python3 -c 'import json,sys; print(json.dumps({"query": open("benches/list_page.graphql").read(), "variables": {"municipalityId": "1"}}))')
check=$(curl -s -X POST "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' -d "$body")
python3 - "$check" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert "errors" not in r, r["errors"]
assert len(r["data"]["complaints"]["edges"]) == 50, "expected a full page"
PY

echo "warming up"
wrk -t2 -c"$CONNECTIONS" -d5s -s benches/list_page.lua "http://127.0.0.1:$PORT" >/dev/null
psql "$URL" -qAtc "SELECT 1" >/dev/null
echo "gateway: wrk -t2 -c$CONNECTIONS -d$DURATION"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s benches/list_page.lua "http://127.0.0.1:$PORT" | tee "$OUT/wrk.txt"
kill $GW; wait $GW 2>/dev/null || true
trap - EXIT

echo "raw SQL: pgbench -c$CONNECTIONS"
rm -f "$OUT"/pgbench_log.*
secs=${DURATION%s}
(cd "$OUT" && pgbench -n -M prepared -c "$CONNECTIONS" -j 2 -T "$secs" -l --log-prefix=pgbench_log \
  -f ../list_page.sql "$URL") | tee "$OUT/pgbench.txt"

python3 - "$OUT" "$CONNECTIONS" "$DURATION" <<'PY'
import glob, re, sys, datetime, statistics
out, conns, duration = sys.argv[1], sys.argv[2], sys.argv[3]
wrk = re.search(r"RESULT rps=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) requests=(\d+) non2xx=(\d+)", open(f"{out}/wrk.txt").read())
g_rps, g_p50, g_p99, g_n, g_bad = float(wrk[1]), float(wrk[2]), float(wrk[3]), int(wrk[4]), int(wrk[5])
tps = float(re.search(r"tps = ([\d.]+)", open(f"{out}/pgbench.txt").read())[1])
lat = sorted(int(line.split()[2]) / 1000 for f in glob.glob(f"{out}/pgbench_log.*") for line in open(f))
q = lambda p: lat[min(len(lat) - 1, int(round(p * (len(lat) - 1))))]
ratio = g_rps / tps
block = f"""<!-- list-page:start -->
## List page: gateway vs raw SQL (issue 2)

`benches/list_page.sh` — {datetime.date.today()}, {conns} connections, {duration} each, back to back,
on 1,000,000 complaints (Postgres 15, 2 cores shared by the load generator, the gateway and
the database). Page: 50 newest HOUSING_UTILITIES complaints of a random municipality, with
municipality, department, assignee, status and response count.

| | throughput (req/s) | p50 (ms) | p99 (ms) |
|---|---:|---:|---:|
| gateway (GraphQL over HTTP, release build, wrk) | {g_rps:.0f} | {g_p50:.2f} | {g_p99:.2f} |
| raw SQL (one statement, pgbench -M prepared) | {tps:.0f} | {q(0.5):.2f} | {q(0.99):.2f} |

Gateway / raw SQL throughput: **{ratio:.2f}** (aim: at least 0.5). Non-2xx responses: {g_bad}.
<!-- list-page:end -->"""
path = "benches/RESULTS.md"
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmark results\n\nEach section names the command that produced it.\n"
if "<!-- list-page:start -->" in text:
    text = re.sub(r"<!-- list-page:start -->.*<!-- list-page:end -->", lambda _: block, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n" + block + "\n"
open(path, "w").write(text)
print(block)
PY
