import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "@tourmesh/platform";
import { checkQuoteRequest } from "./bookings.js";
import {
  applyRate,
  DEFAULT_VAT_BASIS_POINTS,
  findPromo,
  type PricingRules,
  type Promo,
  priceQuote,
  promos,
  standardPricing,
  vatBasisPoints,
} from "./quote.js";

const eur = (minorUnits: number) => ({ currencyCode: "EUR", minorUnits });
const promo = (code: string): Promo => {
  const found = promos.find((candidate) => candidate.code === code);
  if (!found) throw new Error(`no promo ${code}`);
  return found;
};
const quote = (
  unitPrice: number,
  travelers: number,
  countryCode = "FR",
  promoCode?: string,
  rules: PricingRules = standardPricing,
) =>
  priceQuote({
    tourId: "tour_paris_louvre",
    unitPrice: eur(unitPrice),
    travelers,
    countryCode,
    promo: promoCode ? promo(promoCode) : undefined,
    rules,
  });
const lines = (q: ReturnType<typeof quote>) => ({
  base: q.base.minorUnits,
  discount: q.discount.minorUnits,
  tax: q.tax.minorUnits,
  total: q.total.minorUnits,
});

describe("priceQuote", () => {
  it("prices unit price × travellers plus VAT, with no discount below 6 travellers", () => {
    const q = quote(6_900, 2);
    assert.deepEqual(lines(q), { base: 13_800, discount: 0, tax: 2_760, total: 16_560 });
    assert.equal(q.taxRateBasisPoints, 2_000);
    assert.equal(q.discountRateBasisPoints, 0);
    assert.deepEqual(q.unitPrice, eur(6_900));
    assert.equal(q.total.currencyCode, "EUR");
    assert.deepEqual(lines(quote(6_900, 5)), { base: 34_500, discount: 0, tax: 6_900, total: 41_400 });
  });

  it("gives 10% off from 6 travellers, and taxes the discounted amount", () => {
    const q = quote(6_900, 6);
    assert.equal(q.discountRateBasisPoints, 1_000);
    // 41,400 − 4,140 = 37,260; 20% of it is 7,452.
    assert.deepEqual(lines(q), { base: 41_400, discount: 4_140, tax: 7_452, total: 44_712 });
    assert.deepEqual(lines(quote(6_900, 50)).discount, 34_500);
  });

  it("gives the group discount from the group size the rules say (a rollout lowers it to 4)", () => {
    const smallGroups = { ...standardPricing, groupMinTravelers: 4 };
    assert.equal(quote(6_900, 4).discountRateBasisPoints, 0);
    assert.equal(quote(6_900, 4, "FR", undefined, smallGroups).discountRateBasisPoints, 1_000);
    assert.equal(quote(6_900, 3, "FR", undefined, smallGroups).discountRateBasisPoints, 0);
    // 27,600 − 2,760 = 24,840; 20% of it is 4,968.
    assert.deepEqual(lines(quote(6_900, 4, "FR", undefined, smallGroups)), {
      base: 27_600,
      discount: 2_760,
      tax: 4_968,
      total: 29_808,
    });
  });

  it("adds a regional offer to the other discounts, never past 100%", () => {
    const offer = { ...standardPricing, regionalOfferBasisPoints: 500 };
    const q = quote(10_000, 6, "ES", "SUMMER15", offer);
    assert.equal(q.discountRateBasisPoints, 3_000);
    // 60,000 − 18,000 = 42,000; 21% is 8,820.
    assert.deepEqual(lines(q), { base: 60_000, discount: 18_000, tax: 8_820, total: 50_820 });
    const everything = quote(10_000, 1, "ES", undefined, {
      ...standardPricing,
      regionalOfferBasisPoints: 12_000,
    });
    assert.deepEqual(lines(everything), { base: 10_000, discount: 10_000, tax: 0, total: 0 });
  });

  it("adds a promo's percentage to the group discount", () => {
    assert.deepEqual(lines(quote(10_000, 1, "FR", "WELCOME5")), {
      base: 10_000,
      discount: 500,
      tax: 1_900,
      total: 11_400,
    });
    const q = quote(10_000, 6, "DE", "SUMMER15");
    assert.equal(q.discountRateBasisPoints, 2_500);
    assert.equal(q.promoCode, "SUMMER15");
    // 60,000 − 15,000 = 45,000; 19% is 8,550.
    assert.deepEqual(lines(q), { base: 60_000, discount: 15_000, tax: 8_550, total: 53_550 });
  });

  it("applies each country's VAT rate, and the default to countries not in the table", () => {
    const rates = Object.fromEntries(
      ["FR", "DE", "IT", "ES", "PT", "NL", "CH", "US", "JP"].map((country) => [
        country,
        quote(10_000, 1, country).taxRateBasisPoints,
      ]),
    );
    assert.deepEqual(rates, {
      FR: 2_000,
      DE: 1_900,
      IT: 2_200,
      ES: 2_100,
      PT: 2_300,
      NL: 2_100,
      CH: 810,
      US: DEFAULT_VAT_BASIS_POINTS,
      JP: DEFAULT_VAT_BASIS_POINTS,
    });
    assert.equal(DEFAULT_VAT_BASIS_POINTS, 2_000);
    assert.equal(quote(10_000, 1, "IT").tax.minorUnits, 2_200);
    assert.equal(quote(10_000, 1, "CH").tax.minorUnits, 810);
    assert.equal(vatBasisPoints("PT"), 2_300);
  });

  it("rounds each rated line half up to a whole minor unit: discount first, then tax", () => {
    // Discount 5% of 10 = 0.5 → 1; tax 20% of 9 = 1.8 → 2.
    assert.deepEqual(lines(quote(10, 1, "FR", "WELCOME5")), { base: 10, discount: 1, tax: 2, total: 11 });
    // Tax 21% of 50 = 10.5 → 11.
    assert.deepEqual(lines(quote(50, 1, "ES")), { base: 50, discount: 0, tax: 11, total: 61 });
    // Discount 10% of 11,994 = 1,199.4 → 1,199; tax 19% of 10,795 = 2,051.05 → 2,051.
    assert.deepEqual(lines(quote(1_999, 6, "DE")), {
      base: 11_994,
      discount: 1_199,
      tax: 2_051,
      total: 12_846,
    });
    assert.equal(applyRate(1, 5_000), 1);
    assert.equal(applyRate(3, 5_000), 2);
    assert.equal(applyRate(1, 4_999), 0);
    assert.equal(applyRate(0, 2_000), 0);
    // Exact beyond 2^53 in the intermediate product.
    assert.equal(applyRate(900_000_000_000_000, 2_000), 180_000_000_000_000);
  });

  it("keeps its invariants for any input: integers, discount ≤ base, total = base − discount + tax", () => {
    let seed = 7;
    const next = (max: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % max;
    };
    const countries = ["FR", "DE", "CH", "ZZ"];
    const codes = [undefined, "WELCOME5", "SPRING10", "SUMMER15", "LAUNCH20"];
    for (let round = 0; round < 2_000; round++) {
      const q = quote(1 + next(500_000), 1 + next(50), countries[next(4)], codes[next(5)]);
      const { base, discount, tax, total } = lines(q);
      for (const value of [base, discount, tax, total]) assert.ok(Number.isSafeInteger(value) && value >= 0);
      assert.ok(discount <= base);
      assert.equal(total, base - discount + tax);
      assert.equal(tax, Math.floor(((base - discount) * q.taxRateBasisPoints) / 10_000 + 0.5));
    }
  });
});

