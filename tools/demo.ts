// `npm run demo`: the whole local stack on its standard ports, a scripted scenario through the gateway that
// prints what happens, then the services keep running until Ctrl-C, which stops everything started here.
//   DEMO_VERBOSE=1 npm run demo   also prints every call's log line
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { BookingService, BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import type { Money } from "@tourmesh/gen/tourmesh/common/v1/money_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import {
  NotificationKind,
  NotificationService,
} from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";
import { PaymentFaultService } from "@tourmesh/gen/tourmesh/payment/v1/payment_faults_pb.js";
import { ReviewService } from "@tourmesh/gen/tourmesh/review/v1/review_pb.js";
import { createClient } from "@tourmesh/platform";
import { copyFlagFile } from "@tourmesh/platform/testing";
import {
  ensureInfrastructure,
  logPrefix,
  openLogFiles,
  readableLogLine,
  serviceNames,
  services,
  startStack,
} from "@tourmesh/stack";
import { ensureWebApp } from "../web/build.js";
import { runLoad } from "./load/load-generator.js";

const verbose = process.env.DEMO_VERBOSE === "1";
const started = performance.now();
const say = (line = "") => process.stdout.write(`${line}\n`);
const money = (amount: Money | undefined) =>
  `${(Number(amount?.minorUnits ?? 0n) / 100).toFixed(2)} ${amount?.currencyCode ?? ""}`;

const gatewayPort = services.find((service) => service.name === "gateway")?.port;
say(`tourmesh: the web app will be at http://localhost:${gatewayPort}/ once the services are serving\n`);
// The gateway serves the web app from web/dist as it finds it at start: built first on a fresh clone.
await ensureWebApp({ log: (line) => say(`web app: ${line}`) });
const infrastructure = await ensureInfrastructure(".tourmesh");
const logsDir = ".tourmesh/logs";
const logFiles = openLogFiles(logsDir);
for (const what of infrastructure.started) say(`started ${what}`);
for (const what of infrastructure.missing) say(`not running: ${what}`);

/** Each call's and each event's log line is left out unless asked for; errors always show. */
const quiet = (line: string) =>
  !verbose &&
  (line.includes('"msg":"handled"') || line.includes('"msg":"event handled"')) &&
  !line.includes('"level":"error"');
// The stack reads a copy of flags/flags.json, which the scenario flips (payment's outage); edit it to flip
// flags while the demo runs.
const flags = await copyFlagFile();
let stopStack: () => Promise<void> = async () => {};
let stopping = false;
async function stopEverything(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say("\nstopping every service (they drain first) ...");
    await stopStack();
    await logFiles.close();
    await flags.remove();
    infrastructure.stop();
  }
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stopEverything(0));

