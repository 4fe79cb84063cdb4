import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { InvalidArgumentError, REPOSITORY_FLAGS_FILE } from "@tourmesh/platform";
import {
  chargeOutcome,
  declineReasons,
  FaultSettings,
  faultsInForce,
  MAX_LATENCY_MS,
  noFaults,
  paymentFaultFlags,
  seededDraws,
} from "./faults.js";

const keys = Array.from({ length: 2_000 }, (_, index) => `booking:bkg_${index}`);

describe("chargeOutcome", () => {
  it("never declines at rate 0 and always declines at rate 1, with a known reason", () => {
    for (const key of keys.slice(0, 50)) {
      assert.deepEqual(
        chargeOutcome({ ...noFaults, declineRate: 0 }, key, () => 0),
        { declined: false },
      );
      const outcome = chargeOutcome({ ...noFaults, declineRate: 1 }, key, () => 0.999);
      assert.equal(outcome.declined, true);
      assert.ok(outcome.declined && (declineReasons as readonly string[]).includes(outcome.reason));
    }
  });

  it("is deterministic when seeded: same seed and key, same answer, whatever the random source says", () => {
    const faults = { ...noFaults, declineRate: 0.5, seed: "chaos-42" };
    const first = keys.map((key) => chargeOutcome(faults, key, () => 0));
    const second = keys.map((key) => chargeOutcome(faults, key, () => 0.999));
    assert.deepEqual(first, second);
  });

  it("declines about the configured share of keys when seeded", () => {
    for (const declineRate of [0.1, 0.5, 0.9]) {
      const declined = keys.filter(
        (key) => chargeOutcome({ ...noFaults, declineRate, seed: "s" }, key).declined,
      );
      const share = declined.length / keys.length;
      // 2,000 draws: the share stays within ±0.05 of the rate (more than 4 standard deviations).
      assert.ok(Math.abs(share - declineRate) < 0.05, `rate ${declineRate} gave ${share}`);
    }
  });

  it("gives other answers under another seed", () => {
    const under = (seed: string) =>
      keys.map((key) => chargeOutcome({ ...noFaults, declineRate: 0.5, seed }, key).declined);
    assert.notDeepEqual(under("one"), under("two"));
  });

  it("uses the random source when not seeded", () => {
    const faults = { ...noFaults, declineRate: 0.3 };
    assert.equal(chargeOutcome(faults, "k", () => 0.29).declined, true);
    assert.equal(chargeOutcome(faults, "k", () => 0.3).declined, false);
  });

  it("decides at random by default when not seeded", () => {
    const outcomes = keys
      .slice(0, 200)
      .map(() => chargeOutcome({ ...noFaults, declineRate: 0.5 }, "same-key"));
    assert.ok(outcomes.some((outcome) => outcome.declined));
    assert.ok(outcomes.some((outcome) => !outcome.declined));
  });

  it("draws numbers in [0, 1) that depend on both seed and key", () => {
    const [a, b] = seededDraws("seed", "key");
    assert.ok(a >= 0 && a < 1 && b >= 0 && b < 1);
    assert.notDeepEqual(seededDraws("seed", "key"), seededDraws("seed", "key2"));
    assert.notDeepEqual(seededDraws("seed", "key"), seededDraws("seed2", "key"));
    // The separator keeps ("ab", "c") and ("a", "bc") apart.
    assert.notDeepEqual(seededDraws("ab", "c"), seededDraws("a", "bc"));
  });
});

describe("FaultSettings", () => {
  it("changes only the fields given and returns copies", () => {
    const settings = new FaultSettings({ ...noFaults, latencyMs: 100 });
    const changed = settings.update({ outage: true, declineRate: undefined });
    assert.deepEqual(changed, { ...noFaults, latencyMs: 100, outage: true });
    changed.outage = false;
    assert.equal(settings.get().outage, true);
  });

  it("refuses bad values with one violation per field and changes nothing", () => {
    const settings = new FaultSettings(noFaults);
    assert.throws(
      () => settings.update({ declineRate: 1.5, latencyMs: -1, seed: "x".repeat(129), outage: true }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.deepEqual(error.violations.map((violation) => violation.field).sort(), [
          "decline_rate",
          "latency_ms",
          "seed",
        ]);
        return true;
      },
    );
    assert.throws(() => settings.update({ declineRate: Number.NaN }), InvalidArgumentError);
    assert.deepEqual(settings.get(), noFaults);
  });
});

describe("faultsInForce", () => {
  const none = { outage: false, declineRate: 0, latencyMs: 0 };

  it("takes the worse of a process's own faults and the fleet's, and the process's seed", () => {
    const own = { ...noFaults, declineRate: 0.2, latencyMs: 10, seed: "s" };
    assert.deepEqual(faultsInForce(own, none), own);
    assert.deepEqual(faultsInForce(own, { outage: true, declineRate: 0.5, latencyMs: 5 }), {
      outage: true,
      declineRate: 0.5,
      latencyMs: 10,
      seed: "s",
    });
    assert.deepEqual(faultsInForce(noFaults, { ...none, latencyMs: 300 }), { ...noFaults, latencyMs: 300 });
  });

  it("holds a flag's value outside its range to the range", () => {
    const fleet = { outage: false, declineRate: 7, latencyMs: 10 ** 9 };
    assert.deepEqual(faultsInForce(noFaults, fleet), {
      ...noFaults,
      declineRate: 1,
      latencyMs: MAX_LATENCY_MS,
    });
    assert.deepEqual(faultsInForce(noFaults, { ...none, declineRate: -1, latencyMs: Number.NaN }), noFaults);
  });
});

describe("the payment fault flags in the repository's flag file", () => {
  const { flags } = JSON.parse(readFileSync(REPOSITORY_FLAGS_FILE, "utf8")) as {
    flags: Record<string, { variants: Record<string, unknown>; defaultVariant: string }>;
  };
  const variants = (key: string) => Object.values(flags[key]?.variants ?? {});

  it("are defined, and off by default", () => {
    for (const key of Object.values(paymentFaultFlags)) {
      const flag = flags[key];
      assert.ok(flag, `${key} is defined`);
      assert.ok([false, 0].includes(flag.variants[flag.defaultVariant] as never), `${key} is off by default`);
    }
  });

  it("offer only values in range", () => {
    assert.ok(variants(paymentFaultFlags.outage).every((value) => typeof value === "boolean"));
    assert.ok(
      variants(paymentFaultFlags.declineRate).every(
        (value) => typeof value === "number" && value >= 0 && value <= 1,
      ),
    );
    assert.ok(
      variants(paymentFaultFlags.latencyMs).every(
        (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_LATENCY_MS,
      ),
    );
  });
});
