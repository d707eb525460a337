#!/usr/bin/env bash
# Two gateway binaries side by side on the list page, in alternating rounds (the host's speed
# drifts by ±15 % from minute to minute; alternating spreads the drift over both), executing
# every request and with the operation cache. Needs the cur_bench database of list_page.sh.
#
#   benches/ab.sh OLD_BINARY NEW_BINARY      # ROUNDS (6), DURATION (10s), CONNECTIONS (32)
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2
ROUNDS=${ROUNDS:-6} DURATION=${DURATION:-10s} CONNECTIONS=${CONNECTIONS:-32}
export PGSSLMODE=disable
URL="${PG_ROOT:-postgres://postgres@127.0.0.1:5432}/${BENCH_DB:-cur_bench}?sslmode=disable"
. benches/operator_token.sh
CUR_BENCH_TOKEN=$(operator_token "$new" "$URL")
export CUR_BENCH_TOKEN
pids=()
start() { # binary port operation-cache
  DATABASE_URL="$URL" CUR_LISTEN="127.0.0.1:$2" RUST_LOG=warn CUR_DEADLINE_WATCH_SECS=0 \
    CUR_CACHE_OPERATIONS=$3 "$1" serve > "/tmp/ab_$2.log" 2>&1 &
  pids+=($!)
}
start "$old" 18101 false; start "$new" 18102 false; start "$old" 18103 true; start "$new" 18104 true
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for p in 18101 18102 18103 18104; do
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.2; done
  wrk -t2 -c"$CONNECTIONS" -d3s -s benches/list_page.lua "http://127.0.0.1:$p" >/dev/null
done
for round in $(seq 1 "$ROUNDS"); do
  # Each round the other binary goes first.
  if [ $((round % 2)) = 0 ]; then order="18102 18101 18104 18103"; else order="18101 18102 18103 18104"; fi
  for p in $order; do
    case $p in 18101) what="old executing";; 18102) what="new executing";; 18103) what="old cached";; *) what="new cached";; esac
    r=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s benches/list_page.lua "http://127.0.0.1:$p" | grep RESULT)
    echo "round $round, $what: $r"
  done
done
