import { PaymentFaultService } from "@tourmesh/gen/tourmesh/payment/v1/payment_faults_pb.js";
import { PaymentService } from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { baseConfigSchema, configFields, runService } from "@tourmesh/platform";
import { z } from "zod";
import { FaultSettings, MAX_LATENCY_MS, MAX_SEED_LENGTH } from "./faults.js";
import { paymentFaultHandlers, paymentHandlers } from "./handlers.js";
import { PaymentStore } from "./payment-store.js";

await runService({
  name: "payment",
  config: baseConfigSchema.extend({
    DATABASE_URL: z.url(),
    /** Share of new charges declined, 0..1. */
    PAYMENT_DECLINE_RATE: z.coerce.number().min(0).max(1).default(0),
    /** Extra milliseconds every PaymentService call takes. */
    PAYMENT_LATENCY_MS: configFields.milliseconds.max(MAX_LATENCY_MS).default(0),
    /** Every PaymentService call fails UNAVAILABLE. */
    PAYMENT_OUTAGE: configFields.flag.default(false),
    /** Makes decline decisions deterministic (seed + idempotency key); empty for random. */
    PAYMENT_FAULT_SEED: z.string().max(MAX_SEED_LENGTH).default(""),
  }),
  defaults: { PORT: 50053, METRICS_PORT: 9453, DATABASE_URL: "postgres://postgres@127.0.0.1:5432/payment" },
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: { outbox: true },
  routes(server, { config, db, logger }) {
    const faults = new FaultSettings({
      declineRate: config.PAYMENT_DECLINE_RATE,
      latencyMs: config.PAYMENT_LATENCY_MS,
      outage: config.PAYMENT_OUTAGE,
      seed: config.PAYMENT_FAULT_SEED,
    });
    logger.info({ faults: faults.get() }, "payment faults");
    server.add(PaymentService, paymentHandlers(new PaymentStore(db as NonNullable<typeof db>), faults));
    server.add(PaymentFaultService, paymentFaultHandlers(faults));
  },
});
