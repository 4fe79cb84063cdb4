import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import type { CallOptions } from "@tourmesh/platform";
import { callFailure } from "@tourmesh/platform/testing";
import { type BookingStack, startBookingStack } from "@tourmesh/stack/testing";

describe("booking access and input checks", () => {
  let stack: BookingStack;
  before(async () => {
    stack = await startBookingStack();
  });
  after(() => stack?.stop());

  const counts = async () => ({
    bookings: (await stack.databases.booking.query("SELECT 1 FROM bookings")).length,
    payments: (await stack.databases.payment.query("SELECT 1 FROM payments")).length,
    reservations: (await stack.databases.catalog.query("SELECT 1 FROM reservations")).length,
  });
  const book = async (userId: string, idempotencyKey: string) => {
    const { booking } = await stack.booking.createBooking(
      { idempotencyKey, tourId: "tour_paris_seine-cruise", travelers: 1, countryCode: "FR" },
      await stack.as(userId),
    );
    assert.equal(booking?.status, BookingStatus.CONFIRMED);
    return booking?.bookingId ?? "";
  };

  it("refuses every method without a valid token (UNAUTHENTICATED), and writes nothing", async () => {
    const before = await counts();
    const forged = [
      {},
      { headers: { authorization: "Bearer not-a-jwt" } },
      { headers: { authorization: `Bearer ${await stack.tokens.sign("alice", { expiresInSeconds: -60 })}` } },
      { headers: { authorization: `Bearer ${await stack.tokens.sign("alice", { audience: "other" })}` } },
      {
        headers: { authorization: `Bearer ${await stack.tokens.sign("alice", { issuer: "https://evil" })}` },
      },
    ];
    const valid = { tourId: "tour_paris_louvre", travelers: 1, countryCode: "FR" };
    for (const options of forged as CallOptions[]) {
      const calls = [
        () => stack.booking.quotePrice(valid, options),
        () => stack.booking.createBooking({ ...valid, idempotencyKey: "no-token" }, options),
        () => stack.booking.getBooking({ bookingId: "bkg_x" }, options),
        () => stack.booking.listBookings({}, options),
        () => stack.booking.cancelBooking({ bookingId: "bkg_x" }, options),
      ];
      for (const call of calls) assert.equal((await callFailure(call())).code, Code.Unauthenticated);
    }
    assert.deepEqual(await counts(), before);
  });

  it("shows a user only their own bookings: another user's is NOT_FOUND and not listed", async () => {
    const alices = await book("alice", "visibility-1");
    const bob = await stack.as("bob");

    const get = await callFailure(stack.booking.getBooking({ bookingId: alices }, bob));
    assert.equal(get.code, Code.NotFound);
    assert.deepEqual(get.fields, ["booking_id"]);
    // The same answer as for an id that does not exist at all: ids do not leak existence.
    const unknown = await callFailure(stack.booking.getBooking({ bookingId: "bkg_unknown" }, bob));
    assert.equal(unknown.code, Code.NotFound);
    assert.equal(get.message.replace(alices, "ID"), unknown.message.replace("bkg_unknown", "ID"));

    const cancel = await callFailure(stack.booking.cancelBooking({ bookingId: alices }, bob));
    assert.equal(cancel.code, Code.NotFound);
    const { booking } = await stack.booking.getBooking({ bookingId: alices }, await stack.as("alice"));
    assert.equal(booking?.status, BookingStatus.CONFIRMED);

    const { bookings } = await stack.booking.listBookings({ pageSize: 100 }, bob);
    assert.ok(!bookings.some((listed) => listed.bookingId === alices));
  });

  it("lists the caller's bookings newest first, page by page", async () => {
    const carol = await stack.as("carol");
    const made: string[] = [];
    for (let index = 0; index < 5; index++) made.push(await book("carol", `list-${index}`));
    await book("dave", "list-other-user");

    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await stack.booking.listBookings({ pageSize: 2, pageToken }, carol);
      assert.ok(page.bookings.length <= 2);
      seen.push(...page.bookings.map((listed) => listed.bookingId));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== "");
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...made].reverse());

    const first = await stack.booking.listBookings({ pageSize: 2 }, carol);
    const stolen = await callFailure(
      stack.booking.listBookings({ pageSize: 2, pageToken: first.nextPageToken }, await stack.as("dave")),
    );
    assert.equal(stolen.code, Code.InvalidArgument);
    assert.deepEqual(stolen.fields, ["page_token"]);
  });

  it("answers bad input on every method with INVALID_ARGUMENT naming each bad field, and writes nothing", async () => {
    const alice = await stack.as("alice");
    const before = await counts();
    const seatsBefore = await stack.seatsAvailable("tour_paris_louvre");
    const cases: Array<[string, () => Promise<unknown>, string[]]> = [
      ["empty quote", () => stack.booking.quotePrice({}, alice), ["country_code", "tour_id", "travelers"]],
      [
        "bad quote",
        () =>
          stack.booking.quotePrice(
            { tourId: "t".repeat(129), travelers: 51, promoCode: "NOPE", countryCode: "FRA" },
            alice,
          ),
        ["country_code", "promo_code", "tour_id", "travelers"],
      ],
      [
        "empty booking",
        () => stack.booking.createBooking({}, alice),
        ["country_code", "idempotency_key", "tour_id", "travelers"],
      ],
      [
        "bad booking",
        () =>
          stack.booking.createBooking(
            {
              idempotencyKey: "k".repeat(129),
              tourId: "tour_paris_louvre",
              travelers: -1,
              countryCode: "1F",
            },
            alice,
          ),
        ["country_code", "idempotency_key", "travelers"],
      ],
      [
        "unknown promo",
        () =>
          stack.booking.createBooking(
            {
              idempotencyKey: "bad-promo",
              tourId: "tour_paris_louvre",
              travelers: 1,
              promoCode: "FREE",
              countryCode: "FR",
            },
            alice,
          ),
        ["promo_code"],
      ],
      [
        "expired promo",
        () =>
          stack.booking.createBooking(
            {
              idempotencyKey: "old-promo",
              tourId: "tour_paris_louvre",
              travelers: 1,
              promoCode: "launch20",
              countryCode: "FR",
            },
            alice,
          ),
        ["promo_code"],
      ],
      ["empty get", () => stack.booking.getBooking({}, alice), ["booking_id"]],
      ["long get", () => stack.booking.getBooking({ bookingId: "b".repeat(129) }, alice), ["booking_id"]],
      ["big page", () => stack.booking.listBookings({ pageSize: 101 }, alice), ["page_size"]],
      ["negative page", () => stack.booking.listBookings({ pageSize: -1 }, alice), ["page_size"]],
      ["made-up token", () => stack.booking.listBookings({ pageToken: "bm9wZQ" }, alice), ["page_token"]],
      ["empty cancel", () => stack.booking.cancelBooking({}, alice), ["booking_id"]],
    ];
    for (const [name, call, fields] of cases) {
      const failure = await callFailure(call());
      assert.equal(failure.code, Code.InvalidArgument, name);
      assert.deepEqual(failure.fields, fields, name);
    }
    assert.deepEqual(await counts(), before);
    assert.equal(await stack.seatsAvailable("tour_paris_louvre"), seatsBefore);
  });

  it("left no error in any service's log", () => {
    assert.deepEqual(stack.errorLogs(), []);
  });
});
