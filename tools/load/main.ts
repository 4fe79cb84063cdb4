// `npm run load -- --rate 50 --duration 30`: load against a running gateway (e.g. the one `npm run demo` starts).
import { parseArgs } from "node:util";
import { serviceSpec } from "@tourmesh/stack";
import { formatSummary, runLoad } from "./load-generator.js";

const { values } = parseArgs({
  options: {
    gateway: { type: "string", default: `http://127.0.0.1:${serviceSpec("gateway").port}` },
    rate: { type: "string", default: "20" },
    duration: { type: "string", default: "30" },
    users: { type: "string", default: "alice,bob" },
    password: { type: "string", default: "tourmesh-demo" },
  },
});
const controller = new AbortController();
process.once("SIGINT", () => controller.abort());
const summary = await runLoad({
  gatewayUrl: values.gateway,
  rate: Number(values.rate),
  durationSeconds: Number(values.duration),
  users: values.users.split(",").map((username) => ({ username, password: values.password })),
  onProgress: (line) => console.log(line),
  signal: controller.signal,
});
console.log(`\n${formatSummary(summary)}`);
