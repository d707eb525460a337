-- benches/frontend/search.graphql in SQL for pgbench (benches/postgraphile.sh puts a role's row
-- scope where the markers are): how many, and the 20 newest.
SELECT COUNT(*) FROM complaint c WHERE c.id IN (SELECT complaint_id FROM complaint_search WHERE text LIKE '%батареи%') -- scope --;
SELECT c.id, c.number, c.status, c.received_at FROM complaint c WHERE c.id IN (SELECT complaint_id FROM complaint_search WHERE text LIKE '%батареи%') -- scope --
ORDER BY c.received_at DESC, c.id DESC LIMIT 21;
