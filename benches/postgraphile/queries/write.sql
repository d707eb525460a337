-- pgbench: the status change as raw SQL, through the function PostGraphile calls (transition
-- checked, row moved only at its version, history row written): one of the pool's complaints
-- moved to IN_PROGRESS and back to ASSIGNED, whichever it is not. Clients that pick the same
-- complaint at once lose the version race (40001) and retry (--max-tries).
\set n random(1, :pool)
-- The ministry's claim, as PostGraphile sets it per request.
SELECT set_config('jwt.claims.department_id', :dept::text, false);
SELECT (public.change_complaint_status(c.id,
          CASE c.status WHEN 'ASSIGNED' THEN 'IN_PROGRESS' ELSE 'ASSIGNED' END, c.version)).version
  FROM complaint c JOIN bench_writes w ON w.id = c.id WHERE w.n = :n;
