import { BookingService } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import {
  BookingPaymentRequestedSchema,
  PaymentSucceededSchema,
} from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { PaymentService } from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { baseConfigSchema, configFields, Poller, runService, TokenVerifier } from "@tourmesh/platform";
import { z } from "zod";
import { bookingSubjects } from "./booking-events.js";
import { BookingMetrics } from "./booking-metrics.js";
import { BookingStore } from "./booking-store.js";
import { bookingHandlers } from "./handlers.js";
import { paymentSucceededHandler, paymentSucceededSubject } from "./payment-outcomes.js";
import { paymentRetryHandler } from "./payment-retries.js";
import { BookingSaga } from "./saga.js";

const { milliseconds } = configFields;
const positive = z.coerce.number().int().min(1);
/** Bookings the retry sweep takes per transaction. */
const SWEEP_BATCH = 500;

await runService({
  name: "booking",
  config: baseConfigSchema.extend({
    DATABASE_URL: z.url(),
    CATALOG_ADDR: z.string().min(1),
    PAYMENT_ADDR: z.string().min(1),
    JWKS_URL: z.url(),
    JWT_ISSUER: z.string().min(1),
    JWT_AUDIENCE: z.string().min(1),
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
  }),
  defaults: {
    PORT: 50052,
    METRICS_PORT: 9452,
    DATABASE_URL: "postgres://postgres@127.0.0.1:5432/booking",
    CATALOG_ADDR: "127.0.0.1:50051",
    PAYMENT_ADDR: "127.0.0.1:50053",
    JWKS_URL: "http://127.0.0.1:9456/.well-known/jwks.json",
    JWT_ISSUER: "https://identity.tourmesh",
    JWT_AUDIENCE: "tourmesh",
    BOOKING_CHARGE_TIMEOUT_MS: 2_000,
    BOOKING_CATALOG_TIMEOUT_MS: 2_000,
    BOOKING_TOUR_FACTS_TTL_MS: 10_000,
    BOOKING_PAYMENT_MAX_ATTEMPTS: 8,
    BOOKING_RETRY_BASE_MS: 1_000,
    BOOKING_RETRY_MAX_MS: 60_000,
    BOOKING_BREAKER_THRESHOLD: 5,
    BOOKING_BREAKER_HALF_OPEN_MS: 5_000,
    BOOKING_RETRY_SWEEP_MS: 5_000,
  },
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: { outbox: true },
  routes(server, runtime) {
    const { config, logger } = runtime;
    const store = new BookingStore(runtime.db as NonNullable<typeof runtime.db>);
    const metrics = new BookingMetrics(runtime.metrics.registry);
    metrics.samplePendingPayments(() => store.pendingPayments());
    const saga = new BookingSaga(
      store,
      runtime.client(CatalogService, config.CATALOG_ADDR),
      runtime.client(PaymentService, config.PAYMENT_ADDR),
      {
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
      },
      logger,
      metrics,
    );
    const verifier = new TokenVerifier({
      jwksUrl: config.JWKS_URL,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      registry: runtime.metrics.registry,
    });
    server.add(BookingService, bookingHandlers(store, saga, verifier));

    runtime
      .consume({
        name: "booking-payment-retries",
        subject: bookingSubjects.paymentRequested,
        // Each attempt is counted with the booking, which bounds them; deliveries also wait out other
        // attempts' leases, so JetStream's own bound is far above the attempt budget, and each owed booking's
        // event waits (unacknowledged) until its work is done.
        inbox: false,
        maxDeliver: 1_000,
        maxAckPending: 20_000,
      })
      .on(
        BookingPaymentRequestedSchema,
        paymentRetryHandler(store, (booking) => saga.run(booking), {
          leaseMs: saga.leaseMs,
          recheckMs: config.BOOKING_RETRY_BASE_MS,
        }),
      );
    const sweep = new Poller(
      { name: "retry-sweep", intervalMs: config.BOOKING_RETRY_SWEEP_MS, logger },
      async () => ((await store.sweepUnrequestedWork(SWEEP_BATCH)) < SWEEP_BATCH ? "done" : "more"),
    );
    sweep.start();
    runtime.onShutdown(() => sweep.stop());
    runtime
      .consume({ name: "booking-payment-outcomes", subject: paymentSucceededSubject, inbox: false })
      .on(PaymentSucceededSchema, paymentSucceededHandler(saga));
  },
});
