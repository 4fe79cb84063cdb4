import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runOpenLoop } from "./open-loop.js";

describe("runOpenLoop", () => {
  it("starts rate × seconds calls, each no earlier than its turn, without waiting for answers", async () => {
    const startedAtMs: number[] = [];
    const begin = performance.now();
    await runOpenLoop({ rate: 200, seconds: 0.5, start: () => startedAtMs.push(performance.now() - begin) });
    assert.equal(startedAtMs.length, 100);
    for (const [k, atMs] of startedAtMs.entries())
      assert.ok(atMs >= k * 5 - 1, `call ${k} started at ${atMs} ms, before ${k * 5} ms`);
  });

  it("tells each whole second as it passes", async () => {
    const seconds: number[] = [];
    let starts = 0;
    await runOpenLoop({
      rate: 4,
      seconds: 2.5,
      start: () => starts++,
      onSecond: (second) => seconds.push(second),
    });
    assert.equal(starts, 10);
    assert.deepEqual(seconds, [1, 2]);
  });

  it("stops starting calls when aborted, without sleeping out the rest", async () => {
    const controller = new AbortController();
    let starts = 0;
    setTimeout(() => controller.abort(), 100);
    const begin = performance.now();
    await runOpenLoop({ rate: 1, seconds: 60, start: () => starts++, signal: controller.signal });
    assert.equal(starts, 1);
    assert.ok(performance.now() - begin < 10_000);
  });
});
