#!/usr/bin/env bash
# The gateway side by side with PostGraphile 5 on one database (issue 16): both servers over the
# same 1,000,000 complaints, PostGraphile with Row Level Security and column grants equivalent
# to the roles matrix (benches/postgraphile/setup.sql), the same wrk load at each concurrency,
# and the same query in raw SQL under pgbench. Before the timed runs, both servers' answers
# are compared row by row. Writes benches/RESULTS.md.
#
#   benches/postgraphile.sh
#   REPORT_ONLY=1 benches/postgraphile.sh   # the table again from benches/out/postgraphile
#
# Queries, each as the governor and as a ministry: the list page, one complaint's details,
# KPIs by department over 30 days (uncached: a new window end every request), and the
# frontends' counted lists (benches/frontend: all, overdue, a text search), and the ministry's
# status change with optimistic locking (ASSIGNED to IN_PROGRESS; the governor may not write).
# The write's pool is the ministry's open complaints, put back to ASSIGNED by SQL before each
# run (open either way: the KPI rollup and the counts stay as they were). Environment:
# PG_ROOT (default postgres://postgres@127.0.0.1:5432), BENCH_DB (cur_bench), COMPLAINTS
# (1000000), DURATION (3s per cell), CONCURRENCY ("1 8 32 128"), READS_CONCURRENCY ("1 8",
# for the counted lists), QUERIES (all), BIN and SKIP_BUILD (a built release binary).
# Needs wrk, pgbench and psql (apt-get install wrk postgresql-client) and npm (PostGraphile
# and Node 22 come from npm into benches/postgraphile/node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ROOT=${PG_ROOT:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-cur_bench}
COMPLAINTS=${COMPLAINTS:-1000000}
DURATION=${DURATION:-3s}
CONCURRENCY=${CONCURRENCY:-1 8 32 128}
READS_CONCURRENCY=${READS_CONCURRENCY:-1 8}
QUERIES=${QUERIES:-list_page details kpis count overdue search write}
# The KPI windows end here and later (one per request), the same for both servers and the check.
export CUR_BENCH_WINDOW_END=${CUR_BENCH_WINDOW_END:-$(date +%s)}
PORT=${PORT:-18390}
PGL_PORT=${PGL_PORT:-18391}
export PGSSLMODE=disable
URL="$PG_ROOT/$BENCH_DB"
GW_URL="$URL?sslmode=disable"
OUT=benches/out/postgraphile
mkdir -p "$OUT"
for tool in wrk pgbench psql npm; do
  command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done

BIN=${BIN:-target/release/cur-gateway}
if [ -z "${REPORT_ONLY:-}" ]; then
if [ -z "${SKIP_BUILD:-}" ]; then cargo build --release --quiet; fi
# npm ci wipes node_modules and installs again (40 s here): only when the lock file changed.
lock=$(sha256sum benches/postgraphile/package-lock.json | cut -d' ' -f1)
if [ "$(cat benches/postgraphile/node_modules/.installed-lock 2>/dev/null)" != "$lock" ]; then
  (cd benches/postgraphile && npm ci --no-audit --no-fund >/dev/null 2>&1)
  echo "$lock" > benches/postgraphile/node_modules/.installed-lock
fi
NODE=benches/postgraphile/node_modules/.bin/node

have=$(psql "$URL" -Atc "SELECT COUNT(*) FROM complaint_search" 2>/dev/null || echo 0)
if [ "$have" -lt "$COMPLAINTS" ]; then
  echo "[${SECONDS}s] seeding $COMPLAINTS complaints into $BENCH_DB"
  psql "$PG_ROOT/postgres" -qc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)"
  psql "$PG_ROOT/postgres" -qc "CREATE DATABASE $BENCH_DB"
  DATABASE_URL="$GW_URL" "$BIN" seed --complaints "$COMPLAINTS" > "$OUT/seed.txt"
