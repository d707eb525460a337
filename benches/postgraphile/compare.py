"""Before any timed run: both servers answer the same request with the same rows.

    python3 benches/postgraphile/compare.py GATEWAY_URL POSTGRAPHILE_URL ROLE=TOKEN:IDS_FILE ...

For every role's token: for every municipality, the list page's ids (in order) and each row's
number, status, municipality, department, assignee and response count; for the first 50
complaints of its ids file, the complaint with its assignments, history and responses (ids in
order and their fields); KPIs by department over 30 days (groups, counts, shares and
durations); the frontends' counted lists (benches/frontend); and, for a `write=TOKEN:FILE`
argument, the status change: the first complaint of FILE ("id version" lines) moved by each
server in turn, put back between them with psql on BENCH_DB_URL. Exits 1 with the first
difference otherwise.
"""
import json
import os
import subprocess
import sys
import urllib.request

HERE = "benches/postgraphile/queries"


def post(url, token, query, variables):
    body = json.dumps({"query": query, "variables": variables}).encode()
    req = urllib.request.Request(url, body, {"content-type": "application/json",
                                             "authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as resp:
        answer = json.load(resp)
    if answer.get("errors"):
        raise SystemExit(f"{url}: {answer['errors']}")
    return answer["data"]


def gateway_rows(data):
    return [(int(e["node"]["id"]), e["node"]["number"], e["node"]["status"],
             e["node"]["municipality"]["name"],
             (e["node"]["department"] or {}).get("name"),
             (e["node"]["assignee"] or {}).get("fullName"),
             e["node"]["responseCount"]) for e in data["complaints"]["edges"]]


def postgraphile_rows(data):
    return [(int(n["rowId"]), n["number"], n["status"], n["municipalityByMunicipalityId"]["name"],
             (n["departmentByDepartmentId"] or {}).get("name"),
             (n["staffByAssigneeId"] or {}).get("fullName"),
             n["responsesByComplaintId"]["totalCount"]) for n in data["allComplaints"]["nodes"]]


def gateway_details(data):
    c = data["complaint"]
    return (int(c["id"]), c["number"], c["status"], c["text"], c["municipality"]["name"],
            (c["department"] or {}).get("name"),
            [(int(a["id"]), (a["department"] or {}).get("name")) for a in c["assignments"]],
            [(int(e["id"]), e["from"], e["to"]) for e in c["history"]],
            [(int(r["id"]), r["isPublic"], r["text"]) for r in c["responses"]])


def postgraphile_details(data):
    c = data["complaintByRowId"]
    return (int(c["rowId"]), c["number"], c["status"], c["text"],
            c["municipalityByMunicipalityId"]["name"], (c["departmentByDepartmentId"] or {}).get("name"),
            [(int(a["rowId"]), (a["departmentByDepartmentId"] or {}).get("name"))
             for a in c["assignmentsByComplaintId"]["nodes"]],
            [(int(e["rowId"]), e["fromStatus"], e["toStatus"]) for e in c["statusEventsByComplaintId"]["nodes"]],
            [(int(r["rowId"]), r["isPublic"], r["text"]) for r in c["responsesByComplaintId"]["nodes"]])


def details(gateway, postgraphile, role, token, ids_file):
    ours = open("benches/details.graphql").read()
    theirs = open(f"{HERE}/details.graphql").read()
    ids = open(ids_file).read().split()[:50]
    lists = 0
    for id in ids:
        a = gateway_details(post(gateway, token, ours, {"id": id}))
        b = postgraphile_details(post(postgraphile, token, theirs, {"id": id}))
        if a != b:
            raise SystemExit(f"details, {role}, complaint {id}:\n  gateway      {a}\n  postgraphile {b}")
        lists += len(a[6]) + len(a[7]) + len(a[8])
    print(f"details, {role}: {len(ids)} complaints with {lists} history rows, the same from both servers")


def kpis(gateway, postgraphile, role, token):
    """KPIs by department over the 30 days before the window end the timed runs start from:
    the same groups with the same counts, shares and durations (to a millisecond)."""
    import datetime, os
    end = datetime.datetime.fromtimestamp(int(os.environ["CUR_BENCH_WINDOW_END"]), datetime.timezone.utc)
    window = {"from": (end - datetime.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "to": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
    ours = post(gateway, token, open("benches/kpis.graphql").read(), window)["kpis"]
    theirs = post(postgraphile, token, open(f"{HERE}/kpis.graphql").read(), window)["kpisByDepartment"]["nodes"]
    close = lambda a, b: (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-3)
    def durations(d, prefix, n):
        return [(d or {}).get(k) for k in ("avg", "p50", "p90")], [n[f"{prefix}{k}"] for k in ("Avg", "P50", "P90")]
    a = {r["key"]: r for r in ours}
    b = {n["key"]: n for n in theirs}
    if sorted(a) != sorted(b):
        raise SystemExit(f"kpis, {role}: groups {sorted(a)} != {sorted(b)}")
    for key, r in a.items():
        n = b[key]
        counts = (r["received"], r["open"], r["overdue"]), (int(n["received"]), int(n["open"]), int(n["overdue"]))
        ok = counts[0] == counts[1] and close(r["slaCompliance"], n["slaCompliance"]) \
            and close(r["reopenedShare"], n["reopenedShare"])
        for ours_d, theirs_d in (durations(r["firstResponse"], "firstResponse", n),
                                 durations(r["resolution"], "resolution", n)):
            ok = ok and all(close(x, y) for x, y in zip(ours_d, theirs_d))
        if not ok:
            raise SystemExit(f"kpis, {role}, group {key}:\n  gateway      {r}\n  postgraphile {n}")
    total = a["TOTAL"]["received"] if "TOTAL" in a else 0
    if total == 0:
        raise SystemExit(f"kpis, {role}: an empty window, nothing was compared")
    print(f"kpis, {role}: {len(a)} groups over {total} complaints, the same from both servers")


def frontend(gateway, postgraphile, role, token):
    """The frontends' first screens: the same totalCount and the same 20 ids, in order."""
    for name in ("count", "overdue", "search"):
        ours = next(iter(post(gateway, token, open(f"benches/frontend/{name}.graphql").read(), {}).values()))
        theirs = next(iter(post(postgraphile, token, open(f"{HERE}/{name}.graphql").read(), {}).values()))
        a = (ours["totalCount"], [int(e["node"]["id"]) for e in ours["edges"]])
        b = (int(theirs["totalCount"]), [int(n["rowId"]) for n in theirs["nodes"]])
        if a != b:
            raise SystemExit(f"{name}, {role}:\n  gateway      {a}\n  postgraphile {b}")
        if a[0] == 0:
            raise SystemExit(f"{name}, {role}: nothing matches, nothing was compared")
        print(f"{name}, {role}: {a[0]} complaints, the same count and first 20 from both servers")


def write(gateway, postgraphile, token, writes_file):
    """The status change: the same complaint at the same version, moved to IN_PROGRESS by each
    server in turn (put back to ASSIGNED between them), answers the same id, status, version."""
    cid, version = open(writes_file).read().split()[:2]

    def put_back():
        sql = f"UPDATE complaint SET status = 'ASSIGNED', version = {version} WHERE id = {cid}"
        subprocess.run(["psql", os.environ["BENCH_DB_URL"], "-qc", sql], check=True)

    variables = {"id": cid, "v": int(version)}
    ours = post(gateway, token, open("benches/write.graphql").read(), variables)
    put_back()
    theirs = post(postgraphile, token, open(f"{HERE}/write.graphql").read(), variables)
    put_back()
    a = ours["changeComplaintStatus"]
    b = theirs["changeComplaintStatus"]["result"]
    a, b = (int(a["id"]), a["status"], a["version"]), (int(b["rowId"]), b["status"], b["version"])
    if a != b or a != (int(cid), "IN_PROGRESS", int(version) + 1):
        raise SystemExit(f"write:\n  gateway      {a}\n  postgraphile {b}")
    print(f"write, ministry: complaint {cid} from ASSIGNED to IN_PROGRESS at version {version},"
          " the same answer from both servers")


def main():
    gateway, postgraphile, *tokens = sys.argv[1:]
    for arg in [t for t in tokens if t.startswith("write=")]:
        tokens.remove(arg)
        token, writes_file = arg[len("write="):].rsplit(":", 1)
        write(gateway, postgraphile, token, writes_file)
    ours = open("benches/list_page.graphql").read()
    theirs = open(f"{HERE}/list_page.graphql").read()
    checked = rows = 0
    for pair in tokens:
        role, rest = pair.split("=", 1)
        token, ids_file = rest.rsplit(":", 1)
        details(gateway, postgraphile, role, token, ids_file)
        kpis(gateway, postgraphile, role, token)
        frontend(gateway, postgraphile, role, token)
        before = rows
        for m in range(1, 23):
            a = gateway_rows(post(gateway, token, ours, {"municipalityId": str(m)}))
            b = postgraphile_rows(post(postgraphile, token, theirs, {"municipalityId": m}))
            if a != b:
                for x, y in zip(a, b):
                    if x != y:
                        raise SystemExit(f"list page, {role}, municipality {m}: {x} != {y}")
                raise SystemExit(f"list page, {role}, municipality {m}: {len(a)} rows != {len(b)}")
            checked += 1
            rows += len(a)
        if rows == before:
            raise SystemExit(f"list page, {role}: every page is empty, nothing was compared")
    print(f"list page: {checked} requests, {rows} rows, the same from both servers")


main()
