/**
 * End to end through the edge: real catalog, payment, identity and booking processes behind the gateway.
 * The token identity issues is verified at the gateway and again, from the forwarded header, by booking.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type CallOptions, Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { BadRequestSchema } from "@tourmesh/gen/google/rpc/error_details_pb.js";
import { type Booking, BookingService, BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { rejection } from "@tourmesh/platform/testing";
import { type Stack, startStack } from "@tourmesh/stack";

describe("booking through the gateway", () => {
  let stack: Stack;
  let bookings: ReturnType<typeof createClient<typeof BookingService>>;
  let asAlice: CallOptions;
  let asBob: CallOptions;

  before(async () => {
    stack = await startStack({
      services: ["identity", "catalog", "payment", "booking", "gateway"],
      prefix: "gateway_booking",
    });
    const transport = createConnectTransport({
      baseUrl: stack.gatewayUrl,
      httpVersion: "1.1",
    });
    const identityClient = createClient(IdentityService, transport);
    const bearer = async (username: string): Promise<CallOptions> => {
      const { accessToken } = await identityClient.signIn({ username, password: "tourmesh-demo" });
      return { headers: { authorization: `Bearer ${accessToken}` } };
    };
    [asAlice, asBob] = await Promise.all([bearer("alice"), bearer("bob")]);
    bookings = createClient(BookingService, transport);
  });

  after(async () => {
    await stack?.stop();
  });

  it("books a tour for the signed-in user, and shows the booking to that user only", async () => {
    const { quote } = await bookings.quotePrice(
      { tourId: "tour_paris_louvre", travelers: 2, countryCode: "FR" },
      asAlice,
    );
    assert.equal(quote?.base?.minorUnits, 13_800n);

    const { booking: created } = await bookings.createBooking(
      { idempotencyKey: "gateway-e2e-1", tourId: "tour_paris_louvre", travelers: 2, countryCode: "FR" },
      asAlice,
    );
    const bookingId = String(created?.bookingId);
    let booking: Booking | undefined = created;
    for (let waited = 0; booking?.status !== BookingStatus.CONFIRMED && waited < 10_000; waited += 100) {
      await sleep(100);
      booking = (await bookings.getBooking({ bookingId }, asAlice)).booking;
    }
    assert.equal(booking?.status, BookingStatus.CONFIRMED);
    assert.equal(booking?.quote?.total?.minorUnits, quote?.total?.minorUnits);

    assert.equal((await rejection(bookings.getBooking({ bookingId }, asBob))).code, Code.NotFound);
    const { bookings: bobs } = await bookings.listBookings({}, asBob);
    assert.equal(bobs.length, 0);
    assert.equal((await rejection(bookings.getBooking({ bookingId }))).code, Code.Unauthenticated);
  });

  it("passes booking's field violations through to the client", async () => {
    const error = await rejection(
      bookings.createBooking({ idempotencyKey: "", tourId: "tour_paris_louvre", travelers: 0 }, asAlice),
    );
    assert.equal(error.code, Code.InvalidArgument);
    const fields = error
      .findDetails(BadRequestSchema)
      .flatMap((detail) => detail.fieldViolations.map((v) => v.field));
    assert.ok(fields.includes("idempotency_key") && fields.includes("travelers"), fields.join(", "));
  });
});
