// Prints the topology's local-only settings as JSON, by service: `{"identity":{"SEED_DEMO_USERS":"true"}}`.
// The Tiltfile reads them, so that a local cluster gets what the local stack gets and nothing is listed twice.
import { services } from "./topology.js";

process.stdout.write(
  `${JSON.stringify(Object.fromEntries(services.map((service) => [service.name, service.localOnly])))}\n`,
);
