-- PostGraphile on the gateway's own database (benches/postgraphile.sh): Postgres roles, column
-- grants and Row Level Security equivalent to the gateway's roles matrix for the roles the
-- comparison uses, and the functions PostGraphile serves for what a table cannot say.
-- Idempotent: run again, it replaces everything it made. The gateway itself never uses these
-- roles (it connects as the database owner, and RLS does not apply to it).
--
--   governor: every complaint, texts, history, staff contacts; never the author.
--   ministry (department D, `jwt.claims.department_id`): complaints currently or ever
--     assigned to D; the author only while currently assigned to D; notes of D only.
--   public (no token): public complaints only, no author, no external id.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cur_anonymous') THEN CREATE ROLE cur_anonymous NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cur_governor') THEN CREATE ROLE cur_governor NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cur_ministry') THEN CREATE ROLE cur_ministry NOLOGIN; END IF;
END $$;
-- PostGraphile logs in as the authenticator, which may only become one of the three: its
-- schema holds what they are granted, and each request runs as its caller's role.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cur_authenticator') THEN
    CREATE ROLE cur_authenticator LOGIN NOINHERIT;
  END IF;
END $$;
GRANT cur_anonymous, cur_governor, cur_ministry TO cur_authenticator;

-- PostGraphile reflects `public`, and sees only what these roles are granted: the audit trail,
-- the outbox, connectors and rollups stay out of its schema.
GRANT USAGE ON SCHEMA public TO cur_anonymous, cur_governor, cur_ministry;
GRANT CONNECT ON DATABASE :"DBNAME" TO cur_authenticator;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM cur_anonymous, cur_governor, cur_ministry;

-- The directory: everyone's.
GRANT SELECT ON municipality, department TO cur_anonymous, cur_governor, cur_ministry;
GRANT SELECT (id, department_id, full_name, position, active) ON staff TO cur_anonymous, cur_ministry;
GRANT SELECT ON staff TO cur_governor;

-- Complaints: every column but the author's (a function gives it to whom may see it) and, for
-- the public, the external id.
GRANT SELECT (id, number, source, external_id, category, municipality_id, text, address, lat,
  lon, received_at, status, priority, department_id, assignee_id, first_response_due_at,
  resolution_due_at, first_response_at, resolved_at, is_public, version, updated_at)
  ON complaint TO cur_governor, cur_ministry;
GRANT SELECT (id, number, source, category, municipality_id, text, address, lat, lon,
  received_at, status, priority, department_id, assignee_id, first_response_due_at,
  resolution_due_at, first_response_at, resolved_at, is_public, version, updated_at)
  ON complaint TO cur_anonymous;
GRANT SELECT ON assignment, status_event, response TO cur_anonymous, cur_governor, cur_ministry;
-- The write of the comparison: a status change with its history, by a ministry.
GRANT UPDATE (status, version, updated_at, resolved_at) ON complaint TO cur_ministry;
GRANT INSERT ON status_event TO cur_ministry;

-- The ministry's department, from the token.
CREATE OR REPLACE FUNCTION public.current_department() RETURNS integer
  LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('jwt.claims.department_id', true), '')::integer $$;
COMMENT ON FUNCTION public.current_department() IS E'@behavior -*';

ALTER TABLE complaint ENABLE ROW LEVEL SECURITY;
ALTER TABLE assignment ENABLE ROW LEVEL SECURITY;
ALTER TABLE status_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE response ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS governor_reads ON complaint;
DROP POLICY IF EXISTS ministry_reads ON complaint;
DROP POLICY IF EXISTS ministry_changes ON complaint;
DROP POLICY IF EXISTS public_reads ON complaint;
CREATE POLICY governor_reads ON complaint FOR SELECT TO cur_governor USING (true);
-- Past assignments: the departments each complaint was ever assigned to, kept in its row by
-- the gateway's migration (a trigger on assignment) — the same indexed condition the gateway
-- asks, so both engines are measured on the database's best plan.
DROP FUNCTION IF EXISTS public.ever_assigned_to(integer);
CREATE POLICY ministry_reads ON complaint FOR SELECT TO cur_ministry USING (
  department_id = public.current_department()
  OR assigned_departments @> ARRAY[public.current_department()]);
CREATE POLICY ministry_changes ON complaint FOR UPDATE TO cur_ministry
  USING (department_id = public.current_department());
CREATE POLICY public_reads ON complaint FOR SELECT TO cur_anonymous USING (is_public);

