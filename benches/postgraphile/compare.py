"""Before any timed run: both servers answer the same request with the same rows.

    python3 benches/postgraphile/compare.py GATEWAY_URL POSTGRAPHILE_URL ROLE=TOKEN:IDS_FILE ...

For every role's token: for every municipality, the list page's ids (in order) and each row's
number, status, municipality, department, assignee and response count; for the first 50
complaints of its ids file, the complaint with its assignments, history and responses (ids in
order and their fields). Exits 1 with the first difference otherwise.
"""
import json
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


def main():
    gateway, postgraphile, *tokens = sys.argv[1:]
    ours = open("benches/list_page.graphql").read()
    theirs = open(f"{HERE}/list_page.graphql").read()
    checked = rows = 0
    for pair in tokens:
        role, rest = pair.split("=", 1)
        token, ids_file = rest.rsplit(":", 1)
        details(gateway, postgraphile, role, token, ids_file)
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