fi
psql "$URL" -v ON_ERROR_STOP=1 -v DBNAME="$BENCH_DB" -q -f benches/postgraphile/setup.sql 2>&1 | grep -v NOTICE || true
echo "[${SECONDS}s] setting up PostGraphile's roles and policies"
psql "$URL" -qc "VACUUM ANALYZE"

. benches/operator_token.sh
export CUR_RATE_LIMIT_GOVERNOR=0 CUR_RATE_LIMIT_MINISTRY=0
# The ministry with the most housing complaints: its list pages are full (another's would be
# empty pages, every row of the municipality filtered out).
DEPT=$(psql "$URL" -Atc "SELECT department_id FROM complaint WHERE department_id IS NOT NULL AND category = 'HOUSING_UTILITIES' GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1")
GOVERNOR=$(DATABASE_URL="$GW_URL" "$BIN" token --role governor --sub bench --ttl 2h)
MINISTRY=$(DATABASE_URL="$GW_URL" "$BIN" token --role ministry --department "$DEPT" --sub bench --ttl 2h)

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
DATABASE_URL="$GW_URL" CUR_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn CUR_CACHE_OPERATIONS=false \
  CUR_DEADLINE_WATCH_SECS=0 "$BIN" serve > "$OUT/gateway.log" 2>&1 &
GW=$!
pids+=($GW)
DATABASE_URL="postgres://cur_authenticator@127.0.0.1:5432/$BENCH_DB" PORT=$PGL_PORT \
  PG_POOL_SIZE=${PG_POOL_SIZE:-8} \
  "$NODE" benches/postgraphile/node_modules/.bin/postgraphile -C benches/postgraphile/graphile.config.mjs \
  > "$OUT/postgraphile.log" 2>&1 &
PGL=$!
pids+=($PGL)
for p in $PORT $PGL_PORT; do
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$p/graphql" -H 'content-type: application/json' -d '{"query":"{__typename}"}' && break
    sleep 0.2
  done
done
# The node process that serves (npm's `node` package starts the real binary as a child).
PGL_SERVER=$(pgrep -P $PGL -n 2>/dev/null || echo $PGL)

GOVERNOR_SCOPE="TRUE"
MINISTRY_SCOPE="(c.department_id = $DEPT OR c.assigned_departments @> ARRAY[$DEPT])"
# A thousand complaints in each role's scope, for the details page: a table for pgbench, a file
# for wrk and the check.
for role in governor ministry; do
  scope=GOVERNOR_SCOPE; [ $role = ministry ] && scope=MINISTRY_SCOPE
  psql "$URL" -qc "DROP TABLE IF EXISTS bench_ids_$role"
  psql "$URL" -qc "CREATE TABLE bench_ids_$role AS SELECT row_number() OVER () AS n, id FROM \
    (SELECT id FROM complaint c WHERE ${!scope} ORDER BY md5(id::text) LIMIT 1000) x"
  psql "$URL" -Atc "SELECT id FROM bench_ids_$role ORDER BY n" > "$OUT/ids.$role.txt"
done

# The write's pool: the ministry's open complaints put back to ASSIGNED, an "id version" line
# each for wrk, and a table for pgbench (which moves them back and forth).
writes_pool() {
  psql "$URL" -qc "UPDATE complaint SET status = 'ASSIGNED' WHERE department_id = $DEPT AND status NOT IN ('RESOLVED', 'REJECTED', 'ASSIGNED')"
  psql "$URL" -Atc "SELECT id || ' ' || version FROM complaint WHERE department_id = $DEPT AND status = 'ASSIGNED' ORDER BY md5(id::text)" > "$OUT/writes.txt"
}
writes_pool
psql "$URL" -qc "DROP TABLE IF EXISTS bench_writes"
psql "$URL" -qc "CREATE TABLE bench_writes AS SELECT row_number() OVER () AS n, id FROM complaint WHERE department_id = $DEPT AND status = 'ASSIGNED'"
WRITE_POOL=$(psql "$URL" -Atc "SELECT COUNT(*) FROM bench_writes")

