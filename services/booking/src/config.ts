import {
  baseConfigSchema,
  type ConfigDefaults,
  configFields,
  tokenVerifierDefaults,
  tokenVerifierFields,
} from "@tourmesh/platform";
import { z } from "zod";
import type { SagaOptions } from "./saga.js";

const { milliseconds } = configFields;
const positive = z.coerce.number().int().min(1);

/** Booking's settings. */
export const bookingConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.url(),
  CATALOG_ADDR: z.string().min(1),
  PAYMENT_ADDR: z.string().min(1),
  ...tokenVerifierFields,
  /** Deadline of one Charge call; past it the booking stays PENDING_PAYMENT and is retried. */
  BOOKING_CHARGE_TIMEOUT_MS: milliseconds.min(1),
  /** Deadline of one catalog call made by the saga. */
  BOOKING_CATALOG_TIMEOUT_MS: milliseconds.min(1),
  /** How long a tour's price and start time read from the catalog are used before it is asked again. */
  BOOKING_TOUR_FACTS_TTL_MS: milliseconds.min(1),
  /** Settle attempts in all (the one in CreateBooking included) before the booking is PAYMENT_FAILED. */
  BOOKING_PAYMENT_MAX_ATTEMPTS: positive,
  /** Backoff between attempts: starts here, doubles, never exceeds the max; half of it is random. */
  BOOKING_RETRY_BASE_MS: milliseconds.min(1),
  BOOKING_RETRY_MAX_MS: milliseconds.min(1),
  /** The circuit breaker around Charge: failures in a row that open it, and when it tries again. */
  BOOKING_BREAKER_THRESHOLD: positive,
  BOOKING_BREAKER_HALF_OPEN_MS: milliseconds.min(1),
  /** How often to look for owed work whose attempt died with its process, and request its retry. */
  BOOKING_RETRY_SWEEP_MS: milliseconds.min(1),
});

export type BookingConfig = z.output<typeof bookingConfigSchema>;

export const bookingDefaults = {
  PORT: 50052,
  METRICS_PORT: 9452,
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/booking",
  CATALOG_ADDR: "127.0.0.1:50051",
  PAYMENT_ADDR: "127.0.0.1:50053",
  ...tokenVerifierDefaults,
  BOOKING_CHARGE_TIMEOUT_MS: 2_000,
  BOOKING_CATALOG_TIMEOUT_MS: 2_000,
  BOOKING_TOUR_FACTS_TTL_MS: 10_000,
  BOOKING_PAYMENT_MAX_ATTEMPTS: 8,
  BOOKING_RETRY_BASE_MS: 1_000,
  BOOKING_RETRY_MAX_MS: 60_000,
  BOOKING_BREAKER_THRESHOLD: 5,
  BOOKING_BREAKER_HALF_OPEN_MS: 5_000,
  BOOKING_RETRY_SWEEP_MS: 5_000,
} satisfies ConfigDefaults<typeof bookingConfigSchema>;

/** The saga's options, from booking's settings. */
export function sagaOptions(config: BookingConfig): SagaOptions {
  return {
    chargeTimeoutMs: config.BOOKING_CHARGE_TIMEOUT_MS,
    catalogTimeoutMs: config.BOOKING_CATALOG_TIMEOUT_MS,
    tourFactsTtlMs: config.BOOKING_TOUR_FACTS_TTL_MS,
    schedule: {
      baseDelayMs: config.BOOKING_RETRY_BASE_MS,
      maxDelayMs: config.BOOKING_RETRY_MAX_MS,
      maxAttempts: config.BOOKING_PAYMENT_MAX_ATTEMPTS,
    },
    breakerThreshold: config.BOOKING_BREAKER_THRESHOLD,
    breakerHalfOpenAfterMs: config.BOOKING_BREAKER_HALF_OPEN_MS,
  };
}
