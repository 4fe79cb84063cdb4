import { BookingService } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { PaymentSucceededSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { PaymentService } from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { runService, tokenVerifierOptions } from "@tourmesh/platform";
import { bookingFlags } from "./booking-flags.js";
import { BookingMetrics } from "./booking-metrics.js";
import { BookingStore } from "./booking-store.js";
import { bookingConfigSchema, bookingDefaults, sagaOptions } from "./config.js";
import { bookingHandlers } from "./handlers.js";
import { paymentSucceededHandler, paymentSucceededSubject } from "./payment-outcomes.js";
import { runPaymentRetries } from "./payment-retries.js";
import { BookingSaga } from "./saga.js";

await runService({
  name: "booking",
  config: bookingConfigSchema,
  verifier: tokenVerifierOptions,
  defaults: bookingDefaults,
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: { outbox: true },
  async routes(server, runtime) {
    const { config, db, logger } = runtime;
    const store = new BookingStore(db);
    const catalog = runtime.client(CatalogService, config.CATALOG_ADDR);
    const payment = runtime.client(PaymentService, config.PAYMENT_ADDR);
    const metrics = new BookingMetrics(runtime.metrics.registry);
    metrics.samplePendingPayments(() => store.pendingPayments());
    const saga = new BookingSaga(store, catalog, payment, sagaOptions(config), logger, metrics);
    server.add(BookingService, bookingHandlers(store, saga, await bookingFlags(runtime.flags)));
    runPaymentRetries(runtime, store, saga, {
      recheckMs: config.BOOKING_RETRY_BASE_MS,
      sweepIntervalMs: config.BOOKING_RETRY_SWEEP_MS,
    });
    runtime
      .consume({ name: "booking-payment-outcomes", subject: paymentSucceededSubject, inbox: false })
      .on(PaymentSucceededSchema, paymentSucceededHandler(saga));
  },
});
