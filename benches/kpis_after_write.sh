#!/usr/bin/env bash
# What a write to an older day costs the next KPI read: a year's KPIs by department at one
# connection (curl, the answer cache off), a request on a moved window, then the operator
# reassigns a complaint received 93–108 days ago (its rollup part gets a new generation, and
# the sorted month that holds it is out of date), then the first request after it. Six times.
# Needs the 1M database of list_page.sh / postgraphile.sh. Prints seconds per request.
#
#   BIN=target/release/cur-gateway benches/kpis_after_write.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PG_ROOT=${PG_ROOT:-postgres://postgres@127.0.0.1:5432}
URL="$PG_ROOT/${BENCH_DB:-cur_bench}?sslmode=disable"
PORT=${PORT:-18097}
BIN=${BIN:-target/release/cur-gateway}
. benches/operator_token.sh
TOKEN=$(operator_token "$BIN" "$URL")
DATABASE_URL="$URL" CUR_LISTEN="127.0.0.1:$PORT" CUR_DEADLINE_WATCH_SECS=0 RUST_LOG=warn \
  "$BIN" serve > benches/out/kpis_after_write_gateway.log 2>&1 &
GW=$!
# Waited for at the end: its drain keeps the port until it exits.
trap 'kill $GW 2>/dev/null || true; wait $GW 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
kill -0 $GW 2>/dev/null || { echo "the gateway did not start: benches/out/kpis_after_write_gateway.log"; exit 1; }
post() {  # BODY -> seconds
  curl -s -o /dev/null -w "%{time_total}" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d "$1" "http://127.0.0.1:$PORT/graphql"
}
q='query($f: KpiFilter!) { kpis(filter: $f, groupBy: DEPARTMENT) { key received overdue slaCompliance firstResponse { p50 p90 } } }'
start=$(( $(date +%s) + 3600 ))
year() {  # SHIFT (seconds; a new window end each time, so no cached answer) -> seconds
  local t=$((start + $1))
  local to from
  to=$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)
  from=$(date -u -d "@$((t - 365 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
  post "{\"query\":\"$q\",\"variables\":{\"f\":{\"from\":\"$from\",\"to\":\"$to\"}}}"
}
year 0 >/dev/null; year 1 >/dev/null
for i in 1 2 3 4 5 6; do
  moved=$(year $((i * 10)))
  row=$(psql "$URL" -Atc "SELECT id, version, (SELECT MIN(id) FROM department d WHERE d.id <> c.department_id) FROM complaint c WHERE status = 'ASSIGNED' AND received_at < now() - interval '$((90 + i * 3)) days' ORDER BY received_at DESC LIMIT 1")
  IFS='|' read -r id version dept <<< "$row"
  m="mutation { assignComplaint(id: \\\"$id\\\", departmentId: \\\"$dept\\\", expectedVersion: $version, reason: \\\"bench\\\") { id } }"
  out=$(curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"query\":\"$m\"}" "http://127.0.0.1:$PORT/graphql")
  grep -q '"assignComplaint":{"id"' <<< "$out" || { echo "the write failed: $out"; exit 1; }
  echo "moved window $moved s, first after the write $(year $((i * 10 + 1))) s"
done