const stack = await startStack({
  ports: "standard",
  databases: "standard",
  events: "standard",
  restart: true,
  env: { "*": flags.env },
  logs: (service, line) => {
    logFiles.write(service, line);
    if (!quiet(line)) say(logPrefix(service, serviceNames.indexOf(service)) + readableLogLine(line));
  },
}).catch((error: unknown) => {
  say(`\nthe services did not start: ${String(error)}`);
  return stopEverything(1);
});
stopStack = () => stack.stop();
say(
  `\nall ${stack.processes.size} services are serving (${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
);

try {
  const gateway = createConnectTransport({ baseUrl: stack.gatewayUrl, httpVersion: "1.1" });
  const identity = createConnectClient(IdentityService, gateway);
  const catalog = createConnectClient(CatalogService, gateway);
  const booking = createConnectClient(BookingService, gateway);
  const reviews = createConnectClient(ReviewService, gateway);
  const notifications = createConnectClient(NotificationService, gateway);

  const { accessToken, expiresIn } = await identity.signIn({ username: "alice", password: "tourmesh-demo" });
  say(`1. alice signs in: a JWT valid for ${expiresIn} s`);
  const asAlice = { headers: { authorization: `Bearer ${accessToken}` } };

  const { tours } = await catalog.listTours({ filter: { destination: "Paris", availableOnly: true } });
  say(`2. she browses Paris: ${tours.length} tours, e.g.`);
  for (const tour of tours.slice(0, 3))
    say(`     ${tour.title.padEnd(24)} ${money(tour.price)}  ${tour.seats?.available ?? 0} seats`);

  const tourId = tours[0]?.tourId ?? "tour_paris_louvre";
  const { quote } = await booking.quotePrice(
    { tourId, travelers: 6, promoCode: "WELCOME5", countryCode: "DE" },
    asAlice,
  );
  say(
    `3. a quote for 6 travellers from Germany with WELCOME5: base ${money(quote?.base)} − discount ${money(quote?.discount)}` +
      ` + VAT ${money(quote?.tax)} = ${money(quote?.total)}`,
  );

  const created = await booking.createBooking(
    { idempotencyKey: `demo-${Date.now()}`, tourId, travelers: 2, countryCode: "FR" },
    asAlice,
  );
  say(
    `4. she books 2 seats: ${created.booking?.bookingId} is ${BookingStatus[created.booking?.status ?? 0]}`,
  );
  say(`   first confirmed booking ${((performance.now() - started) / 1000).toFixed(1)} s after start`);

  const payment = createClient(PaymentFaultService, stack.address("payment"), { retries: true });
  const outageInForce = async (outage: boolean) => {
    while ((await payment.getFaults({})).faults?.outage !== outage)
      await new Promise((resolve) => setTimeout(resolve, 50));
  };
  await flags.serve("payment-outage", "on");
  await outageInForce(true);
  const whileDown = await booking.createBooking(
    { idempotencyKey: `demo-down-${Date.now()}`, tourId, travelers: 1, countryCode: "FR" },
    asAlice,
  );
  say(
    `5. the flag payment-outage turns on (every payment replica fails); another booking is kept as ` +
      BookingStatus[whileDown.booking?.status ?? 0],
  );
  await flags.serve("payment-outage", "off");
  await outageInForce(false);
  const bookingId = whileDown.booking?.bookingId ?? "";
  let status = whileDown.booking?.status;
  for (let waited = 0; status === BookingStatus.PENDING_PAYMENT && waited < 30_000; waited += 500) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    status = (await booking.getBooking({ bookingId }, asAlice)).booking?.status;
  }
  say(`   payment is back; booking's retries settled it: ${BookingStatus[status ?? 0]}`);
  payment.close();

  const { bookings } = await booking.listBookings({ pageSize: 10 }, asAlice);
  const statuses = bookings.map((item) => BookingStatus[item.status]);
  say(`6. alice has ${bookings.length} bookings on her first page: ${[...new Set(statuses)].join(", ")}`);

  const before = (await catalog.getTour({ tourId })).tour;
  // One review per traveller and tour: on the standard databases an earlier run's review is still there.
  const review = await reviews
    .createReview({ tourId, rating: 5, comment: "Worth every cent." }, asAlice)
    .then(
      (created) => created.review,
      (error: unknown) => {
        if (ConnectError.from(error).code === Code.AlreadyExists) return undefined;
        throw error;
      },
    );
  if (review === undefined) {
    say("7. she reviewed the tour she booked on an earlier run of the demo: a second review is refused");
  } else {
    say(`7. she reviews the tour she booked: ${review.rating} stars (${review.reviewId})`);
    let after = before;
    for (let waited = 0; after?.rating?.count === before?.rating?.count && waited < 10_000; waited += 200) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      after = (await catalog.getTour({ tourId })).tour;
    }
    say(
      `   ReviewCreated went through review's outbox and NATS to catalog: rating ${after?.rating?.average} ` +
        `from ${after?.rating?.count} review(s), was ${before?.rating?.count}`,
    );
  }
  // A tour she never booked, on this run or an earlier one (the demo's load books tours as alice too).
  const booked = new Set<string>();
  let pageToken = "";
  do {
    const page = await booking.listBookings({ pageSize: 100, pageToken }, asAlice);
    for (const item of page.bookings) booked.add(item.tourId);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  const neverBooked =
    (await catalog.listTours({ pageSize: 100 })).tours.find((tour) => !booked.has(tour.tourId))?.tourId ?? "";
  const refused = await reviews
    .createReview({ tourId: neverBooked, rating: 1, comment: "never went" }, asAlice)
    .then(
      () => "accepted (unexpected)",
      (error: unknown) => String(error),
    );
  say(`   a review of a tour she did not book is refused: ${refused}`);

  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const { notifications: told } = await notifications.listNotifications({ pageSize: 5 }, asAlice);
  say("8. what alice was told (booking events consumed by notification, one per event), newest first:");
  for (const item of told) say(`     ${NotificationKind[item.kind].padEnd(18)} ${item.message}`);

  const olga = await identity.signIn({ username: "olga", password: "tourmesh-demo" });
  const asOlga = { headers: { authorization: `Bearer ${olga.accessToken}` } };
  const startTime = timestampFromDate(new Date(Date.now() + 21 * 24 * 60 * 60 * 1000));
  const { tour: offered } = await catalog.createTour(
    {
      tour: {
        title: "Canal Sunrise Row",
        description: "The canals before the city wakes.",
        destination: "Amsterdam",
        startTime,
        durationMinutes: 90,
        price: { currencyCode: "EUR", minorUnits: 4_500n },
        seats: { capacity: 12 },
      },
    },
    asOlga,
  );
  const { tour: grown } = await catalog.updateTour(
    {
      tour: { tourId: offered?.tourId, etag: offered?.etag, seats: { capacity: 16 } },
      updateMask: { paths: ["seats.capacity"] },
    },
    asOlga,
  );
  say(
    `9. olga, a tour operator (scope tours:write), creates ${grown?.tourId} and raises its capacity to ` +
      `${grown?.seats?.capacity} (etag ${offered?.etag} → ${grown?.etag})`,
  );
  const notAnOperator = await catalog.createTour({ tour: offered }, asAlice).then(
    () => "accepted (unexpected)",
    (error: unknown) => String(error),
  );
  say(`   alice, a traveller, may not: ${notAnOperator}`);
  const webFlags = async (authorization?: string) => {
    const response = await fetch(`${stack.gatewayUrl}/ofrep/v1/evaluate/flags`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ context: { country: "FR" } }),
    });
    const { flags: evaluated } = (await response.json()) as {
      flags: Array<{ key: string; variant?: string }>;
    };
    return evaluated.find((flag) => flag.key === "web-trip-planner")?.variant;
  };
  say(
    `10. the web app's flags over OFREP: the dark-launched trip planner is ${await webFlags(asAlice.headers.authorization)}` +
      ` for alice, ${await webFlags()} for a visitor`,
  );
} catch (error) {
  say(`\nthe scenario failed: ${String(error)}`);
  await stopEverything(1);
}

