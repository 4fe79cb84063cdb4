import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger } from "@tourmesh/platform";
import { type RedisServer, startRedisServer, waitFor } from "@tourmesh/platform/testing";
import { Registry } from "prom-client";
import { CacheMetrics } from "./cache-metrics.js";
import { RedisCache } from "./redis-cache.js";

const TTL_MS = 60_000;

describe("RedisCache", () => {
  let redis: RedisServer;
  let cache: RedisCache;
  let metrics: CacheMetrics;

  before(async () => {
    redis = await startRedisServer();
    metrics = new CacheMetrics(new Registry());
    cache = new RedisCache({
      url: redis.url,
      keyPrefix: "spec:",
      commandTimeoutMs: 500,
      logger: createLogger("redis-cache-spec", "silent"),
      metrics,
    });
    await waitFor("the cache to be usable", async () => cache.usable);
  });
  after(async () => {
    await cache?.close();
    await redis?.close();
  });

  /** Reads `key`; on a miss, fills it with `body` as a caller would after reading the database. */
  async function readThrough(key: string, tags: string[], body: string) {
    const read = await cache.read(key);
    if (read.hit) return read.body.toString();
    await cache.fill(key, tags, read.since, TTL_MS, Buffer.from(body));
    return undefined;
  }

  it("misses, stores, then hits", async () => {
    assert.equal(await readThrough("a", ["t:a"], "A1"), undefined);
    assert.equal(await readThrough("a", ["t:a"], "ignored"), "A1");
  });

  it("keeps a body byte for byte, whatever bytes it holds (newlines, NUL, bytes that are not UTF-8)", async () => {
    const body = Buffer.from([0x0a, 0x00, 0xff, 0xfe, 0x0a, 0x7b, 0x22, 0x0d, 0x0a, 0xc3]);
    const read = await cache.read("bytes");
    assert.equal(read.hit, false);
    if (read.hit) return;
    assert.equal(await cache.fill("bytes", ["t:bytes"], read.since, TTL_MS, body), true);
    assert.deepEqual(await cache.read("bytes"), { hit: true, body });
  });

  it("makes an entry stale when one of its tags is invalidated, and no other", async () => {
    await readThrough("b", ["t:b", "shared"], "B1");
    await readThrough("c", ["t:c"], "C1");
    await cache.invalidate(["t:b"]);
    assert.equal((await cache.read("b")).hit, false);
    assert.deepEqual(await cache.read("c"), { hit: true, body: Buffer.from("C1") });
    await readThrough("b", ["t:b", "shared"], "B2");
    assert.deepEqual(await cache.read("b"), { hit: true, body: Buffer.from("B2") });
  });

  it("refuses a fill whose database read began before an invalidation of its tags", async () => {
    const read = await cache.read("d");
    assert.equal(read.hit, false);
    if (read.hit) return;
    // The database read runs here; a change commits and is invalidated before the fill arrives.
    await cache.invalidate(["t:d"]);
    assert.equal(await cache.fill("d", ["t:d"], read.since, TTL_MS, Buffer.from("stale")), false);
    assert.equal((await cache.read("d")).hit, false);
  });

  it("after a restart of Redis, stores nothing until flushed, then works again", async () => {
    const read = await cache.read("e");
    assert.equal(read.hit, false);
    if (read.hit) return;
    await redis.stop("SIGKILL");
    await assert.rejects(cache.read("e"));
    assert.equal(cache.usable, false);
    await redis.start();
    // The first read finds Redis empty (no clock): the cache flushes before it is used again.
    await waitFor(
      "the cache to flush and resume",
      async () =>
        (await cache.read("e").then(
          () => true,
          () => false,
        )) && cache.usable,
      20_000,
    );
    // A fill that began before the restart is refused: its invalidations may have been lost with Redis.
    assert.equal(await cache.fill("e", ["t:e"], read.since, TTL_MS, Buffer.from("from before")), false);
    assert.equal(await readThrough("e", ["t:e"], "E1"), undefined);
    assert.equal(await readThrough("e", ["t:e"], "ignored"), "E1");
  });

  it("goes out of use while held, and flushes everything before it is used again", async () => {
    await readThrough("f", ["t:f"], "F1");
    cache.hold("notifications");
    assert.equal(cache.usable, false);
    cache.release("notifications");
    await waitFor("the cache to flush and resume", async () => cache.usable);
    assert.equal((await cache.read("f")).hit, false);
  });

  it("sends an invalidation Redis did not confirm again before the cache is read", async () => {
    await readThrough("h", ["t:h"], "H1");
    redis.pause();
    try {
      await assert.rejects(cache.invalidate(["t:h"]));
      assert.equal(cache.usable, false);
    } finally {
      redis.resume();
    }
    await waitFor("the cache to resume", async () => cache.usable);
    assert.equal((await cache.read("h")).hit, false);
  });

  it("answers a frozen Redis with errors within its command timeout, skips it a moment, then reads it again", async () => {
    await readThrough("g", ["t:g"], "G1");
    redis.pause();
    try {
      const started = performance.now();
      await assert.rejects(cache.read("g"));
      assert.ok(performance.now() - started < 2_000);
      assert.equal(cache.usable, false);
    } finally {
      redis.resume();
    }
    await waitFor("the cache to resume", async () => cache.usable);
    // A failed read loses nothing: what was stored is still good.
    assert.equal(await readThrough("g", ["t:g"], "ignored"), "G1");
  });
});
