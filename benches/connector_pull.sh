#!/usr/bin/env bash
# Connector pull benchmark (issue 15): a release gateway pulls 100,000 requests from another
# release gateway's Open311 API (GeoReport v2 `requests.json`, windows of at most 1,000) while
# wrk reads list pages from it; its request latency during the pull is compared with the same
# load without a pull, on the same data, in alternating rounds. Writes benches/RESULTS.md.
#
#   benches/connector_pull.sh
#   REPORT_ONLY=1 benches/connector_pull.sh   # the table again from benches/out/pull
#
# Environment: PG_ROOT (default postgres://postgres@127.0.0.1:5432), REQUESTS (100000),
# CONNECTIONS (8: a steady load that leaves the pull some of the 2 cores), DURATION (15s of
# load per round), ROUNDS (3). Needs wrk and psql (Debian: apt-get install wrk
# postgresql-client).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ROOT=${PG_ROOT:-postgres://postgres@127.0.0.1:5432}
REQUESTS=${REQUESTS:-100000}
CONNECTIONS=${CONNECTIONS:-8}
DURATION=${DURATION:-15s}
ROUNDS=${ROUNDS:-3}
SRC_PORT=${SRC_PORT:-18190}
PORT=${PORT:-18191}
export PGSSLMODE=disable
OUT=benches/out/pull
mkdir -p "$OUT"
for tool in wrk psql curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk postgresql-client)"; exit 1; }
done

BIN=${BIN:-target/release/cur-gateway}
if [ -z "${SKIP_BUILD:-}" ]; then cargo build --release --quiet; fi
db() { echo "$PG_ROOT/$1?sslmode=disable"; }
sql() { psql "$PG_ROOT/$1" -Atqc "$2"; }

# The source: REQUESTS complaints, every one public, so its Open311 API serves them all.
SRC=cur_pull_src
have=$(sql $SRC "SELECT COUNT(*) FROM complaint WHERE is_public" 2>/dev/null || echo 0)
if [ "$have" != "$REQUESTS" ]; then
  echo "seeding the source: $REQUESTS requests"
  sql postgres "DROP DATABASE IF EXISTS $SRC WITH (FORCE)"
  sql postgres "CREATE DATABASE $SRC"
  DATABASE_URL=$(db $SRC) "$BIN" seed --complaints "$REQUESTS" > "$OUT/seed_src.txt"
  sql $SRC "UPDATE complaint SET is_public = TRUE"
fi
# The puller's data: a region of its own (the list pages read it), copied fresh per round.
BASE=cur_pull_base
if [ "$(sql $BASE "SELECT COUNT(*) FROM complaint" 2>/dev/null || echo 0)" != 100000 ]; then
  echo "seeding the puller's region: 100000 complaints"
  sql postgres "DROP DATABASE IF EXISTS $BASE WITH (FORCE)"
  sql postgres "CREATE DATABASE $BASE"
  DATABASE_URL=$(db $BASE) "$BIN" seed --complaints 100000 > "$OUT/seed_base.txt"
fi

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
wait_ready() { for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.2; done; echo "no gateway on $1"; exit 1; }

DATABASE_URL=$(db $SRC) CUR_LISTEN="127.0.0.1:$SRC_PORT" RUST_LOG=warn CUR_DEADLINE_WATCH_SECS=0 \
  CUR_RATE_LIMIT_PUBLIC=0 "$BIN" serve > "$OUT/source.log" 2>&1 &
pids+=($!)
wait_ready $SRC_PORT

cat > "$OUT/connectors.toml" <<EOF
[[connector]]
name = "bench-open311"
kind = "open311"
url = "http://127.0.0.1:$SRC_PORT/open311/v2"
interval = "1s"
municipality_id = 1
since = "400d"
page_size = 1000
max_pages = 10000
timeout = "30s"
EOF

. benches/operator_token.sh
CUR_BENCH_TOKEN=$(operator_token "$BIN" "$(db $BASE)")
export CUR_BENCH_TOKEN

pulled() { sql "$1" "SELECT COALESCE(SUM(created), 0) FROM connector_tally WHERE connector = 'bench-open311'"; }

