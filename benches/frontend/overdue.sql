-- benches/frontend/overdue.graphql in SQL for pgbench (benches/postgraphile.sh puts a role's row
-- scope where the markers are): how many, and the 20 newest.
SELECT COUNT(*) FROM complaint c WHERE c.status NOT IN ('RESOLVED', 'REJECTED') AND ((c.first_response_at IS NULL AND c.first_response_due_at < now()) OR c.resolution_due_at < now()) -- scope --;
SELECT c.id, c.number, c.status, c.received_at FROM complaint c WHERE c.status NOT IN ('RESOLVED', 'REJECTED') AND ((c.first_response_at IS NULL AND c.first_response_due_at < now()) OR c.resolution_due_at < now()) -- scope --
ORDER BY c.received_at DESC, c.id DESC LIMIT 21;
