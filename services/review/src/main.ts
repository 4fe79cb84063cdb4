import { BookingService } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { ReviewService } from "@tourmesh/gen/tourmesh/review/v1/review_pb.js";
import { baseConfigSchema, configFields, runService, TokenVerifier } from "@tourmesh/platform";
import { z } from "zod";
import { BookingCheck } from "./booking-check.js";
import { reviewHandlers } from "./handlers.js";
import { ReviewStore } from "./review-store.js";

await runService({
  name: "review",
  config: baseConfigSchema.extend({
    DATABASE_URL: z.url(),
    BOOKING_ADDR: z.string().min(1),
    JWKS_URL: z.url(),
    JWT_ISSUER: z.string().min(1),
    JWT_AUDIENCE: z.string().min(1),
    /** Deadline of one ListBookings call made to check the reviewer's bookings. */
    REVIEW_BOOKING_TIMEOUT_MS: configFields.milliseconds.min(1),
  }),
  defaults: {
    PORT: 50055,
    METRICS_PORT: 9455,
    DATABASE_URL: "postgres://postgres@127.0.0.1:5432/review",
    BOOKING_ADDR: "127.0.0.1:50052",
    JWKS_URL: "http://127.0.0.1:9456/.well-known/jwks.json",
    JWT_ISSUER: "https://identity.tourmesh",
    JWT_AUDIENCE: "tourmesh",
    REVIEW_BOOKING_TIMEOUT_MS: 2_000,
  },
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: { outbox: true },
  routes(server, runtime) {
    const { config } = runtime;
    const verifier = new TokenVerifier({
      jwksUrl: config.JWKS_URL,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      registry: runtime.metrics.registry,
    });
    const bookings = new BookingCheck(
      runtime.client(BookingService, config.BOOKING_ADDR),
      config.REVIEW_BOOKING_TIMEOUT_MS,
    );
    server.add(
      ReviewService,
      reviewHandlers(new ReviewStore(runtime.db as NonNullable<typeof runtime.db>), bookings, verifier),
    );
  },
});
