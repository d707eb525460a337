"""Before any timed run: both servers answer the same request with the same rows.

    python3 benches/postgraphile/compare.py GATEWAY_URL POSTGRAPHILE_URL ROLE=TOKEN ...

For every role's token and every municipality, the list page's ids (in order) and each row's
number, status, municipality, department, assignee and response count must be equal; exits 1
with the first difference otherwise.
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


def main():
    gateway, postgraphile, *tokens = sys.argv[1:]
    ours = open("benches/list_page.graphql").read()
    theirs = open(f"{HERE}/list_page.graphql").read()
    checked = rows = 0
    for pair in tokens:
        role, token = pair.split("=", 1)
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
