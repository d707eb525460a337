#!/usr/bin/env bash
# KPI benchmark on the 1M-complaint database of list_page.sh (seeded there on first use):
# one RESULTS.md section per window length and cache backend.
# `kpis(groupBy: DEPARTMENT)` over the last DAYS days, uncached (a new window every request)
# and cached (the same query), in one run, then a mixed load (reads with one ingest every
# WRITE_EVERY requests) for the hit ratio. Writes benches/RESULTS.md.
#
#   benches/kpis.sh
#
# Environment: PG_ROOT, BENCH_DB (cur_bench), CONNECTIONS (4), DURATION (20s), DAYS (30),
# WRITE_EVERY (10), REDIS_URL (unset: in-memory cache), BIN and SKIP_BUILD (a built release
# binary).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_ROOT=${PG_ROOT:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-cur_bench}
CONNECTIONS=${CONNECTIONS:-4}
DURATION=${DURATION:-20s}
export DAYS=${DAYS:-30} WRITE_EVERY=${WRITE_EVERY:-10}
PORT=${PORT:-18093}
URL="$PG_ROOT/$BENCH_DB?sslmode=disable"
OUT=benches/out
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "missing wrk"; exit 1; }
have=$(psql "$PG_ROOT/$BENCH_DB" -Atc "SELECT COUNT(*) FROM complaint" 2>/dev/null || echo 0)
[ "$have" -ge 1000000 ] || { echo "run benches/list_page.sh first (it seeds $BENCH_DB)"; exit 1; }

BIN=${BIN:-target/release/cur-gateway}
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet
DATABASE_URL="$URL" "$BIN" migrate >/dev/null
. benches/operator_token.sh
CUR_BENCH_TOKEN=$(operator_token "$BIN" "$URL")
export CUR_BENCH_TOKEN
DATABASE_URL="$URL" CUR_LISTEN="127.0.0.1:$PORT" CUR_DEADLINE_WATCH_SECS=0 RUST_LOG=warn \
  CUR_CACHE_PREFIX="bench:$(date +%s):" "$BIN" serve > "$OUT/kpis_gateway.log" 2>&1 &
GW=$!
trap 'kill $GW 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
# A counter summed over its labels (the cache counters are per topic).
metric() {
  curl -s "http://127.0.0.1:$PORT/metrics" \
    | awk -v m="$1" 'index($1, m) == 1 && (length($1) == length(m) || substr($1, length(m) + 1, 1) == "{") { s += $2 } END { print s + 0 }'
}
run() {  # MODE -> RESULT line
  MODE=$1 wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 60s --latency -s benches/kpis.lua \
    "http://127.0.0.1:$PORT" | tee "$OUT/kpis_$1.txt" | grep RESULT
}
echo "uncached"; run uncached
echo "cached"; run cached
h0=$(metric cur_cache_hits_total); m0=$(metric cur_cache_misses_total)
echo "mixed"; run mixed
h1=$(metric cur_cache_hits_total); m1=$(metric cur_cache_misses_total)
kill $GW; wait $GW 2>/dev/null || true
trap - EXIT

python3 - "$OUT" "$CONNECTIONS" "$DURATION" "$DAYS" "$WRITE_EVERY" "$((h1 - h0))" "$((m1 - m0))" "${REDIS_URL:-}" <<'PY'
import sys; sys.path.insert(0, "benches")
from results_section import write_section
import re, sys, datetime
out, conns, duration, days, every, hits, misses, redis = sys.argv[1:9]
pat = r"RESULT rps=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) requests=(\d+) non2xx=(\d+)"
r = {m: re.search(pat, open(f"{out}/kpis_{m}.txt").read()) for m in ("uncached", "cached", "mixed")}
hits, misses = int(hits), int(misses)
ratio = float(r["cached"][1]) / float(r["uncached"][1])
mixed = float(r["mixed"][1]) / float(r["uncached"][1])
rows = "\n".join(f"| {m} | {float(x[1]):.1f} | {float(x[2]):.1f} | {float(x[3]):.1f} | {x[4]} | {x[5]} |" for m, x in r.items())
cache = "Redis" if redis else "in-memory"
name = f"kpis-{days}d-{'redis' if redis else 'memory'}"
block = f"""<!-- {name}:start -->
## KPIs over {days} days, {cache} cache: cached vs uncached (issue 5)

`benches/kpis.sh` — {datetime.date.today()}, {conns} connections, {duration} per mode, on 1,000,000 complaints,
`kpis(groupBy: DEPARTMENT)` over the last {days} days as an operator, cache: {cache}.
Uncached: every request a new window end, so no answer is cached and every request computes
(from the rollup parts and the sorted months of whole days kept in memory, checked against
their generations); cached: the same query.
Mixed: cached reads with an ingest of one complaint every {every}th request (each write
invalidates the KPIs).

| mode | req/s | p50 (ms) | p99 (ms) | requests | non-2xx |
|---|---:|---:|---:|---:|---:|
{rows}

Cached / uncached throughput: **{ratio:.0f}×** (aim: at least 20×). Mixed / uncached:
**{mixed:.1f}×** (issue 16's aim: at least 5×). Hit ratio under the mixed
load: {hits}/{hits + misses} = **{(hits / max(hits + misses, 1)):.2f}**.
<!-- {name}:end -->"""
write_section(name, block)
PY