echo "[${SECONDS}s] comparing the two servers' answers"
BENCH_DB_URL="$URL" python3 benches/postgraphile/compare.py "http://127.0.0.1:$PORT/graphql" \
  "http://127.0.0.1:$PGL_PORT/graphql" governor="$GOVERNOR:$OUT/ids.governor.txt" \
  ministry="$MINISTRY:$OUT/ids.ministry.txt" write="$MINISTRY:$OUT/writes.txt" | tee "$OUT/compare.txt"

# Waits (at most a minute) until no statement runs in the database: a server keeps working on
# requests whose clients wrk has already dropped, and that backlog would slow the next cell.
# After 2 s what still runs is cancelled, again every half second: nobody waits for those
# answers, and draining them (PostGraphile's KPI function queues a minute of statements at
# 128 connections) is time the comparison does not measure.
settle() {
  local active="FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"
  for i in $(seq 1 120); do
    [ "$(psql "$URL" -Atc "SELECT COUNT(*) $active")" = 0 ] && return
    [ "$i" -gt 4 ] && psql "$URL" -Atc "SELECT COUNT(pg_cancel_backend(pid)) $active" > /dev/null
    sleep 0.5
  done
}
# CPU seconds (user + system) a process has used so far.
cpu() { awk '{ print ($14 + $15) / 100 }' "/proc/$1/stat"; }
# Its peak resident memory so far, in MiB.
peak() { awk '/VmHWM/ { print $2 / 1024 }' "/proc/$1/status"; }

