import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { createLogger } from "./logger.js";
import { createPool, DatabaseMetrics, inTransaction, type Pool } from "./postgres.js";
import { createTestDatabase, type TestDatabase } from "./testing/test-database.js";

const logger = createLogger("postgres-spec", "silent");

/** The value of one sample in the registry's exposition, or undefined when it has none. */
async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const escaped = series.replace(/[{}"+]/g, "\\$&");
  const match = new RegExp(`^${escaped} (\\S+)$`, "m").exec(await registry.metrics());
  return match ? Number(match[1]) : undefined;
}

describe("a pool with DatabaseMetrics", () => {
  let db: TestDatabase;
  let pool: Pool;
  const registry = new Registry();
  before(async () => {
    db = await createTestDatabase("platform_postgres");
    pool = createPool(db.url, logger, { max: 2, metrics: new DatabaseMetrics(registry) });
    await pool.query("CREATE TABLE notes (id integer PRIMARY KEY)");
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  it("times each query by its operation, through pool.query and through a checked-out client alike", async () => {
    await pool.query("INSERT INTO notes (id) VALUES ($1)", [1]);
    await inTransaction(pool, async (client) => {
      await client.query("SELECT id FROM notes WHERE id = $1", [1]);
      await client.query("SELECT pg_sleep(0.05)");
    });

    assert.equal(await sample(registry, 'db_query_duration_seconds_count{operation="insert"}'), 1);
    assert.equal(await sample(registry, 'db_query_duration_seconds_count{operation="select"}'), 2);
    assert.equal(await sample(registry, 'db_query_duration_seconds_count{operation="begin"}'), 1);
    assert.equal(await sample(registry, 'db_query_duration_seconds_count{operation="commit"}'), 1);
    const selectSeconds = await sample(registry, 'db_query_duration_seconds_sum{operation="select"}');
    assert.ok(selectSeconds !== undefined && selectSeconds >= 0.05, `select took ${selectSeconds} s in all`);
    assert.ok(
      ((await sample(registry, 'db_query_duration_seconds_bucket{le="0.025",operation="select"}')) ?? 0) < 2,
      "the 50 ms sleep is not counted under 25 ms",
    );
    assert.equal(await sample(registry, 'db_query_errors_total{operation="select"}'), undefined);
  });

  it("counts a failed query as an error of its operation, and times it too", async () => {
    const before = (await sample(registry, 'db_query_duration_seconds_count{operation="insert"}')) ?? 0;
    await assert.rejects(pool.query("INSERT INTO notes (id) VALUES ($1)", [1]), /duplicate key/);
    await assert.rejects(inTransaction(pool, (client) => client.query("UPDATE nowhere SET id = 1")));

    assert.equal(await sample(registry, 'db_query_errors_total{operation="insert"}'), 1);
    assert.equal(await sample(registry, 'db_query_errors_total{operation="update"}'), 1);
    assert.equal(await sample(registry, 'db_query_duration_seconds_count{operation="insert"}'), before + 1);
    assert.equal(await sample(registry, 'db_query_duration_seconds_count{operation="rollback"}'), 1);
  });

  it("labels statements it does not know by keyword as other, so the label's values stay few", async () => {
    const others = async () =>
      (await sample(registry, 'db_query_duration_seconds_count{operation="other"}')) ?? 0;
    const before = await others();
    await pool.query("VACUUM notes");
    assert.equal(await others(), before + 1);
  });
});
