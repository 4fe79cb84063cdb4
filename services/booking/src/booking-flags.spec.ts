import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { FlagDefinitions, REPOSITORY_FLAGS_FILE } from "@tourmesh/platform";
import { copyFlagFile, type FlagFileCopy, waitFor } from "@tourmesh/platform/testing";
import { type BookingStack, startBookingStack } from "@tourmesh/stack/testing";
import { bookingFlagKeys } from "./booking-flags.js";

const tourId = "tour_paris_louvre";
/** Every flag flip must show in behaviour within this long, with no restart. */
const FLIP_MS = 2_000;

describe("booking's feature flags, flipped in the file while the services run", () => {
  let stack: BookingStack;
  let flags: FlagFileCopy;
  const repositoryFlags = readFileSync(REPOSITORY_FLAGS_FILE, "utf8");
  before(async () => {
    flags = await copyFlagFile();
    stack = await startBookingStack({ bookingEnv: flags.env, paymentEnv: flags.env });
  });
  after(async () => {
    await stack?.stop();
    await flags?.remove();
  });

  const quote = async (userId: string, travelers: number, countryCode = "FR") => {
    const { quote: found } = await stack.booking.quotePrice(
      { tourId, travelers, promoCode: "", countryCode },
      await stack.as(userId),
    );
    assert.ok(found);
    return { discount: Number(found.discount?.minorUnits), unitPrice: Number(found.unitPrice?.minorUnits) };
  };
  const restoreFile = async () => {
    await flags.write(repositoryFlags);
    await waitFor("the repository's flags", async () => (await quote("user_fr", 2)).discount === 0, FLIP_MS);
  };

  it("gives the small-group discount to the users the 10% rollout picks, always the same ones", async () => {
    const definitions = new FlagDefinitions();
    definitions.replace(repositoryFlags);
    const inRollout = (userId: string) =>
      definitions.evaluator.resolveNumberEvaluation(bookingFlagKeys.groupMinTravelers, 6, {
        targetingKey: userId,
      }).value === 4;
    const users = Array.from({ length: 60 }, (_, index) => `user_rollout_${index}`);
    const picked = users.filter(inRollout);
    const left = users.filter((userId) => !inRollout(userId));
    assert.ok(picked.length > 0 && left.length > 0, `${picked.length} of ${users.length} picked`);
    for (const userId of [...picked.slice(0, 3), ...left.slice(0, 3)]) {
      for (let again = 0; again < 2; again++) {
        assert.equal((await quote(userId, 4)).discount > 0, inRollout(userId), userId);
      }
    }

    const outside = left[0] ?? "";
    await flags.serve(bookingFlagKeys.groupMinTravelers, "four");
    await waitFor("the discount for everyone", async () => (await quote(outside, 4)).discount > 0, FLIP_MS);
    await flags.serve(bookingFlagKeys.groupMinTravelers, "six");
    await waitFor(
      "no discount for anyone",
      async () => (await quote(picked[0] ?? "", 4)).discount === 0,
      FLIP_MS,
    );
    await restoreFile();
  });

  it("makes the regional offer to travellers of the countries its rule names", async () => {
    assert.equal((await quote("user_fr", 2, "FR")).discount, 0);
    // 2 × 69.00 = 138.00; 5% off = 6.90.
    assert.equal((await quote("user_es", 2, "es")).discount, 690);
    await flags.edit((contents) => {
      const flag = contents.flags[bookingFlagKeys.regionalOffer];
      assert.ok(flag);
      flag.targeting = { if: [{ in: [{ var: "country" }, ["ES", "PT", "FR"]] }, "iberia-launch", "none"] };
    });
    await waitFor(
      "the offer in France",
      async () => (await quote("user_fr", 2, "FR")).discount === 690,
      FLIP_MS,
    );
    assert.equal((await quote("user_de", 2, "DE")).discount, 0);
    await restoreFile();
  });

  it("asks the catalog for every quote while the tour-facts cache's kill switch is off", async () => {
    const setPrice = (minorUnits: number) =>
      stack.databases.catalog.query("UPDATE tours SET price_minor = $1 WHERE tour_id = $2", [
        minorUnits,
        tourId,
      ]);
    assert.equal((await quote("user_fr", 1)).unitPrice, 6_900);
    await setPrice(7_100);
    try {
      // Cached (for BOOKING_TOUR_FACTS_TTL_MS, 10 s): the old price.
      assert.equal((await quote("user_fr", 1)).unitPrice, 6_900);
      await flags.serve(bookingFlagKeys.tourFactsCache, "off");
      await waitFor("the new price", async () => (await quote("user_fr", 1)).unitPrice === 7_100, FLIP_MS);
    } finally {
      await setPrice(6_900);
    }
    await waitFor("the price back", async () => (await quote("user_fr", 1)).unitPrice === 6_900, FLIP_MS);
    await restoreFile();
  });

  it("changes nothing when the flag file breaks, and reports it", async () => {
    await flags.serve(bookingFlagKeys.groupMinTravelers, "four");
    await waitFor(
      "the discount for everyone",
      async () => (await quote("user_any", 4)).discount > 0,
      FLIP_MS,
    );
    const errorsBefore = stack.processes.booking.errorLines();
    await flags.write(repositoryFlags.replace('"defaultVariant": "six"', '"defaultVariant": "five"'));
    await waitFor("the refusal", async () => stack.processes.booking.errorLines() > errorsBefore, FLIP_MS);
    const refusal = stack.processes.booking.logs.findLast(
      (line) => line.msg === "feature flag file refused; the flags in force are kept",
    );
    assert.match(String(refusal?.problem), /five/);
    assert.ok((await quote("user_any", 4)).discount > 0, "the flags in force are kept");
    const metrics = await (
      await fetch(`http://127.0.0.1:${stack.processes.booking.metricsPort}/metrics`)
    ).text();
    assert.match(metrics, /^feature_flag_definitions_valid 0$/m);
    assert.match(
      metrics,
      /^feature_flag_evaluations_total\{flag="booking-group-discount-min-travelers",variant="four",reason="STATIC"\} \d+$/m,
    );
    const quoted = stack.processes.booking.logs.findLast((line) =>
      line.method?.toString().endsWith("/QuotePrice"),
    );
    assert.deepEqual(quoted?.feature_flags, {
      "booking-group-discount-min-travelers": "four",
      "booking-regional-offer-basis-points": "none",
    });
    await restoreFile();
  });
});
