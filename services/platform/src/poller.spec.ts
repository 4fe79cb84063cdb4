import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Poller } from "./poller.js";
import { captureLogs } from "./testing/events-test-kit.js";
import { waitFor } from "./testing/wait-for.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("Poller", () => {
  it("runs the next round at once while there is more, and after the interval once there is not", async () => {
    const { logger } = captureLogs();
    const rounds: Array<{ start: number; end: number }> = [];
    const left: Array<"more" | "done"> = ["more", "more", "done"];
    const poller = new Poller({ name: "spec", intervalMs: 1_000, logger }, async () => {
      const start = performance.now();
      await sleep(5);
      rounds.push({ start, end: performance.now() });
      return left.shift() ?? "done";
    });
    poller.start();
    await waitFor("four rounds", async () => rounds.length >= 4);
    await poller.stop();
    const gapAfter = (index: number) =>
      (rounds[index + 1]?.start ?? Number.NaN) - (rounds[index]?.end ?? Number.NaN);
    for (const index of [0, 1])
      assert.ok(gapAfter(index) < 500, `round ${index + 2} waited ${gapAfter(index)} ms`);
    assert.ok(gapAfter(2) >= 990, `the round after a done one waited only ${gapAfter(2)} ms`);
  });

  it("logs a round that throws and runs the next after the interval", async () => {
    const { logger, lines } = captureLogs();
    let rounds = 0;
    const poller = new Poller({ name: "flaky", intervalMs: 50, logger }, async () => {
      rounds++;
      if (rounds === 1) throw new Error("the database is away");
      return "done";
    });
    poller.start();
    await waitFor("a round after the failed one", async () => rounds >= 2);
    await poller.stop();
    const failure = lines.find((line) => line.msg === "a round failed; will retry");
    assert.equal(failure?.poller, "flaky");
    assert.match(String((failure?.err as { message?: string } | undefined)?.message), /database is away/);
  });

  it("stops after the round in progress, and runs no round after that", async () => {
    const { logger } = captureLogs();
    let finished = 0;
    let rounds = 0;
    const poller = new Poller({ name: "slow", intervalMs: 10, logger }, async () => {
      rounds++;
      await sleep(100);
      finished++;
      return "more";
    });
    poller.start();
    await sleep(30);
    await poller.stop();
    assert.equal(finished, rounds, "stop waited for the round it interrupted");
    await sleep(50);
    assert.equal(rounds, finished, "and no round began after it");
  });
});
