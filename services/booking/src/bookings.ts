/**
 * The booking domain: what a booking is, what makes a request valid, and when a replayed CreateBooking is
 * the same request. Plain types and functions; no transport, no SQL.
 */
import { RequestCheck } from "@tourmesh/platform";
import type { BookingState } from "./booking-state.js";
import { findPromo, type Promo, type Quote } from "./quote.js";

export interface Booking extends BookingState {
  bookingId: string;
  /** The traveller: the `sub` of the token that created it. */
  userId: string;
  idempotencyKey: string;
  tourId: string;
  travelers: number;
  quote: Quote;
  createTime: Date;
  updateTime: Date;
}

/** A CreateBooking request, checked and normalised (codes upper-cased). */
export interface BookingRequest {
  idempotencyKey: string;
  tourId: string;
  travelers: number;
  promoCode: string;
  countryCode: string;
}

export interface QuoteRequest {
  tourId: string;
  travelers: number;
  promo: Promo | undefined;
  countryCode: string;
}

export const MAX_TRAVELERS = 50;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
const MAX_ID_LENGTH = 128;
const MAX_KEY_LENGTH = 128;
const MAX_PROMO_LENGTH = 32;

const countryCodePattern = /^[A-Za-z]{2}$/;

function checkOrder(
  check: RequestCheck,
  request: { tourId: string; travelers: number; countryCode: string },
) {
  return check
    .text("tour_id", request.tourId, { max: MAX_ID_LENGTH })
    .intRange("travelers", request.travelers, 1, MAX_TRAVELERS)
    .that(
      countryCodePattern.test(request.countryCode),
      "country_code",
      "must be a two-letter country code (ISO 3166-1 alpha-2), e.g. FR",
    );
}

function checkPromo(check: RequestCheck, promoCode: string, now: Date): Promo | undefined {
  if (promoCode === "") return undefined;
  if (promoCode.length > MAX_PROMO_LENGTH) {
    check.that(false, "promo_code", `must be at most ${MAX_PROMO_LENGTH} characters`);
    return undefined;
  }
  const found = findPromo(promoCode, now);
  if ("problem" in found) {
    check.that(false, "promo_code", `${promoCode.toUpperCase()} ${found.problem}`);
    return undefined;
  }
  return found.promo;
}

/** Checks a QuotePrice request, promo code validity at `now` included. */
export function checkQuoteRequest(
  request: { tourId: string; travelers: number; promoCode: string; countryCode: string },
  now: Date,
): QuoteRequest {
  const check = checkOrder(new RequestCheck(), request);
  const promo = checkPromo(check, request.promoCode, now);
  check.done();
  return {
    tourId: request.tourId,
    travelers: request.travelers,
    promo,
    countryCode: request.countryCode.toUpperCase(),
  };
}

/**
 * Checks the shape of a CreateBooking request. Whether its promo code is valid is checked only for a new
 * booking (see `promoForNewBooking`): a replay must find its booking even after the code has expired.
 */
export function checkCreateBooking(request: {
  idempotencyKey: string;
  tourId: string;
  travelers: number;
  promoCode: string;
  countryCode: string;
}): BookingRequest {
  checkOrder(new RequestCheck(), request)
    .text("idempotency_key", request.idempotencyKey, { max: MAX_KEY_LENGTH })
    .text("promo_code", request.promoCode, { max: MAX_PROMO_LENGTH, required: false })
    .done();
  return {
    idempotencyKey: request.idempotencyKey,
    tourId: request.tourId,
    travelers: request.travelers,
    promoCode: request.promoCode.toUpperCase(),
    countryCode: request.countryCode.toUpperCase(),
  };
}

/** The promo of a new booking, if it names one; INVALID_ARGUMENT on promo_code when unknown or not valid now. */
export function promoForNewBooking(request: BookingRequest, now: Date): Promo | undefined {
  const check = new RequestCheck();
  const promo = checkPromo(check, request.promoCode, now);
  check.done();
  return promo;
}

/** An idempotency key names one booking request; replaying it with other details is a client bug. */
export function isSameBookingRequest(booking: Booking, request: BookingRequest): boolean {
  return (
    booking.tourId === request.tourId &&
    booking.travelers === request.travelers &&
    booking.quote.promoCode === request.promoCode &&
    booking.quote.countryCode === request.countryCode
  );
}

export function checkBookingId(bookingId: string): void {
  new RequestCheck().text("booking_id", bookingId, { max: MAX_ID_LENGTH }).done();
}

export function checkListBookings(request: { pageSize: number }): number {
  new RequestCheck().pageSize("page_size", request.pageSize, MAX_PAGE_SIZE).done();
  return request.pageSize === 0 ? DEFAULT_PAGE_SIZE : request.pageSize;
}

/** Bookings are listed newest first by their insertion sequence; a page ends after `seq`. */
export interface BookingPosition {
  seq: number;
}

export function isBookingPosition(value: unknown): value is BookingPosition {
  const seq = (value as { seq?: unknown } | null)?.seq;
  return typeof seq === "number" && Number.isSafeInteger(seq) && seq > 0;
}

/** Keys derived from the booking id, so every retry of a step is the same request to payment. */
export const chargeKey = (bookingId: string) => `booking:${bookingId}:charge`;
export const refundKey = (bookingId: string) => `booking:${bookingId}:refund`;
