import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";
import pg from "pg";
import type { Logger } from "./logger.js";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** Creates the database named in `databaseUrl` when it does not exist yet (each service owns one). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name))
    throw new Error(`database name "${name}" must be a plain lower-case identifier`);
  url.pathname = "/postgres";
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (rowCount === 0) {
      // Two replicas may race to create it; the loser's duplicate_database error is harmless.
      await admin.query(`CREATE DATABASE "${name}"`).catch((error: { code?: string }) => {
        if (error.code !== "42P04") throw error;
      });
    }
  } finally {
    await admin.end();
  }
}

/**
 * Applies the service's pending SQL migrations (files named `NNN_what.sql` with `-- Up Migration` and
 * `-- Down Migration` sections). node-pg-migrate holds an advisory lock, so replicas starting together
 * migrate once. Each set of migrations keeps its own table: the service's own in `pgmigrations`, the
 * platform's (outbox, inbox) in theirs, so a service never copies the platform's DDL.
 */
export async function migrate(
  databaseUrl: string,
  migrationsDir: URL,
  logger: Logger,
  migrationsTable = "pgmigrations",
): Promise<void> {
  await runner({
    databaseUrl,
    dir: fileURLToPath(migrationsDir),
    direction: "up",
    migrationsTable,
    checkOrder: true,
    log: (message) => logger.debug({ component: "migrations" }, message),
  });
}

/**
 * A client that prepares each parameterised statement once per connection and from then on only binds and
 * executes it, so Postgres no longer parses it on every call. A statement's name is a hash of its text, so one
 * text always has one name. Only statements with parameters are prepared: their texts are the code's own
 * (values always travel as parameters), which bounds what a connection keeps prepared; BEGIN, COMMIT and the
 * like are sent as they are.
 *
 * Each execution is still planned, for its own values and the table's current size and statistics
 * (`plan_cache_mode = force_custom_plan`). Left to itself, Postgres switches a prepared statement to one
 * generic plan after five runs and keeps it until the table is analysed again. Made on a new, empty table,
 * that plan can be wrong for good where nothing analyses the table (a server with autovacuum off): booking's
 * key lookup would scan every booking of the user instead of using the key's index (booking-store.spec.ts
 * shows it does not). Planning each execution costs less Postgres CPU than parsing each one would.
 */
export class PreparingClient extends pg.Client {
  constructor(config: pg.ClientConfig = {}) {
    super({ ...config, options: [config.options, "-c plan_cache_mode=force_custom_plan"].join(" ").trim() });
  }

  override query(statement: unknown, ...rest: unknown[]): never {
    const [values] = rest;
    const prepared =
      typeof statement === "string" && Array.isArray(values)
        ? { name: statementName(statement), text: statement, values }
        : statement;
    return (super.query as (...args: unknown[]) => never)(
      prepared,
      ...(prepared === statement ? rest : rest.slice(1)),
    );
  }
}

const statementNames = new Map<string, string>();

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `tm_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

export function createPool(databaseUrl: string, logger: Logger, max = 10): Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    idleTimeoutMillis: 30_000,
    Client: PreparingClient,
  });
  // An idle client's connection can drop (e.g. Postgres restarts) and the pool replaces it; unheard, that
  // error would crash the process.
  pool.on("error", (error) => logger.warn({ err: error }, "an idle database connection was lost"));
  return pool;
}

/** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    // A failed ROLLBACK means the connection is unusable: hand it back as broken so the pool drops it.
    await client.query("ROLLBACK").catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
