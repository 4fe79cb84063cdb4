// `npm run redrive -- --consumer <name>`: once the cause is fixed, republishes the events a consumer
// dead-lettered to their original subjects (new Nats-Msg-Id, same ce-id) and removes them from the
// dead-letter stream. Reads NATS_URL, EVENTS_STREAM and EVENTS_SUBJECT_PREFIX like the services do.
import { parseArgs } from "node:util";
import { eventsConfigSchema, loadConfig, redriveDeadLetters } from "@tourmesh/platform/internal";

const { values } = parseArgs({ options: { consumer: { type: "string" } } });
if (!values.consumer || !/^[A-Za-z0-9_-]+$/.test(values.consumer)) {
  console.error("usage: npm run redrive -- --consumer <name>");
  process.exit(64);
}
const config = loadConfig(eventsConfigSchema);
const redriven = await redriveDeadLetters(config, values.consumer);
console.log(
  `redrove ${redriven} dead letter(s) of consumer ${values.consumer} from stream ${config.EVENTS_STREAM}_DLQ`,
);