-- History follows its complaint (the complaint's own policy applies inside).
DROP POLICY IF EXISTS follows_complaint ON assignment;
DROP POLICY IF EXISTS follows_complaint ON status_event;
DROP POLICY IF EXISTS ministry_writes ON status_event;
DROP POLICY IF EXISTS follows_complaint ON response;
CREATE POLICY follows_complaint ON assignment FOR SELECT
  USING (EXISTS (SELECT 1 FROM complaint c WHERE c.id = complaint_id));
CREATE POLICY follows_complaint ON status_event FOR SELECT
  USING (EXISTS (SELECT 1 FROM complaint c WHERE c.id = complaint_id));
CREATE POLICY ministry_writes ON status_event FOR INSERT TO cur_ministry WITH CHECK (true);
-- Internal notes: the governor all, a ministry its own, the public none.
CREATE POLICY follows_complaint ON response FOR SELECT USING (
  EXISTS (SELECT 1 FROM complaint c WHERE c.id = complaint_id)
  AND (is_public OR current_user = 'cur_governor'
       OR (current_user = 'cur_ministry' AND department_id = public.current_department())));

-- The author: through a view of its own, readable only where the matrix allows (a ministry
-- while the complaint is currently assigned to it; the governor never), joined to its
-- complaint by the smart tag's foreign key.
CREATE OR REPLACE VIEW public.complaint_author WITH (security_barrier) AS
  SELECT id AS complaint_id, author_name AS name, author_phone AS phone, author_email AS email,
         author_profile_url AS profile_url
  FROM complaint
  WHERE current_user = 'cur_ministry' AND department_id = public.current_department();
COMMENT ON VIEW public.complaint_author IS
  E'@foreignKey (complaint_id) references complaint (id)|@fieldName complaint|@foreignFieldName author\n@unique complaint_id';
GRANT SELECT ON public.complaint_author TO cur_ministry;

-- The status change with optimistic locking: the row moves only at the expected version, and
-- only along the gateway's transitions (RLS: only the current department's rows).
-- A definer's function: `RETURNING *` as the ministry would need the author columns it may not
-- read (PostGraphile's schema for the ministry has no author fields, so none leave). The rows
-- it may move are asked explicitly, as the UPDATE policy would: its department's current ones.
CREATE OR REPLACE FUNCTION public.change_complaint_status(complaint_id bigint, new_status text,
  expected_version integer) RETURNS complaint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public AS $$
DECLARE
  changed complaint;
  was text;
  at_version integer;
BEGIN
  SELECT status, version INTO was, at_version FROM complaint
    WHERE id = complaint_id AND department_id = public.current_department();
  IF was IS NULL THEN
    RAISE EXCEPTION 'complaint % is not assigned to the caller', complaint_id USING ERRCODE = '42501';
  END IF;
  -- A stale version is a conflict before anything else (the gateway's order too).
  IF at_version <> expected_version THEN
    RAISE EXCEPTION 'complaint % is not at version %', complaint_id, expected_version
      USING ERRCODE = '40001';
  END IF;
  -- The gateway's transition table (src/domain/lifecycle.rs).
  IF NOT ((new_status = 'ASSIGNED' AND was IN ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'ANSWERED', 'REOPENED'))
       OR (new_status = 'IN_PROGRESS' AND was IN ('ASSIGNED', 'REOPENED'))
       OR (new_status = 'ANSWERED' AND was = 'IN_PROGRESS')
       OR (new_status = 'RESOLVED' AND was = 'ANSWERED')
       OR (new_status = 'REOPENED' AND was IN ('ANSWERED', 'RESOLVED'))
       OR (new_status = 'REJECTED' AND was IN ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'REOPENED'))) THEN
    RAISE EXCEPTION 'a % complaint cannot become %', was, new_status USING ERRCODE = '22023';
  END IF;
  UPDATE complaint SET status = new_status, version = version + 1, updated_at = now(),
    resolved_at = CASE WHEN new_status = 'RESOLVED' THEN now() ELSE resolved_at END
    WHERE id = complaint_id AND version = expected_version
    RETURNING * INTO changed;
  IF changed.id IS NULL THEN
    RAISE EXCEPTION 'complaint % is not at version %', complaint_id, expected_version
      USING ERRCODE = '40001';
  END IF;
  INSERT INTO status_event (complaint_id, from_status, to_status, actor, at)
    VALUES (complaint_id, was, new_status, 'ministry', now());
  RETURN changed;
