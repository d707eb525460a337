-- The raw-SQL side of benches/ingest.sh: the rows one ingestComplaints batch of 1,000
-- writes (complaints routed to a department, their search text, registration and routing
-- events, assignments), in one transaction, without classification, routing or deadline
-- logic.
SET client_min_messages TO warning;
BEGIN;
CREATE TEMP TABLE IF NOT EXISTS new_ids (id bigint, g int) ON COMMIT DELETE ROWS;
INSERT INTO new_ids SELECT nextval(pg_get_serial_sequence('complaint', 'id')), g FROM generate_series(1, 1000) g;
INSERT INTO complaint (id, number, source, external_id, category, municipality_id, text, author_name,
    received_at, status, priority, department_id, first_response_due_at, resolution_due_at,
    is_public, version, updated_at)
  SELECT id, '86-2026-' || lpad(id::text, 7, '0'), 'VK', 'raw-' || id, 'ROADS', (g % 22) + 1,
    'Огромная яма на дороге у дома 15, повредили колесо', 'Житель ' || g, now(), 'ASSIGNED', 'NORMAL',
    19 + (g % 22), now() + interval '24 hours', now() + interval '14 days', true, 1, now()
  FROM new_ids;
INSERT INTO complaint_search (complaint_id, text)
  SELECT id, lower('86-2026-' || lpad(id::text, 7, '0') || E'\n' || 'Огромная яма на дороге у дома 15, повредили колесо') FROM new_ids;
INSERT INTO status_event (complaint_id, from_status, to_status, actor, at)
  SELECT id, NULL, 'NEW', 'bench', now() FROM new_ids
  UNION ALL SELECT id, 'NEW', 'ASSIGNED', 'routing-rules', now() FROM new_ids;
INSERT INTO assignment (complaint_id, department_id, assigned_by, assigned_at, reason)
  SELECT id, 19 + (g % 22), 'routing-rules', now(), 'по правилу маршрутизации' FROM new_ids;
COMMIT;
