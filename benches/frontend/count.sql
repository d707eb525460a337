-- benches/frontend/count.graphql in SQL for pgbench (benches/postgraphile.sh puts a role's row
-- scope where the markers are): how many, and the 20 newest.
SELECT COUNT(*) FROM complaint c WHERE TRUE -- scope --;
SELECT c.id, c.number, c.status, c.received_at FROM complaint c WHERE TRUE -- scope --
ORDER BY c.received_at DESC, c.id DESC LIMIT 21;
