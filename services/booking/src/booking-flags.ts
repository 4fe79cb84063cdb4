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
  /** A kill switch: off sends every tour lookup to the catalog. */
  tourFactsCache: "booking-tour-facts-cache",
} as const;

/** Evaluates booking's flags for one call. */
export async function bookingFlags(
  flags: FeatureFlags,
  caller: Caller,
  countryCode: string,
): Promise<BookingFlags> {
  const context = callerContext(caller, countryCode);
  const { client } = flags;
  const [groupMinTravelers, regionalOfferBasisPoints, tourFactsCache] = await Promise.all([
    client.getNumberValue(bookingFlagKeys.groupMinTravelers, standardPricing.groupMinTravelers, context),
    client.getNumberValue(bookingFlagKeys.regionalOffer, standardPricing.regionalOfferBasisPoints, context),
    client.getBooleanValue(bookingFlagKeys.tourFactsCache, defaultBookingFlags.tourFactsCache, context),
  ]);
  return { pricing: { groupMinTravelers, regionalOfferBasisPoints }, tourFactsCache };
}
