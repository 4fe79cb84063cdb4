import assert from "node:assert/strict";
import { test } from "node:test";
import { formatResult, runChaos } from "./chaos-run.js";

// A short chaos run: every fault once, under a light load, then the invariants from the databases.
test("after every service is killed, NATS restarts and payment stalls, the databases agree", {
  timeout: 300_000,
}, async (t) => {
  const result = await runChaos({
    loadSeconds: 10,
    rate: 20,
    paymentStallMs: 1_500,
    overlappingKillsEveryMs: 1_000,
    settleTimeoutMs: 60_000,
  });
  const report = formatResult(result);
  t.diagnostic(report);
  assert.deepEqual(
    [...result.faults.killedAndBack].sort(),
    ["booking", "catalog", "gateway", "identity", "notification", "payment", "review"],
    report,
  );
  assert.ok(result.faults.natsRestarted, report);
  assert.ok(result.faults.paymentStalled, report);
  assert.ok((result.check.counts.bookings.CONFIRMED ?? 0) > 0, report);
  assert.deepEqual(result.check.violations, [], report);
});
