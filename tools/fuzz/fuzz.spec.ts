/**
 * A bounded, seeded fuzz run over every method of every service (see fuzz-run.ts): the same seed sends the
 * same calls, so a failure here replays with `npm run fuzz -- --seed <seed> --method <name>`. Longer runs
 * with other seeds: `npm run fuzz -- --seconds N`.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type FuzzStack, formatCounts, runFuzz, startFuzzStack } from "./fuzz-run.js";

const SEED = 20_260_719;
/** Per method: with every method of the system about 640 calls, about a minute of calls on a busy machine. */
const RUNS_PER_METHOD = 40;

describe("fuzzing every public method", () => {
  let fuzz: FuzzStack;
  before(async () => {
    fuzz = await startFuzzStack();
  });
  after(() => fuzz?.stack.stop());

  it("finds every method through the service descriptors, and the gateway routes the public ones", () => {
    const procedures = fuzz.targets.map(({ method }) => `${method.parent.name}/${method.name}`);
    for (const expected of [
      "CatalogService/GetTour",
      "BookingService/CreateBooking",
      "PaymentService/Charge",
    ]) {
      assert.ok(procedures.includes(expected), `${expected} is not fuzzed`);
    }
    const routed = (name: string) => fuzz.targets.find(({ method }) => method.name === name)?.routed;
    assert.equal(routed("GetTour"), true);
    assert.equal(routed("ReserveSeats"), false);
    assert.equal(routed("Charge"), false);
  });

  it("gets no server fault, crash, restart, error log line or write from any bad request", async (t) => {
    const result = await runFuzz({ ...fuzz, seed: SEED, budget: { runs: RUNS_PER_METHOD } });
    t.diagnostic(`${result.calls} calls, seed ${SEED}`);
    for (const line of formatCounts(result.counts).split("\n")) t.diagnostic(line);
    assert.deepEqual(result.failures, []);
    assert.ok(result.calls >= fuzz.targets.length * RUNS_PER_METHOD * 0.9, `only ${result.calls} calls`);
  });
});
