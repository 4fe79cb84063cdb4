/**
 * `npm run check:bundle`: builds the services (tools/build.ts), starts the whole stack from `dist/` as the
 * image runs it (each bundle in its own folder, in the image's environment) and proves the bundles behave
 * like the sources where bundling could break them: each service migrated its database (its own migrations
 * and the platform's outbox/inbox tables, found through `import.meta.url` among the files the build copied
 * beside the bundle) and serves, and one booking's W3C trace context (a `traceparent` sent to the gateway)
 * reaches every service on its path, over gRPC and then over NATS to notification, and shows up in their log
 * lines: that needs one OpenTelemetry API (and its context manager) shared by all the code in a bundle, on
 * the gRPC server and client side alike.
 */
import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BookingService, BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import type { ServiceName } from "@tourmesh/stack";
import { startBenchStack } from "./bench/bench-stack.js";
import { DEMO_USERS } from "./bench/booking-load.js";
import { buildBundles } from "./build.js";

await buildBundles();
const stack = await startBenchStack({ runner: "dist", keepLogs: true });
const problems: string[] = [];
try {
  const transport = createGrpcTransport({ baseUrl: stack.gatewayUrl });
  const [alice] = DEMO_USERS;
  const { accessToken } = await createClient(IdentityService, transport).signIn(alice ?? {});
  const traceId = randomBytes(16).toString("hex");
  const { booking } = await createClient(BookingService, transport).createBooking(
    { idempotencyKey: crypto.randomUUID(), tourId: "tour_paris_louvre", travelers: 1, countryCode: "FR" },
    {
      headers: {
        authorization: `Bearer ${accessToken}`,
        traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01`,
      },
    },
  );
  if (booking?.status !== BookingStatus.CONFIRMED) problems.push(`the booking ended ${booking?.status}`);
  const onPath = (["gateway", "booking", "catalog", "payment", "notification"] as const).filter((name) =>
    stack.processes.has(name),
  );
  const traced = (service: ServiceName) =>
    stack.process(service).logs.filter((line) => line.trace_id === traceId);
  // Log lines are written in batches, and the notification follows an event through the outbox and NATS.
  for (
    let waited = 0;
    waited < 10_000 && onPath.some((service) => traced(service).length === 0);
    waited += 250
  )
    await new Promise((resolve) => setTimeout(resolve, 250));
  for (const service of onPath) {
    const lines = traced(service);
    console.log(`${service.padEnd(12)} ${lines.length} log line(s) with the booking's trace id`);
    if (lines.length === 0) problems.push(`${service} logged no line with trace id ${traceId}`);
  }
} finally {
  await stack.stop();
}
if (problems.length > 0) {
  console.error(`the bundles do not behave like the sources:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log("the bundled services migrate, serve and pass trace context on like the sources");
process.exit(0);
