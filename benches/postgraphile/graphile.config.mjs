// PostGraphile 5 over the gateway's own database, for benches/postgraphile.sh: the Amber
// preset with pg-aggregates (its best for the KPIs), every request in the caller's Postgres
// role (setup.sql: grants and Row Level Security equivalent to the gateway's roles matrix),
// from the same HS256 tokens the gateway verifies (`CUR_JWT_SECRET`).
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { PgAggregatesPreset } from "@graphile/pg-aggregates";
import jwt from "jsonwebtoken";

const secret = process.env.CUR_JWT_SECRET;
if (!secret) throw new Error("CUR_JWT_SECRET: the gateway's token secret");

/** The Postgres settings of a request's token: its role, and a ministry's department. */
function pgSettingsOf(header) {
  if (!header) return { role: "cur_anonymous" };
  const [scheme, token] = header.split(" ");
  if (scheme !== "Bearer" || !token) throw new Error("the Authorization header must be `Bearer <token>`");
  // Throws on a bad signature or an expired token: the request is refused.
  const claims = jwt.verify(token, secret, { algorithms: ["HS256"] });
  switch (claims.role) {
    case "governor":
      return { role: "cur_governor" };
    case "ministry":
      return { role: "cur_ministry", "jwt.claims.department_id": String(claims.department_id) };
    default:
      // The comparison's roles only; any other is the public.
      return { role: "cur_anonymous" };
  }
}

/** @type {GraphileConfig.Preset} */
export default {
  extends: [PostGraphileAmberPreset, PgAggregatesPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.PG_POOL_SIZE || 8) },
    }),
  ],
  grafserv: {
    port: Number(process.env.PORT || 5678),
    host: "127.0.0.1",
    graphiql: false,
    maxRequestLength: 1_000_000,
  },
  grafast: {
    explain: false,
    context(requestContext) {
      const header = requestContext.node?.req?.headers?.authorization;
      return { pgSettings: pgSettingsOf(header) };
    },
  },
};
