#!/usr/bin/env bash
# Instructions per cached list page of one gateway binary under callgrind, counted only while
# wrk runs after a warm-up (deterministic where req/s is not). Needs valgrind and the
# cur_bench database of list_page.sh.
#
#   benches/callgrind_page.sh BINARY [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1 port=${2:-18111} out=/tmp/callgrind.$port.out
export PGSSLMODE=disable
URL="${PG_ROOT:-postgres://postgres@127.0.0.1:5432}/${BENCH_DB:-cur_bench}?sslmode=disable"
. benches/operator_token.sh
CUR_BENCH_TOKEN=$(operator_token "$bin" "$URL")
export CUR_BENCH_TOKEN
DATABASE_URL="$URL" CUR_LISTEN="127.0.0.1:$port" RUST_LOG=warn CUR_DEADLINE_WATCH_SECS=0 \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" "$bin" serve \
  > "/tmp/callgrind_$port.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done
wrk -t1 -c2 -d15s -s benches/list_page.lua "http://127.0.0.1:$port" > /dev/null
callgrind_control -i on "$pid" > /dev/null
pages=$(wrk -t1 -c2 -d20s -s benches/list_page.lua "http://127.0.0.1:$port" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
callgrind_control -i off "$pid" > /dev/null
kill -INT "$pid"; wait "$pid" || true
total=$(callgrind_annotate "$out" | sed -n 's/^\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
copies=$(callgrind_annotate "$out" | grep -m1 '__memcpy' | sed -n 's/^ *\([0-9,]*\) .*/\1/p' | tr -d ,)
echo "$bin: $pages pages, $((total / pages)) instructions per page, $((${copies:-0} / pages)) in memcpy"
echo "top functions: callgrind_annotate $out | head -40"
