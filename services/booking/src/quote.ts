/**
 * Pricing: what a booking costs, itemised. A pure function of the tour's unit price, the number of
 * travellers, a promo code, the traveller's country, the date and the pricing rules in force for the traveller
 * (which feature flags choose: see booking-flags.ts). Money is in integer minor units throughout.
 *
 *   base     = unit price × travellers
 *   discount = round(base × discount rate)            discount rate = group rate + promo rate + regional offer
 *                                                     (at most 100%)
 *   tax      = round((base − discount) × VAT rate)
 *   total    = base − discount + tax
 *
 * The one rounding rule: each line that applies a rate is rounded half up to a whole minor unit (x.5 cents
 * goes up), discount first, then tax on the discounted amount. Rates are in basis points (1% = 100).
 */

export interface Money {
  /** ISO 4217, e.g. "EUR". */
  currencyCode: string;
  /** Minor units, e.g. 12950 for EUR 129.50. */
  minorUnits: number;
}

export interface Quote {
  tourId: string;
  travelers: number;
  unitPrice: Money;
  base: Money;
  discount: Money;
  tax: Money;
  total: Money;
  /** Group and promo discount together, in basis points of base. */
  discountRateBasisPoints: number;
  taxRateBasisPoints: number;
  /** The promo code applied; empty when none. */
  promoCode: string;
  countryCode: string;
}

/** Groups of `groupMinTravelers` travellers or more get GROUP_DISCOUNT_BASIS_POINTS off. */
export const GROUP_DISCOUNT_BASIS_POINTS = 1_000;

/** The rules that may differ from one traveller to another. */
export interface PricingRules {
  /** Groups of this many travellers or more get the group discount. */
  groupMinTravelers: number;
  /** An offer for the traveller's region, in basis points off, added to the other discounts. */
  regionalOfferBasisPoints: number;
}

/** The rules every traveller gets unless a flag says otherwise. */
export const standardPricing: PricingRules = { groupMinTravelers: 6, regionalOfferBasisPoints: 0 };

/**
 * VAT standard rates by country (ISO 3166-1 alpha-2), in basis points. A tour is charged the rate of the
 * traveller's country when it is listed here, and DEFAULT_VAT_BASIS_POINTS otherwise.
 */
export const vatBasisPointsByCountry: Readonly<Record<string, number>> = {
  AT: 2_000,
  BE: 2_100,
  CH: 810,
  DE: 1_900,
  DK: 2_500,
  ES: 2_100,
  FI: 2_550,
  FR: 2_000,
  GB: 2_000,
  GR: 2_400,
  IE: 2_300,
  IT: 2_200,
  LU: 1_700,
  NL: 2_100,
  PL: 2_300,
  PT: 2_300,
  SE: 2_500,
};

/** The rate for countries not in the table: 20%, the rate of tourmesh's home country (FR). */
export const DEFAULT_VAT_BASIS_POINTS = 2_000;

export function vatBasisPoints(countryCode: string): number {
  return vatBasisPointsByCountry[countryCode] ?? DEFAULT_VAT_BASIS_POINTS;
}

/**
 * When a promo code may be used, in UTC: always; between two dates (`from` inclusive, `until` exclusive); or
 * every year between two month-days, which may wrap over the new year (e.g. 12-01 to 03-01).
 */
export type PromoValidity =
  | { kind: "always" }
  | { kind: "dates"; from: string; until: string }
  | { kind: "yearly"; from: string; until: string };

export interface Promo {
  code: string;
  discountBasisPoints: number;
  validity: PromoValidity;
}

export const promos: readonly Promo[] = [
  { code: "WELCOME5", discountBasisPoints: 500, validity: { kind: "always" } },
  {
    code: "SPRING10",
    discountBasisPoints: 1_000,
    validity: { kind: "yearly", from: "03-01", until: "06-01" },
  },
  {
    code: "SUMMER15",
    discountBasisPoints: 1_500,
    validity: { kind: "yearly", from: "06-01", until: "09-01" },
  },
  {
    code: "WINTER10",
    discountBasisPoints: 1_000,
    validity: { kind: "yearly", from: "12-01", until: "03-01" },
  },
  // Long over; kept so that an expired code can be tried.
  {
    code: "LAUNCH20",
    discountBasisPoints: 2_000,
    validity: { kind: "dates", from: "2025-01-01", until: "2025-02-01" },
  },
];

/** The promo a code names if it may be used at `now`, or why it may not. Codes are case-insensitive. */
export function findPromo(code: string, now: Date): { promo: Promo } | { problem: string } {
  const promo = promos.find((candidate) => candidate.code === code.toUpperCase());
  if (!promo) return { problem: "is not a known promo code" };
  const { validity } = promo;
  switch (validity.kind) {
    case "always":
      return { promo };
    case "dates": {
      const day = now.toISOString().slice(0, 10);
      if (day < validity.from) return { problem: `is valid from ${validity.from}` };
      if (day >= validity.until) return { problem: `expired on ${validity.until}` };
      return { promo };
    }
    case "yearly": {
      const monthDay = now.toISOString().slice(5, 10);
      const { from, until } = validity;
      const valid =
        from < until ? monthDay >= from && monthDay < until : monthDay >= from || monthDay < until;
      return valid
        ? { promo }
        : { problem: `is valid every year from ${from} until ${until} (month-day) only` };
    }
  }
}

/** amount × rate, rounded half up to a whole minor unit. Exact: the product is computed as a bigint. */
export function applyRate(amountMinorUnits: number, basisPoints: number): number {
  return Number((BigInt(amountMinorUnits) * BigInt(basisPoints) + 5_000n) / 10_000n);
}

export function priceQuote(input: {
  tourId: string;
  unitPrice: Money;
  travelers: number;
  promo?: Promo | undefined;
  countryCode: string;
  rules: PricingRules;
}): Quote {
  const { unitPrice, travelers, promo, countryCode, rules } = input;
  const money = (minorUnits: number): Money => ({ currencyCode: unitPrice.currencyCode, minorUnits });
  const groupBasisPoints = travelers >= rules.groupMinTravelers ? GROUP_DISCOUNT_BASIS_POINTS : 0;
  const discountRate = Math.min(
    10_000,
    groupBasisPoints + (promo?.discountBasisPoints ?? 0) + rules.regionalOfferBasisPoints,
  );
  const taxRate = vatBasisPoints(countryCode);

  const base = unitPrice.minorUnits * travelers;
  const discount = applyRate(base, discountRate);
  const tax = applyRate(base - discount, taxRate);
  return {
    tourId: input.tourId,
    travelers,
    unitPrice,
    base: money(base),
    discount: money(discount),
    tax: money(tax),
    total: money(base - discount + tax),
    discountRateBasisPoints: discountRate,
    taxRateBasisPoints: taxRate,
    promoCode: promo?.code ?? "",
    countryCode,
  };
}
