#!/usr/bin/env bash
# Live subscriptions under load: N concurrent subscribers on one release gateway (mixed roles:
# an operator, three ministries, three municipalities, the public) receive the events of a
# steady ingest; measures event-to-receipt latency (p50/p99) and the gateway's memory per
# subscriber at each N, with the load generator (benches/subscribers.rs) in the same run.
# Writes the figures to benches/RESULTS.md.
#
#   benches/subscribers.sh                 # N = 1000 5000 10000
#
# Environment: PG_ROOT (default postgres://postgres@127.0.0.1:5432), BENCH_DB (cur_subs),
# REDIS_URL (redis://127.0.0.1:6379: the event bus as in production), COUNTS ("1000 5000 10000"),
# RATE (complaints ingested per second, 5), SECONDS_OF_INGEST (20).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ROOT=${PG_ROOT:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-cur_subs}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
COUNTS=${COUNTS:-"1000 5000 10000"}
export RATE=${RATE:-5} SECONDS_OF_INGEST=${SECONDS_OF_INGEST:-20}
PORT=${PORT:-18190}
export PGSSLMODE=disable
URL="$PG_ROOT/$BENCH_DB?sslmode=disable"
OUT=benches/out
mkdir -p "$OUT"
# Each socket is a file descriptor on both sides.
ulimit -n "$(ulimit -Hn)"

cargo build --release --quiet
cargo bench --no-run --quiet --bench subscribers 2>/dev/null
GEN=$(ls -t target/release/deps/subscribers-* | grep -v '\.d$' | head -n1)
BIN=target/release/cur-gateway

psql "$PG_ROOT/postgres" -qc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)"
psql "$PG_ROOT/postgres" -qc "CREATE DATABASE $BENCH_DB"
DATABASE_URL="$URL" "$BIN" seed --complaints 20000 > "$OUT/subs_seed.txt"

export CUR_JWT_SECRET=${CUR_JWT_SECRET:-bench-secret-not-for-production-0123456789}
tok() { DATABASE_URL="$URL" "$BIN" token --ttl 2h "$@"; }
TOKENS="$(tok --role operator --sub bench-op),$(tok --role ministry --department 2 --sub bench-m2),$(tok --role ministry --department 3 --sub bench-m3),$(tok --role ministry --department 4 --sub bench-m4),$(tok --role municipality --municipality 1 --sub bench-mu1),$(tok --role municipality --municipality 2 --sub bench-mu2),$(tok --role municipality --municipality 3 --sub bench-mu3),public"
export TOKENS

results=()
# Thousands of subscriptions from a few subjects at once: no budgets (they are per subject).
export CUR_RATE_LIMIT_GOVERNOR=0 CUR_RATE_LIMIT_OPERATOR=0 CUR_RATE_LIMIT_MINISTRY=0 \
  CUR_RATE_LIMIT_MUNICIPALITY=0 CUR_RATE_LIMIT_INTEGRATION=0 CUR_RATE_LIMIT_PUBLIC=0
for n in $COUNTS; do
  # A fresh gateway per N, so each memory figure starts from the same point.
  DATABASE_URL="$URL" REDIS_URL="$REDIS_URL" CUR_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn \
    CUR_CACHE_PREFIX="bench:$$:$n:" CUR_DEADLINE_WATCH_SECS=0 CUR_WS_MAX_CONNECTIONS=20000 \
    CUR_WS_MAX_SUBSCRIPTIONS_PER_SUBJECT=100000 "$BIN" serve > "$OUT/subs_gateway.$n.log" 2>&1 &
  GW=$!
  trap 'kill $GW 2>/dev/null || true' EXIT
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
  echo "N=$n"
  line=$(GATEWAY_ADDR="127.0.0.1:$PORT" GATEWAY_PID=$GW "$GEN" "$n" | tail -n1)
  echo "$line"
  results+=("$line")
  kill $GW; wait $GW 2>/dev/null || true
  trap - EXIT
done

printf '%s\n' "${results[@]}" > "$OUT/subscribers.jsonl"
python3 - "$OUT/subscribers.jsonl" "$RATE" "$SECONDS_OF_INGEST" <<'PY'
import sys; sys.path.insert(0, "benches")
from results_section import write_section
import json, datetime
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rate, secs = sys.argv[2], sys.argv[3]
table = "\n".join(
    f"| {r['subscribers']:,} | {r['connected']:,} | {r['deliveries']:,} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | "
    f"{r['rss_before_kib'] / 1024:.0f} → {r['rss_connected_kib'] / 1024:.0f} MiB | {r['kib_per_subscriber']:.1f} | {r['gateway_cpu_cores']:.2f} |"
    for r in rows)
block = f"""<!-- subscribers:start -->
## Live subscriptions under load (issue 13)

`benches/subscribers.sh` — {datetime.date.today()}, one release gateway on Postgres 15 (20,000
complaints) with Redis as the event bus, on the same 2 cores as the load generator
(`benches/subscribers.rs`, one process holding every socket). Subscribers are spread over eight
principals (an operator, three ministries, three municipalities, the public), all with
`complaintEvents {{ at kind complaint {{ id number status municipality {{ name }} }} }}`; the
generator ingests {rate} complaints a second for {secs} s over HTTP (a third of them public) and
measures each delivery from the event's `at` (taken in the writing transaction, so it includes
the commit) to its receipt.

| subscribers | connected | deliveries | p50 (ms) | p99 (ms) | gateway RSS before → with them | KiB per subscriber | gateway CPU (cores) |
|---:|---:|---:|---:|---:|---|---:|---:|
{table}

Aim: 10,000 subscribers with p99 under 500 ms and under 300 MiB resident.
<!-- subscribers:end -->"""
write_section("subscribers", block)
PY
