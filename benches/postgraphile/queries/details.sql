-- One complaint with its whole history, as one statement for pgbench (benches/postgraphile.sh
-- puts a role's ids table, its row scope and its notes rule in place of the markers): the row
-- and its three lists as JSON arrays.
\set n random(1, 1000)
SELECT c.id, c.number, c.status, c.text, c.received_at, m.name, d.name,
  (SELECT json_agg(a ORDER BY a.assigned_at, a.id) FROM (SELECT a.id, a.assigned_at, ad.name
     FROM assignment a LEFT JOIN department ad ON ad.id = a.department_id WHERE a.complaint_id = c.id) a),
  (SELECT json_agg(e ORDER BY e.at, e.id) FROM (SELECT id, from_status, to_status, at
     FROM status_event WHERE complaint_id = c.id) e),
  (SELECT json_agg(r ORDER BY r.at, r.id) FROM (SELECT id, is_public, text, at
     FROM response WHERE complaint_id = c.id -- notes --) r)
FROM complaint c
JOIN municipality m ON m.id = c.municipality_id
LEFT JOIN department d ON d.id = c.department_id
WHERE c.id = (SELECT id FROM bench_ids WHERE n = :n) -- scope --;
