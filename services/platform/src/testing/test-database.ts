import { randomBytes } from "node:crypto";
import pg from "pg";

export interface TestDatabase {
  /** Connection URL of the new, empty database. */
  url: string;
  /** Runs one statement in the database, e.g. to check what a service wrote; returns the rows. */
  query<Row extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    values?: unknown[],
  ): Promise<Row[]>;
  /** Drops the database, first closing whatever connections are still open to it. */
  drop(): Promise<void>;
}

/** The Postgres server that holds the tests' (and the benchmarks') databases. */
export const databaseServerUrl =
  process.env.TEST_DATABASE_SERVER_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Runs `work` on a connection to the server's `postgres` database, e.g. to create or drop a database. */
export async function withDatabaseServer<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseServerUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh database on the real Postgres server, named `test_<prefix>_<random>`, for one test file. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `test_${prefix}_${randomBytes(4).toString("hex")}`;
  await withDatabaseServer((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(databaseServerUrl);
  url.pathname = `/${name}`;
  // One lazily opened connection for `query`. (Not a pg.Pool: its end() resolves before the sockets close,
  // and DROP ... WITH (FORCE) would then kill a connection nobody listens to any more.)
  let connection: Promise<pg.Client> | undefined;
  const connect = async () => {
    const client = new pg.Client({ connectionString: url.toString() });
    // A connection the server drops (e.g. Postgres restarted) fails its query; the next query reconnects.
    client.on("error", () => {
      connection = undefined;
    });
    try {
      await client.connect();
    } catch (error) {
      connection = undefined;
      throw error;
    }
    return client;
  };
  return {
    url: url.toString(),
    async query<Row extends pg.QueryResultRow>(sql: string, values: unknown[] = []) {
      connection ??= connect();
      return (await (await connection).query<Row>(sql, values)).rows;
    },
    async drop() {
      const open = connection;
      connection = undefined;
      await (await open?.catch(() => undefined))?.end();
      await withDatabaseServer((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