secs=${DURATION%s}
# A run of some queries (QUERIES=...) keeps the other queries' cells of an earlier run.
for query in $QUERIES; do rm -f "$OUT"/cell.*."$query".*.txt "$OUT"/pgbench_log."$query".*; done
for query in $QUERIES; do
# The frontends' counted lists have latency aims (p50 at one connection) and run at 1 and 32.
concurrency=$CONCURRENCY
case $query in count|overdue|search) concurrency=$READS_CONCURRENCY ;; esac
for role in governor ministry; do
  [ $query = write ] && [ $role = governor ] && continue
  if [ $role = governor ]; then export CUR_BENCH_TOKEN=$GOVERNOR; scope=$GOVERNOR_SCOPE; notes=""; else
    export CUR_BENCH_TOKEN=$MINISTRY; scope=$MINISTRY_SCOPE
    notes="AND (is_public OR department_id = $DEPT)"
  fi
  case $query in
    list_page) lua=benches/list_page.lua; ours=benches/list_page.graphql
      sed -e "s/-- scope --/AND $scope/" -e "s/-- notes --/$notes/" benches/list_page.sql > "$OUT/$query.$role.sql" ;;
    details) lua=benches/details.lua; ours=benches/details.graphql
      sed -e "s/bench_ids/bench_ids_$role/" -e "s/-- notes --/$notes/" -e "s/-- scope --/AND $scope/" \
        benches/postgraphile/queries/details.sql > "$OUT/$query.$role.sql" ;;
    kpis) lua=benches/kpis_window.lua; ours=benches/kpis.graphql
      groups=""; [ $role = ministry ] && groups="WHERE key IN ('TOTAL', '$DEPT')"
      echo "SELECT * FROM kpis_by_department(to_timestamp($CUR_BENCH_WINDOW_END) - interval '30 days', to_timestamp($CUR_BENCH_WINDOW_END)) $groups;" \
        > "$OUT/$query.$role.sql" ;;
    write) lua=benches/write_status.lua; ours=benches/write.graphql
      cp benches/postgraphile/queries/write.sql "$OUT/$query.$role.sql" ;;
    *) lua=benches/static_query.lua; ours=benches/frontend/$query.graphql
      sed "s/-- scope --/AND $scope/" benches/frontend/$query.sql > "$OUT/$query.$role.sql" ;;
  esac
  export CUR_BENCH_IDS=$OUT/ids.$role.txt CUR_BENCH_WRITES=$OUT/writes.txt
  # pgbench's write picks one of the pool and retries when another client moved it first.
  pgbench_args=(); [ $query = write ] && pgbench_args=(-D "pool=$WRITE_POOL" -D "dept=$DEPT" --max-tries=20)
  # A KPI answer of PostGraphile's takes about half a second of Postgres: at 32 connections
  # and more it queues past wrk's default 2 s.
  timeout=2s; [ $query = kpis ] && timeout=30s
  for c in $concurrency; do
    threads=$(( c < 2 ? 1 : 2 ))
    for side in gateway postgraphile; do
      if [ $side = gateway ]; then pid=$GW; at=$PORT; file=$ours; ints=; else
        pid=$PGL_SERVER; at=$PGL_PORT; file=benches/postgraphile/queries/$(basename "$ours"); ints=1; fi
      export CUR_BENCH_QUERY=$file CUR_BENCH_INT_IDS=$ints
      [ -n "$ints" ] || unset CUR_BENCH_INT_IDS
      export CUR_BENCH_THREADS=$threads
      [ $query = write ] && writes_pool
      wrk -t$threads -c"$c" -d1s --timeout "$timeout" -s $lua "http://127.0.0.1:$at" > /dev/null
      settle
      [ $query = write ] && writes_pool
      before=$(cpu $pid)
      wrk -t$threads -c"$c" -d"$DURATION" --timeout "$timeout" --latency -s $lua "http://127.0.0.1:$at" > "$OUT/wrk.$side.$query.$role.$c.txt"
      after=$(cpu $pid)
      settle
      echo "$(grep RESULT "$OUT/wrk.$side.$query.$role.$c.txt") cpu=$(python3 -c "print(round(($after - $before) / $secs, 2))") rss_mib=$(peak $pid)" \
        > "$OUT/cell.$side.$query.$role.$c.txt"
      echo "[${SECONDS}s] $query, $role, $c connections, $side: $(cat "$OUT/cell.$side.$query.$role.$c.txt")"
    done
    # Postgres takes 100 connections and the two servers hold some: pgbench gets at most 80.
    clients=$(( c > 80 ? 80 : c ))
    (cd "$OUT" && pgbench -n -M prepared -c "$clients" -j $threads -T "$secs" -l \
      --log-prefix="pgbench_log.$query.$role.$c" "${pgbench_args[@]}" -f "$query.$role.sql" "$URL") > "$OUT/pgbench.$query.$role.$c.txt"
    echo "[${SECONDS}s] $query, $role, $c connections, pgbench: $(grep tps "$OUT/pgbench.$query.$role.$c.txt")"
  done
done
done
cleanup
trap - EXIT
echo "$DEPT" > "$OUT/department.txt"
fi
DEPT=$(cat "$OUT/department.txt" 2>/dev/null || echo "?")

python3 - "$OUT" "$DURATION" "$CONCURRENCY" "$BENCH_DB" "$DEPT" "$READS_CONCURRENCY" <<'PY'
import sys; sys.path.insert(0, "benches")
from results_section import write_section
import datetime, glob, re, subprocess
out, duration, conc, db, dept = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4], sys.argv[5]
reads_conc = [c for c in sys.argv[6].split() if c not in conc]
pat = r"RESULT rps=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) requests=(\d+) non2xx=(\d+).* cpu=([\d.]+) rss_mib=([\d.]+)"
def cell(side, query, role, c):
    m = re.search(pat, open(f"{out}/cell.{side}.{query}.{role}.{c}.txt").read())
    requests, bad = int(m[4]), int(m[5])
    # Throughput counts answered requests only: a 503 is not an answer.
    ok = float(m[1]) * (requests - bad) / requests if requests else 0.0
    return dict(rps=ok, p50=float(m[2]), p99=float(m[3]), bad=bad, cpu=float(m[6]), rss=float(m[7]))