END $$;
REVOKE EXECUTE ON FUNCTION public.change_complaint_status(bigint, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.change_complaint_status(bigint, text, integer) TO cur_ministry;

-- The history lists are ordered by time, as the gateway orders them: PostGraphile offers
-- ordering by indexed columns only, unless a column's behaviour adds it.
COMMENT ON COLUMN assignment.assigned_at IS E'@behavior +orderBy';
COMMENT ON COLUMN status_event.at IS E'@behavior +orderBy';
COMMENT ON COLUMN response.at IS E'@behavior +orderBy';

-- KPIs by current department over a window, as DESIGN.md defines them (exact percentiles
-- with percentile_cont; durations truncated to whole milliseconds as the gateway keeps them):
-- PostGraphile's best here is one SQL function (pg-aggregates has no percentiles and would
-- take one aggregate query per figure). A definer's function: the region total needs every
-- row; a ministry gets its own department's group and the total, as the roles matrix says.
CREATE OR REPLACE FUNCTION public.kpis_by_department(from_at timestamptz, to_at timestamptz)
  RETURNS TABLE (key text, received bigint, open bigint, overdue bigint, sla_compliance float8,
    first_response_avg float8, first_response_p50 float8, first_response_p90 float8,
    resolution_avg float8, resolution_p50 float8, resolution_p90 float8, reopened_share float8)
  -- JIT off: the plan's cost makes Postgres compile it on every call, about 0.4 s of the 0.6.
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public SET jit = off AS $$
  WITH w AS (
    SELECT c.department_id, c.status NOT IN ('RESOLVED', 'REJECTED') AS open,
      c.first_response_at, c.first_response_due_at, c.resolution_due_at,
      floor(extract(epoch FROM c.first_response_at - c.received_at) * 1000) / 1000 AS fr,
      floor(extract(epoch FROM c.resolved_at - c.received_at) * 1000) / 1000 AS rs,
      -- A probe of the partial index of REOPENED events per complaint of the window (the
      -- set of every reopened complaint, built each call, took about 0.5 s).
      EXISTS (SELECT 1 FROM status_event e WHERE e.complaint_id = c.id AND e.to_status = 'REOPENED')
        AS reopened
    FROM complaint c
    WHERE c.received_at >= from_at AND c.received_at < to_at),
  g AS (
    SELECT CASE WHEN GROUPING(department_id) = 1 THEN 'TOTAL'
                ELSE coalesce(department_id::text, 'NONE') END AS key,
      count(*) AS received,
      count(*) FILTER (WHERE open) AS open,
      count(*) FILTER (WHERE open AND ((first_response_at IS NULL AND first_response_due_at < now())
                                       OR resolution_due_at < now())) AS overdue,
      count(*) FILTER (WHERE first_response_at <= first_response_due_at)::float8
        / nullif(count(*) FILTER (WHERE first_response_at IS NOT NULL OR first_response_due_at < now()), 0),
      avg(fr), percentile_cont(0.5) WITHIN GROUP (ORDER BY fr), percentile_cont(0.9) WITHIN GROUP (ORDER BY fr),
      avg(rs), percentile_cont(0.5) WITHIN GROUP (ORDER BY rs), percentile_cont(0.9) WITHIN GROUP (ORDER BY rs),
      count(*) FILTER (WHERE reopened)::float8 / count(*)
    FROM w GROUP BY ROLLUP (department_id))
  SELECT * FROM g
  -- (current_user is the definer here: the caller's department claim tells a ministry.)
  WHERE public.current_department() IS NULL OR g.key IN ('TOTAL', public.current_department()::text)
  ORDER BY g.key $$;
-- Functions are everyone's unless revoked: the public would read every group.
REVOKE EXECUTE ON FUNCTION public.kpis_by_department(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kpis_by_department(timestamptz, timestamptz)
  TO cur_governor, cur_ministry;

-- The frontends' filtered lists (issue 16, point 5), as functions PostGraphile serves as
-- connections (with totalCount); the caller's own policies apply inside (invoker's rights),
-- and the columns it may not read are returned empty (the author's, the row's departments).
CREATE OR REPLACE FUNCTION public.overdue_complaints() RETURNS SETOF complaint
  LANGUAGE sql STABLE AS $$
  SELECT c.id, c.number, c.source, c.external_id, c.category, c.municipality_id, c.text, c.address, c.lat, c.lon,
    NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar, c.received_at, c.status, c.priority,
    c.department_id, c.assignee_id, c.first_response_due_at, c.resolution_due_at, c.first_response_at,
    c.resolved_at, c.is_public, c.version, c.updated_at, NULL::integer[]
  FROM complaint c
  WHERE c.status NOT IN ('RESOLVED', 'REJECTED')
    AND ((c.first_response_at IS NULL AND c.first_response_due_at < now()) OR c.resolution_due_at < now())
  ORDER BY c.received_at DESC, c.id DESC $$;
-- The search texts stay ungranted (they would be a table of every text): a definer's function
-- gives the matching ids, and the complaint's policy decides which of them the caller sees.
CREATE OR REPLACE FUNCTION public.search_matches(needle text) RETURNS SETOF bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT complaint_id FROM complaint_search WHERE text LIKE '%' || lower(needle) || '%' $$;
COMMENT ON FUNCTION public.search_matches(text) IS E'@behavior -*';
REVOKE EXECUTE ON FUNCTION public.search_matches(text) FROM PUBLIC;
CREATE OR REPLACE FUNCTION public.search_complaints(needle text) RETURNS SETOF complaint
  LANGUAGE sql STABLE AS $$
  SELECT c.id, c.number, c.source, c.external_id, c.category, c.municipality_id, c.text, c.address, c.lat, c.lon,
    NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar, c.received_at, c.status, c.priority,
    c.department_id, c.assignee_id, c.first_response_due_at, c.resolution_due_at, c.first_response_at,
    c.resolved_at, c.is_public, c.version, c.updated_at, NULL::integer[]
  FROM complaint c WHERE c.id IN (SELECT public.search_matches(needle))
  ORDER BY c.received_at DESC, c.id DESC $$;
GRANT EXECUTE ON FUNCTION public.overdue_complaints(), public.search_complaints(text),
  public.search_matches(text) TO cur_governor, cur_ministry;