describe("promo codes", () => {
  const at = (iso: string) => new Date(iso);
  const valid = (code: string, iso: string) => "promo" in findPromo(code, at(iso));

  it("accepts an always-valid code at any date, in any letter case", () => {
    assert.ok(valid("WELCOME5", "2020-01-01T00:00:00Z"));
    assert.ok(valid("welcome5", "2099-12-31T23:59:59Z"));
  });

  it("accepts a yearly code inside its window, every year, and refuses it outside", () => {
    assert.ok(valid("SPRING10", "2027-03-01T00:00:00Z"));
    assert.ok(valid("SPRING10", "2031-05-31T23:59:59Z"));
    assert.ok(!valid("SPRING10", "2027-06-01T00:00:00Z"));
    assert.ok(!valid("SPRING10", "2027-02-28T23:59:59Z"));
    assert.ok(valid("SUMMER15", "2026-07-14T12:00:00Z"));
    assert.ok(!valid("SUMMER15", "2026-09-01T00:00:00Z"));
  });

  it("handles a yearly window that wraps over the new year", () => {
    for (const iso of ["2026-12-01T00:00:00Z", "2027-01-10T00:00:00Z", "2028-02-29T23:00:00Z"])
      assert.ok(valid("WINTER10", iso), iso);
    for (const iso of ["2026-11-30T23:59:59Z", "2027-03-01T00:00:00Z", "2027-07-01T00:00:00Z"])
      assert.ok(!valid("WINTER10", iso), iso);
  });

  it("says why a dated code cannot be used: not yet valid, or expired", () => {
    assert.ok(valid("LAUNCH20", "2025-01-15T00:00:00Z"));
    assert.deepEqual(findPromo("LAUNCH20", at("2025-02-01T00:00:00Z")), { problem: "expired on 2025-02-01" });
    assert.deepEqual(findPromo("LAUNCH20", at("2024-12-31T23:59:59Z")), {
      problem: "is valid from 2025-01-01",
    });
    assert.deepEqual(findPromo("NOPE", at("2025-01-15T00:00:00Z")), { problem: "is not a known promo code" });
  });
});

describe("checkQuoteRequest", () => {
  const now = new Date("2026-07-01T00:00:00Z");
  const fieldsOf = (request: Parameters<typeof checkQuoteRequest>[0]) => {
    try {
      checkQuoteRequest(request, now);
    } catch (error) {
      assert.ok(error instanceof InvalidArgumentError);
      return error.violations.map((violation) => violation.field).sort();
    }
    return [];
  };

  it("normalises codes and resolves the promo", () => {
    const checked = checkQuoteRequest(
      { tourId: "t", travelers: 2, promoCode: "summer15", countryCode: "de" },
      now,
    );
    assert.equal(checked.countryCode, "DE");
    assert.equal(checked.promo?.code, "SUMMER15");
  });

  it("names every bad field at once, promo validity included", () => {
    assert.deepEqual(fieldsOf({ tourId: "", travelers: 0, promoCode: "NOPE", countryCode: "FRA" }), [
      "country_code",
      "promo_code",
      "tour_id",
      "travelers",
    ]);
    assert.deepEqual(fieldsOf({ tourId: "t", travelers: 51, promoCode: "LAUNCH20", countryCode: "F1" }), [
      "country_code",
      "promo_code",
      "travelers",
    ]);
    assert.deepEqual(fieldsOf({ tourId: "t", travelers: 1, promoCode: "SPRING10", countryCode: "FR" }), [
      "promo_code",
    ]);
    assert.deepEqual(fieldsOf({ tourId: "t", travelers: 50, promoCode: "", countryCode: "fr" }), []);
  });
});
