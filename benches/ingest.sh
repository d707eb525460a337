#!/usr/bin/env bash
# Ingest benchmark: complaints per second through `ingestComplaints` (batches of 1,000 new
# complaints without categories: each is classified, routed and given deadlines, written
# idempotently with its history) against the same rows written by plain SQL (pgbench,
# benches/ingest.sql), alternating rounds, on a Postgres database with COMPLAINTS seeded.
# Writes the medians to benches/RESULTS.md.
#
#   benches/ingest.sh
#
# Environment: PG_ROOT (postgres://postgres@127.0.0.1:5432), BENCH_DB (cur_ingest_bench,
# recreated each run), COMPLAINTS (100000 seeded first), CONNECTIONS (4), DURATION (20s),
# ROUNDS (3), BATCH (1000). Needs wrk and pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ROOT=${PG_ROOT:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-cur_ingest_bench}
COMPLAINTS=${COMPLAINTS:-100000}
CONNECTIONS=${CONNECTIONS:-4}
DURATION=${DURATION:-20s}
ROUNDS=${ROUNDS:-3}
export BATCH=${BATCH:-1000}
PORT=${PORT:-18091}
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
psql "$PG_ROOT/postgres" -qc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)"
psql "$PG_ROOT/postgres" -qc "CREATE DATABASE $BENCH_DB"
DATABASE_URL="$GW_URL" "$BIN" seed --complaints "$COMPLAINTS" | tee "$OUT/ingest_seed.txt"

. benches/operator_token.sh
CUR_BENCH_TOKEN=$(operator_token "$BIN" "$GW_URL")
export CUR_BENCH_TOKEN
# The deadline watch would add its own writes to the measurement.
DATABASE_URL="$GW_URL" CUR_LISTEN="127.0.0.1:$PORT" CUR_DEADLINE_WATCH_SECS=0 RUST_LOG=warn \
  "$BIN" serve > "$OUT/ingest_gateway.log" 2>&1 &
GW=$!
trap 'kill $GW 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done

echo "warming up"
wrk -t1 -c1 -d3s -s benches/ingest.lua "http://127.0.0.1:$PORT" | grep RESULT
(cd "$OUT" && pgbench -n -c 1 -T 3 -f ../ingest.sql "$URL" >/dev/null)

secs=${DURATION%s}
rm -f "$OUT"/ingest_wrk.*.txt "$OUT"/ingest_pgbench.*.txt
threads=$(( CONNECTIONS < 2 ? CONNECTIONS : 2 ))
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round: gateway (wrk -c$CONNECTIONS -d$DURATION, batches of $BATCH)"
  wrk -t"$threads" -c"$CONNECTIONS" -d"$DURATION" --timeout 30s --latency -s benches/ingest.lua \
    "http://127.0.0.1:$PORT" | tee "$OUT/ingest_wrk.$round.txt" | grep RESULT
  echo "round $round: raw SQL (pgbench -c$CONNECTIONS -T $secs)"
  (cd "$OUT" && pgbench -n -c "$CONNECTIONS" -j "$threads" -T "$secs" -f ../ingest.sql "$URL") \
    | tee "$OUT/ingest_pgbench.$round.txt" | grep -E "tps|latency average"
done
total=$(psql "$URL" -Atc "SELECT COUNT(*) FROM complaint")
dupes=$(psql "$URL" -Atc "SELECT COUNT(*) - COUNT(DISTINCT (source, external_id)) FROM complaint")
kill $GW; wait $GW 2>/dev/null || true
trap - EXIT

python3 - "$OUT" "$CONNECTIONS" "$DURATION" "$ROUNDS" "$COMPLAINTS" "$total" "$dupes" <<'PY'
import sys; sys.path.insert(0, "benches")
from results_section import write_section
import re, sys, datetime, statistics
out, conns, duration, rounds, seeded, total, dupes = sys.argv[1:8]
rounds = int(rounds)
pat = r"RESULT complaints_per_s=([\d.]+) batches=(\d+) p50_ms=([\d.]+) p99_ms=([\d.]+) failed=(\d+) non2xx=(\d+)"
gw = [re.search(pat, open(f"{out}/ingest_wrk.{r}.txt").read()) for r in range(1, rounds + 1)]
g_rate = [float(m[1]) for m in gw]
g_p50 = statistics.median(float(m[3]) for m in gw)
g_p99 = statistics.median(float(m[4]) for m in gw)
failed = sum(int(m[5]) + int(m[6]) for m in gw)
pg = [open(f"{out}/ingest_pgbench.{r}.txt").read() for r in range(1, rounds + 1)]
s_rate = [float(re.search(r"tps = ([\d.]+)", t)[1]) * 1000 for t in pg]
s_lat = statistics.median(float(re.search(r"latency average = ([\d.]+) ms", t)[1]) for t in pg)
g, s = statistics.median(g_rate), statistics.median(s_rate)
runs = ", ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(g_rate, s_rate))
block = f"""<!-- ingest:start -->
## Ingest throughput (issue 4)

`benches/ingest.sh` — {datetime.date.today()}, {conns} connections, {rounds} alternating rounds of {duration}
per side, batches of 1,000 new complaints on a Postgres database seeded with {int(seeded):,} (2 cores
shared by wrk, the gateway and the database). The gateway classifies each text (no category given),
routes it by the rules, computes its deadlines and writes it idempotently with its search text,
registration and routing events and assignment; the raw-SQL side writes the same rows in one
transaction per batch with no logic.

| median of {rounds} rounds | complaints/s | batch p50 (ms) | batch p99 / avg (ms) |
|---|---:|---:|---:|
| gateway (`ingestComplaints`, release build, wrk) | {g:.0f} | {g_p50:.0f} | {g_p99:.0f} |
| raw SQL (pgbench, `benches/ingest.sql`) | {s:.0f} | – | {s_lat:.0f} (avg) |

Gateway: **{g:.0f} complaints/s** (aim: at least 5,000); {g / s:.2f} of raw SQL. Rounds
(gateway/raw): {runs}. Failed batches: {failed}. Rows afterwards: {int(total):,}, duplicate
(source, external id) pairs: {dupes}.
<!-- ingest:end -->"""
write_section("ingest", block)
PY
