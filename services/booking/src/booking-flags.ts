import { type Caller, callerContext, type FeatureFlags } from "@tourmesh/platform";
import { type PricingRules, standardPricing } from "./quote.js";

/** What booking's feature flags decide for one call. */
export interface BookingFlags {
  pricing: PricingRules;
  /** Off: every tour lookup asks the catalog (the kill switch of the tour-facts cache). */
  tourFactsCache: boolean;
}

/** What booking does when the flag file does not define its flags. */
export const defaultBookingFlags: BookingFlags = { pricing: standardPricing, tourFactsCache: true };

/**
 * Booking's flags (defined in flags/flags.json), evaluated for the verified caller and the traveller's
 * country.
 */
export const bookingFlagKeys = {
  /** A rollout by fractional percentage of user ids: the group discount from fewer travellers. */
  groupMinTravelers: "booking-group-discount-min-travelers",
  /** A targeting rule by country: an offer for travellers of some countries. */
  regionalOffer: "booking-regional-offer-basis-points",
  /** A kill switch: off sends every tour lookup to the catalog. Its rule sees no user or country. */
  tourFactsCache: "booking-tour-facts-cache",
} as const;

/** Booking's flags for one call, by the verified caller and the traveller's country. */
export type BookingFlagsFor = (caller: Caller, countryCode: string) => BookingFlags;

/**
 * Booking's flags: the pricing rules are evaluated on every call (their rules look at the user and the
 * country; see FeatureFlags.valueOf); the kill switch, which looks at neither, follows the definitions (see
 * FeatureFlags.follow).
 */
export async function bookingFlags(flags: FeatureFlags): Promise<BookingFlagsFor> {
  const tourFactsCache = await flags.follow(() =>
    flags.client.getBooleanValue(bookingFlagKeys.tourFactsCache, defaultBookingFlags.tourFactsCache),
  );
  return (caller, countryCode) => {
    const context = callerContext(caller, countryCode);
    return {
      pricing: {
        groupMinTravelers: flags.valueOf(
          bookingFlagKeys.groupMinTravelers,
          standardPricing.groupMinTravelers,
          context,
        ),
        regionalOfferBasisPoints: flags.valueOf(
          bookingFlagKeys.regionalOffer,
          standardPricing.regionalOfferBasisPoints,
          context,
        ),
      },
      tourFactsCache: tourFactsCache.current(),
    };
  };
}