say(`
Where to look:
  web app  ${stack.gatewayUrl}/   (sign in as alice or bob, password tourmesh-demo; olga is a tour operator)
  gateway (Connect, gRPC-Web, gRPC; HTTP/1.1 and h2c)  ${stack.gatewayUrl}
  metrics  ${services.map((service) => `${service.name} http://127.0.0.1:${service.metricsPort}/metrics`).join("\n           ")}
  JWKS     ${stack.environmentOf("gateway").JWKS_URL}
${prometheusLines(infrastructure.prometheusUrl)}
  logs     every service's lines in ${logsDir}/<service>.log; one trace's or request's across them:
           npm run logs -- --trace <trace_id>     npm run logs -- --request <request_id (x-request-id)>
  flags    ${flags.path} (a copy of flags/flags.json: edit it, and every service follows within a second)

  curl -s -H 'content-type: application/json' -d '{"filter":{"destination":"Rome"}}' \\
    ${stack.gatewayUrl}/tourmesh.catalog.v2.CatalogService/ListTours
  npx buf curl --protocol grpc --http2-prior-knowledge -d '{"tour_id":"tour_paris_louvre"}' \\
    http://${stack.address("catalog")}/tourmesh.catalog.v2.CatalogService/GetTour

The services keep running under a gentle load (2 calls/s, progress every 10 s); Ctrl-C stops everything.`);

/** Where Prometheus is and three questions worth asking it (paste them into its Graph page). */
function prometheusLines(url: string | undefined): string {
  if (!url) return "  Prometheus  not running (see above)";
  return `  Prometheus  ${url}/graph  (targets: ${url}/targets, alerts: ${url}/alerts)
    calls per second by service and method   sum by (job, grpc_method) (job_method:grpc_server_handled:rate5m)
    p95 of the gateway's methods (seconds)    job_method:grpc_server_handling_seconds:p95_5m{job="gateway"}
    services down (empty when all are up)     up == 0`;
}

// Runs until Ctrl-C, whose handler above stops the services and exits.
let tick = 0;
await runLoad({
  gatewayUrl: stack.gatewayUrl,
  rate: 2,
  durationSeconds: 24 * 60 * 60,
  users: [
    { username: "alice", password: "tourmesh-demo" },
    { username: "bob", password: "tourmesh-demo" },
  ],
  onProgress: (line) => {
    if (tick++ % 10 === 0) say(`load ${line}`);
  },
});
