import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type Stack, startStack } from "@tourmesh/stack";

/** The services a booking passes through, with the gateway in front. */
const bookingPath = ["identity", "catalog", "payment", "booking", "gateway"] as const;

const run = promisify(execFile);

/** One Connect-protocol JSON call over HTTP/1.1 with curl alone, as a person would type it. */
async function curl(stack: Stack, procedure: string, body: unknown, token?: string) {
  const args = [
    "-sS",
    "--http1.1",
    "-X",
    "POST",
    "-H",
    "content-type: application/json",
    "-d",
    JSON.stringify(body),
  ];
  if (token) args.push("-H", `authorization: Bearer ${token}`);
  args.push("-w", "\n%{http_code}", `${stack.gatewayUrl}/${procedure}`);
  const { stdout } = await run("curl", args);
  const split = stdout.lastIndexOf("\n");
  return {
    status: Number(stdout.slice(split + 1)),
    // biome-ignore lint/suspicious/noExplicitAny: the JSON of several response shapes, asserted field by field.
    body: JSON.parse(stdout.slice(0, split)) as Record<string, any>,
  };
}

describe("the booking path with curl alone (Connect JSON over HTTP/1.1 through the gateway)", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ services: bookingPath, prefix: "e2e" });
  });
  after(async () => {
    await stack?.stop();
  });

  it("signs in, lists Paris tours, quotes, books and reads the booking back", async () => {
    const signIn = await curl(stack, "tourmesh.identity.v1.IdentityService/SignIn", {
      username: "alice",
      password: "tourmesh-demo",
    });
    assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
    const token = signIn.body.accessToken as string;
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);

    const paris = await curl(stack, "tourmesh.catalog.v1.CatalogService/ListTours", { destination: "Paris" });
    assert.equal(paris.status, 200);
    const tours = paris.body.tours as Array<{ tourId: string; destination: string; seatsAvailable: number }>;
    assert.ok(tours.length > 0 && tours.every((tour) => tour.destination === "Paris"));
    const tour = tours[0];
    assert.ok(tour);

    const quote = await curl(
      stack,
      "tourmesh.booking.v1.BookingService/QuotePrice",
      { tourId: tour.tourId, travelers: 2, countryCode: "FR" },
      token,
    );
    assert.equal(quote.status, 200, JSON.stringify(quote.body));
    const total = quote.body.quote.total as { currencyCode: string; minorUnits: string };
    assert.equal(total.currencyCode, "EUR");
    assert.ok(Number(total.minorUnits) > 0);

    const created = await curl(
      stack,
      "tourmesh.booking.v1.BookingService/CreateBooking",
      { idempotencyKey: randomUUID(), tourId: tour.tourId, travelers: 2, countryCode: "FR" },
      token,
    );
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.booking.status, "BOOKING_STATUS_CONFIRMED");
    assert.deepEqual(created.body.booking.quote.total, total);

    const read = await curl(
      stack,
      "tourmesh.booking.v1.BookingService/GetBooking",
      { bookingId: created.body.booking.bookingId },
      token,
    );
    assert.equal(read.status, 200);
    assert.equal(read.body.booking.bookingId, created.body.booking.bookingId);
    assert.equal(read.body.booking.status, "BOOKING_STATUS_CONFIRMED");

    const after = await curl(stack, "tourmesh.catalog.v1.CatalogService/GetTour", { tourId: tour.tourId });
    assert.equal(after.body.tour.seatsAvailable, tour.seatsAvailable - 2);
  });

  it("answers a booking call without a token with 401 unauthenticated, and bad input with its field violations", async () => {
    const anonymous = await curl(stack, "tourmesh.booking.v1.BookingService/ListBookings", {});
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, "unauthenticated");

    const bad = await curl(stack, "tourmesh.catalog.v1.CatalogService/GetTour", { tourId: "" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, "invalid_argument");
    assert.equal(bad.body.details?.[0]?.type, "google.rpc.BadRequest");
  });
});
