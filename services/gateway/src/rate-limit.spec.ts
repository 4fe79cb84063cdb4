import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RateLimiter, takeToken } from "./rate-limit.js";

describe("token bucket", () => {
  const policy = { ratePerSecond: 2, burst: 3 };

  it("lets a burst through, then one request per 1/rate seconds, and says how long to wait", () => {
    const bucket = { tokens: 3, updatedAtMs: 0 };
    assert.deepEqual(
      [0, 0, 0].map((now) => takeToken(bucket, policy, now)),
      [0, 0, 0],
    );
    assert.equal(takeToken(bucket, policy, 0), 500, "empty: a token comes in 1/2 s");
    assert.equal(takeToken(bucket, policy, 250), 250, "half a token later, half the wait");
    assert.equal(takeToken(bucket, policy, 500), 0);
    assert.equal(takeToken(bucket, policy, 10_000), 0, "a long pause refills to the burst, not beyond");
    assert.equal(bucket.tokens, 2);
  });
});

describe("rate limiter", () => {
  it("keeps one bucket per key", () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2 }, 100, () => now);
    assert.deepEqual(
      ["a", "a", "a", "b"].map((key) => limiter.take(key)),
      [0, 0, 1000, 0],
    );
    now = 1000;
    assert.equal(limiter.take("a"), 0);
  });

  it("never holds more than maxKeys buckets, forgetting the least recently seen first", () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1 }, 1_000, () => 0);
    assert.equal(limiter.take("busy"), 0);
    assert.equal(limiter.take("busy"), 1000);
    for (let i = 0; i < 5_000; i++) {
      limiter.take(`client-${i}`);
      if (i % 500 === 0) assert.equal(limiter.take("busy"), 1000, "a key in use stays remembered");
    }
    assert.equal(limiter.trackedKeys, 1_000, "a flood of distinct keys is bounded");
    assert.equal(limiter.take("client-0"), 0, "a forgotten key starts with a full bucket");
  });

  it("limits nothing when the rate is 0", () => {
    const limiter = new RateLimiter({ ratePerSecond: 0, burst: 1 }, 10);
    assert.deepEqual(
      [1, 2, 3].map(() => limiter.take("a")),
      [0, 0, 0],
    );
    assert.equal(limiter.trackedKeys, 0);
  });
});
