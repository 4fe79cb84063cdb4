import {
  baseConfigSchema,
  type ConfigDefaults,
  configFields,
  tokenVerifierDefaults,
  tokenVerifierFields,
} from "@tourmesh/platform";
import { z } from "zod";

/** Review's settings. */
export const reviewConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.url(),
  BOOKING_ADDR: z.string().min(1),
  CATALOG_ADDR: z.string().min(1),
  ...tokenVerifierFields,
  /** Deadline of one ListBookings call made to check the reviewer's bookings. */
  REVIEW_BOOKING_TIMEOUT_MS: configFields.milliseconds.min(1),
  /** Deadline of the GetTour call that finds the reviewed tour's operator. */
  REVIEW_CATALOG_TIMEOUT_MS: configFields.milliseconds.min(1),
});

export const reviewDefaults = {
  PORT: 50055,
  METRICS_PORT: 9455,
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/review",
  BOOKING_ADDR: "127.0.0.1:50052",
  CATALOG_ADDR: "127.0.0.1:50051",
  ...tokenVerifierDefaults,
  REVIEW_BOOKING_TIMEOUT_MS: 2_000,
  REVIEW_CATALOG_TIMEOUT_MS: 2_000,
} satisfies ConfigDefaults<typeof reviewConfigSchema>;
