/**
 * The end-to-end check `tilt ci` runs against the cluster, from outside, through the gateway: a demo user
 * signs in, finds a tour with seats, books one, waits until the booking is confirmed (so catalog, booking,
 * payment, Postgres and NATS all worked, over mTLS, within the authorizations) and finds the notification.
 * It speaks the Connect protocol with JSON, as a browser would. Exits 1 at the first failure.
 *
 *   TOURMESH_GATEWAY_URL=http://localhost:8080 npx tsx mesh/checks/cluster-e2e.ts
 */
import { randomUUID } from "node:crypto";

const gatewayUrl = process.env.TOURMESH_GATEWAY_URL ?? "http://localhost:8080";
const demoUser = { username: "alice", password: "tourmesh-demo" };

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** One unary Connect call with a JSON body; an error status throws with the gateway's message. */
async function call<Response>(path: string, body: object, accessToken?: string): Promise<Response> {
  const response = await fetch(`${gatewayUrl}/${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as Response;
}

/** Polls `attempt` until it returns a value, or fails after `timeoutMs` with `what`. */
async function eventually<T>(
  what: string,
  timeoutMs: number,
  attempt: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what} within ${timeoutMs / 1000} s${lastError ? `: ${String(lastError)}` : ""}`);
}

interface Booking {
  bookingId: string;
  status: string;
}

async function main(): Promise<void> {
  // The port forward and the gateway's first calls inward may still be starting.
  const { accessToken } = await eventually("signing in", 60_000, () =>
    call<{ accessToken: string }>("tourmesh.identity.v1.IdentityService/SignIn", demoUser),
  );
  say(`signed in as ${demoUser.username}`);

  const { tours = [] } = await call<{ tours?: Array<{ tourId: string; seatsAvailable?: number }> }>(
    "tourmesh.catalog.v1.CatalogService/ListTours",
    { availableOnly: true, pageSize: 20 },
    accessToken,
  );
  const tour = tours.find((candidate) => (candidate.seatsAvailable ?? 0) > 0);
  if (!tour) throw new Error("no tour has seats left");
  say(`booking a seat on tour ${tour.tourId}`);

  const { booking } = await call<{ booking: Booking }>(
    "tourmesh.booking.v1.BookingService/CreateBooking",
    { idempotencyKey: randomUUID(), tourId: tour.tourId, travelers: 1, countryCode: "FR" },
    accessToken,
  );
  const settled = await eventually("the booking leaving PENDING_PAYMENT", 30_000, async () => {
    const { booking: current } = await call<{ booking: Booking }>(
      "tourmesh.booking.v1.BookingService/GetBooking",
      { bookingId: booking.bookingId },
      accessToken,
    );
    return current.status === "BOOKING_STATUS_PENDING_PAYMENT" ? undefined : current;
  });
  if (settled.status !== "BOOKING_STATUS_CONFIRMED") throw new Error(`booking ended ${settled.status}`);
  say(`booking ${booking.bookingId} confirmed`);

  await eventually("the booking's notification", 30_000, async () => {
    const { notifications = [] } = await call<{ notifications?: Array<{ bookingId: string }> }>(
      "tourmesh.notification.v1.NotificationService/ListNotifications",
      { pageSize: 50 },
      accessToken,
    );
    return notifications.find((notification) => notification.bookingId === booking.bookingId);
  });
  say("notified: end-to-end check passed");
}

main().catch((error: unknown) => {
  console.error(`end-to-end check failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
