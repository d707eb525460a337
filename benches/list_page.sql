-- The same page as benches/list_page.graphql, in one SQL statement (what a hand-written
-- endpoint would send): 50 newest housing complaints of a random municipality with their
-- municipality, department, assignee, status and response count. benches/postgraphile.sh puts
-- a role's row scope and its notes rule (which responses it counts) where the markers are, as
-- the gateway's store does.
\set muni random(1, 22)
SELECT c.id, c.number, c.status, c.received_at, m.name AS municipality, d.name AS department,
       s.full_name AS assignee,
       (SELECT COUNT(*) FROM response r WHERE r.complaint_id = c.id -- notes --
       ) AS response_count
FROM complaint c
JOIN municipality m ON m.id = c.municipality_id
LEFT JOIN department d ON d.id = c.department_id
LEFT JOIN staff s ON s.id = c.assignee_id
WHERE c.municipality_id = :muni AND c.category = 'HOUSING_UTILITIES' -- scope --
ORDER BY c.received_at DESC, c.id DESC
LIMIT 50;