def pgbench(query, role, c):
    tps = float(re.search(r"tps = ([\d.]+)", open(f"{out}/pgbench.{query}.{role}.{c}.txt").read())[1])
    lat = sorted(int(l.split()[2]) / 1000 for f in glob.glob(f"{out}/pgbench_log.{query}.{role}.{c}.*") for l in open(f))
    pct = lambda p: lat[min(len(lat) - 1, int(round(p * (len(lat) - 1))))]
    return dict(rps=tps, p50=pct(0.5), p99=pct(0.99))
def ratio(a, b, digits=1):
    return f"{a / b:.{digits}f}" if b > 0 else "–"
rows = []
labels = [("list_page", "list page"), ("details", "complaint details"), ("kpis", "KPIs by department, 30 days"),
          ("count", "first 20 + totalCount"), ("overdue", "overdue: first 20 + totalCount"),
          ("search", "search \"батареи\": first 20 + totalCount"),
          ("write", "status change (optimistic)")]
import os
for query, label in labels:
  for role in ["governor", "ministry"]:
    for c in conc + reads_conc:
        # Queries this run or an earlier one measured (QUERIES=... reruns some).
        if not os.path.exists(f"{out}/cell.gateway.{query}.{role}.{c}.txt"):
            continue
        g, p, s = cell("gateway", query, role, c), cell("postgraphile", query, role, c), pgbench(query, role, c)
        rows.append(f"| {label} | {role} | {c} | {g['rps']:.0f} | {g['p50']:.2f} | {g['p99']:.2f} | {g['cpu']:.2f} | {g['rss']:.0f} "
                    f"| {p['rps']:.0f} | {p['p50']:.2f} | {p['p99']:.2f} | {p['cpu']:.2f} | {p['rss']:.0f} "
                    f"| {s['rps']:.0f} | {s['p50']:.2f} | {s['p99']:.2f} | **{ratio(g['rps'], p['rps'])}** | {ratio(g['rps'], s['rps'], 2)} "
                    f"| {g['bad']} / {p['bad']} |")
versions = subprocess.run(["psql", "-Atc", "SHOW server_version", f"postgres://postgres@127.0.0.1:5432/{db}"], capture_output=True, text=True).stdout.strip()
compare = "; ".join(open(f"{out}/compare.txt").read().strip().splitlines())
block = f"""<!-- postgraphile:start -->
## Side by side with PostGraphile (issue 16, in progress)

`benches/postgraphile.sh` — {datetime.date.today()}, one database of 1,000,000 complaints
(Postgres {versions}), 2 cores shared by the servers, the database and the load generator.
PostGraphile 5.1.5 on Node 22 (npm), Amber preset with pg-aggregates, Row Level Security and
column grants of `benches/postgraphile/setup.sql`, a pool of 8; the release gateway with the
operation cache off; wrk for both (same script shape, {duration} per cell after a 2 s warm-up),
pgbench for the same SQL. The ministry is department {dept}, the one with the most housing
complaints (the page's category).
Answers checked equal first: {compare}. The details page is a random one of 1,000
complaints in the caller's scope (the same ids for all three), with its assignments, history and
responses.
CPU is cores used during the cell; RSS is the peak so far, in MiB. Throughput counts answered
requests only (2xx); the last column counts the others, and wrk gives up on a request after
2 s, 30 s for the KPIs (a socket error, not counted as an answer). Between cells the script
waits until Postgres runs no statement (servers finish requests wrk has dropped). pgbench runs at most 80
clients (Postgres takes 100 connections, and both servers hold some): its 128 row is at 80.

| query | role | connections | gateway req/s | p50 ms | p99 ms | CPU | RSS | PostGraphile req/s | p50 ms | p99 ms | CPU | RSS | pgbench tps | p50 ms | p99 ms | gateway / PostGraphile | gateway / pgbench | non-2xx (gateway / PostGraphile) |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
""" + "\n".join(rows) + """
<!-- postgraphile:end -->"""
write_section("postgraphile", block)
PY