# One round: a fresh copy of the puller's database, its gateway with or without the
# connector, wrk's list pages for DURATION; with the connector, the pull's time to the last
# request.
round() {
  local kind=$1 n=$2 target=cur_pull_dst
  sql postgres "DROP DATABASE IF EXISTS $target WITH (FORCE)"
  sql postgres "CREATE DATABASE $target TEMPLATE $BASE"
  local env=(DATABASE_URL="$(db $target)" CUR_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn
    CUR_DEADLINE_WATCH_SECS=0 CUR_CACHE_OPERATIONS=false)
  if [ "$kind" != idle ]; then env+=(CUR_CONNECTORS_FILE="$OUT/connectors.toml"); fi
  env "${env[@]}" "$BIN" serve > "$OUT/gateway.$kind.$n.log" 2>&1 &
  local gw=$!
  pids+=($gw)
  wait_ready $PORT
  local started
  started=$(date +%s.%N)
  if [ "$kind" != alone ]; then
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s benches/list_page.lua "http://127.0.0.1:$PORT" \
      > "$OUT/wrk.$kind.$n.txt"
    grep RESULT "$OUT/wrk.$kind.$n.txt" | sed "s/^/  $kind $n: /"
  fi
  if [ "$kind" != idle ]; then
    local during
    during=$(pulled $target)
    until [ "$(pulled $target)" -ge "$REQUESTS" ]; do sleep 0.2; done
    local took
    took=$(python3 -c "import time; print(round(time.time() - $started, 2))")
    local rows
    rows=$(sql $target "SELECT COUNT(*) FROM complaint WHERE source = 'OPEN311' AND external_id LIKE '86-%'")
    echo "$kind $n pulled=$(pulled $target) rows=$rows took=$took during_load=$during" | tee "$OUT/pull.$kind.$n.txt"
  fi
  kill $gw; wait $gw 2>/dev/null || true
}

if [ -z "${REPORT_ONLY:-}" ]; then
  for n in $(seq 1 "$ROUNDS"); do
    round idle "$n"
    round loaded "$n"
    round alone "$n"
  done
fi
cleanup
trap - EXIT

python3 - "$OUT" "$REQUESTS" "$CONNECTIONS" "$DURATION" "$ROUNDS" <<'PY'
import sys; sys.path.insert(0, "benches")
from results_section import write_section
import re, statistics, datetime
out, requests, conns, duration, rounds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
pat = r"RESULT rps=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) requests=(\d+) non2xx=(\d+)"
def wrk(kind):
    ms = [re.search(pat, open(f"{out}/wrk.{kind}.{r}.txt").read()) for r in range(1, rounds + 1)]
    return ([float(m[1]) for m in ms], [float(m[2]) for m in ms], [float(m[3]) for m in ms], sum(int(m[5]) for m in ms))
def pull(kind):
    rows = [dict(kv.split("=") for kv in open(f"{out}/pull.{kind}.{r}.txt").read().split()[2:]) for r in range(1, rounds + 1)]
    for r in rows:
        assert int(r["pulled"]) == requests and int(r["rows"]) == requests, r
    return [requests / float(r["took"]) for r in rows], [int(r["during_load"]) for r in rows]
i_rps, i_p50, i_p99, i_bad = wrk("idle")
l_rps, l_p50, l_p99, l_bad = wrk("loaded")
alone, _ = pull("alone")
loaded, during = pull("loaded")
med = statistics.median
block = f"""<!-- connector-pull:start -->
## Connector pull: 100,000 Open311 requests (issue 15)

`benches/connector_pull.sh` — {datetime.date.today()}, {rounds} alternating rounds. A release
gateway pulls {requests:,} requests from another release gateway's Open311 API
(`requests.json` windows of at most 1,000, each page ingested with its checkpoint in one
transaction); both gateways, Postgres 15 and wrk share the 2 cores. The load: list pages
(`benches/list_page.lua`, {conns} connections, {duration} per round) of the puller's own
100,000 complaints, every request executed (no operation cache).

| median of {rounds} rounds | list-page throughput (req/s) | p50 (ms) | p99 (ms) | pull (items/s) |
|---|---:|---:|---:|---:|
| no pull | {med(i_rps):.0f} | {med(i_p50):.2f} | {med(i_p99):.2f} | – |
| during the pull | {med(l_rps):.0f} | {med(l_p50):.2f} | {med(l_p99):.2f} | {med(loaded):.0f} |
| the pull alone | – | – | – | {med(alone):.0f} |

Every round registered exactly {requests:,} complaints (checked in SQL), each once. Items
pulled by the end of the load: {", ".join(f"{d:,}" for d in during)} — {"so the pull ran through the whole load window in every round" if max(during) < requests else "some rounds' pulls ended before their load did: their figures mix both"}.
p99 per round, no pull / during: {", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(i_p99, l_p99))} ms.
Non-2xx responses: {i_bad + l_bad}. On these 2 cores the source gateway answering its
windows, the puller parsing and ingesting them and Postgres writing 100,000 rows with their
history take the CPU the list pages lose; the pull holds one database connection at a time,
for one page of at most 1,000.
<!-- connector-pull:end -->"""
write_section("connector-pull", block)
PY
echo "written to benches/RESULTS.md"
