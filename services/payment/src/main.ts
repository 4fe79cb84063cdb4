import { PaymentFaultService } from "@tourmesh/gen/tourmesh/payment/v1/payment_faults_pb.js";
import { PaymentService } from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { runService } from "@tourmesh/platform";
import { initialFaults, paymentConfigSchema, paymentDefaults } from "./config.js";
import { FaultSettings, fleetFaults } from "./faults.js";
import { paymentFaultHandlers, paymentHandlers } from "./handlers.js";
import { PaymentStore } from "./payment-store.js";

await runService({
  name: "payment",
  config: paymentConfigSchema,
  defaults: paymentDefaults,
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: { outbox: true },
  async routes(server, { config, db, logger, flags }) {
    const faults = {
      own: new FaultSettings(initialFaults(config)),
      fleet: await flags.follow(() => fleetFaults(flags)),
    };
    logger.info({ faults: faults.own.get() }, "payment's own faults");
    server.add(PaymentService, paymentHandlers(new PaymentStore(db), faults));
    server.add(PaymentFaultService, paymentFaultHandlers(faults));
  },
});
