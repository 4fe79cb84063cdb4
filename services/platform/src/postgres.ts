import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";
import pg from "pg";
import { Counter, Histogram, type Registry } from "prom-client";
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

/** What a statement does, by its first keyword: the only label of the query metrics, so that it stays small. */
const operations = ["select", "insert", "update", "delete", "with", "begin", "commit", "rollback"] as const;
type Operation = (typeof operations)[number] | "other";

function operationOf(text: string): Operation {
  const keyword = /^\s*([a-z]+)/i.exec(text)?.[1]?.toLowerCase();
  return operations.find((operation) => operation === keyword) ?? "other";
}

/** What the code knows about one statement text, worked out the first time it runs. */
interface Statement {
  /** Its prepared statement's name, when it has parameters (see PreparingClient). */
  name: string;
  operation: Operation;
}

const statements = new Map<string, Statement>();

function statementOf(text: string): Statement {
  let statement = statements.get(text);
  if (statement === undefined) {
    statement = {
      name: `tm_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`,
      operation: operationOf(text),
    };
    statements.set(text, statement);
  }
  return statement;
}

interface QueryRecorder {
  succeeded(seconds: number): void;
  failed(seconds: number): void;
}

/**
 * How long the service's queries take and how many fail, by operation (select, insert, ..., begin, commit).
 * Measured on the connection, from sending the query to its answer: a pool's wait for a free connection is
 * not in it. Each operation's label children are looked up once, not hashed from labels on every query.
 */
export class DatabaseMetrics {
  private readonly duration: Histogram<"operation">;
  private readonly errors: Counter<"operation">;
  private readonly recorders = new Map<Operation, QueryRecorder>();

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: "db_query_duration_seconds",
      help: "Time a database query took, from sending it to its answer (failed ones included).",
      labelNames: ["operation"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.errors = new Counter({
      name: "db_query_errors_total",
      help: "Database queries that failed (an error from Postgres or a lost connection).",
      labelNames: ["operation"],
      registers: [registry],
    });
  }

  recorder(operation: Operation): QueryRecorder {
    let recorder = this.recorders.get(operation);
    if (recorder === undefined) {
      const time = this.duration.labels(operation);
      const failures = this.errors.labels(operation);
      recorder = {
        succeeded: (seconds) => time.observe(seconds),
        failed(seconds) {
          time.observe(seconds);
          failures.inc();
        },
      };
      this.recorders.set(operation, recorder);
    }
    return recorder;
  }
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
 *
 * With `metrics`, each query given as a text (with or without a callback) is timed and its failure counted.
 */
export class PreparingClient extends pg.Client {
  protected readonly metrics: DatabaseMetrics | undefined = undefined;

  constructor(config: pg.ClientConfig = {}) {
    super({ ...config, options: [config.options, "-c plan_cache_mode=force_custom_plan"].join(" ").trim() });
  }

  override query(statement: unknown, ...rest: unknown[]): never {
    const query = super.query as (...args: unknown[]) => never;
    if (typeof statement !== "string") return query.call(this, statement, ...rest);
    const known = statementOf(statement);
    const [values] = rest;
    const args = Array.isArray(values)
      ? [{ name: known.name, text: statement, values }, ...rest.slice(1)]
      : [statement, ...rest];
    if (this.metrics === undefined) return query.apply(this, args);
    const recorder = this.metrics.recorder(known.operation);
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === "function") {
      args[last] = (error: unknown, result: unknown) => {
        if (error) recorder.failed(elapsed());
        else recorder.succeeded(elapsed());
        callback(error, result);
      };
      return query.apply(this, args);
    }
    const result = query.apply(this, args) as Promise<unknown>;
    result.then(
      () => recorder.succeeded(elapsed()),
      () => recorder.failed(elapsed()),
    );
    return result as never;
  }
}

export interface PoolOptions {
  /** Connections at most. */
  max?: number;
  /** Where every query's duration and failure are recorded (see DatabaseMetrics); nowhere when undefined. */
  metrics?: DatabaseMetrics;
}

/** A pool of PreparingClients. */
export function createPool(
  databaseUrl: string,
  logger: Logger,
  { max = 10, metrics }: PoolOptions = {},
): Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    idleTimeoutMillis: 30_000,
    Client:
      metrics === undefined
        ? PreparingClient
        : class MeasuredClient extends PreparingClient {
            protected override readonly metrics = metrics;
          },
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
