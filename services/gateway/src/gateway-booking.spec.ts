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
import {
  createTestDatabase,
  rejection,
  type ServiceProcess,
  startServiceProcess,
  type TestDatabase,
} from "@tourmesh/platform/testing";

describe("booking through the gateway", () => {
  const databases: TestDatabase[] = [];
  const processes: ServiceProcess[] = [];
  let bookings: ReturnType<typeof createClient<typeof BookingService>>;
  let asAlice: CallOptions;
  let asBob: CallOptions;

  before(async () => {
    const created = await Promise.all(
      ["gw_e2e_catalog", "gw_e2e_payment", "gw_e2e_identity", "gw_e2e_booking"].map((prefix) =>
        createTestDatabase(prefix),
      ),
    );
    databases.push(...created);
    const [catalogDb, paymentDb, identityDb, bookingDb] = created as [
      TestDatabase,
      TestDatabase,
      TestDatabase,
      TestDatabase,
    ];
    const start = async (entry: string, env: Record<string, string>) => {
      const started = await startServiceProcess(entry, env);
      processes.push(started);
      return started;
    };
    const [catalog, payment, identity] = await Promise.all([
      start("services/catalog/src/main.ts", { DATABASE_URL: catalogDb.url }),
      start("services/payment/src/main.ts", { DATABASE_URL: paymentDb.url }),
      start("services/identity/src/main.ts", {
        DATABASE_URL: identityDb.url,
        SEED_DEMO_USERS: "true",
      }),
    ]);
    const jwksUrl = `http://127.0.0.1:${identity.metricsPort}/.well-known/jwks.json`;
    const booking = await start("services/booking/src/main.ts", {
      DATABASE_URL: bookingDb.url,
      CATALOG_ADDR: `127.0.0.1:${catalog.grpcPort}`,
      PAYMENT_ADDR: `127.0.0.1:${payment.grpcPort}`,
      JWKS_URL: jwksUrl,
    });
    const gateway = await start("services/gateway/src/main.ts", {
      CATALOG_ADDR: `127.0.0.1:${catalog.grpcPort}`,
      IDENTITY_ADDR: `127.0.0.1:${identity.grpcPort}`,
      BOOKING_ADDR: `127.0.0.1:${booking.grpcPort}`,
      JWKS_URL: jwksUrl,
    });

    const transport = createConnectTransport({
      baseUrl: `http://127.0.0.1:${gateway.grpcPort}`,
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
    await Promise.all(processes.map((started) => started.stop()));
    await Promise.all(databases.map((db) => db.drop()));
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
