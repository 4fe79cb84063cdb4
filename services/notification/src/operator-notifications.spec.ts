import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BookingService, BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import {
  type Notification,
  NotificationKind,
  NotificationService,
} from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";
import { ReviewService } from "@tourmesh/gen/tourmesh/review/v1/review_pb.js";
import { type CallOptions, createClient } from "@tourmesh/platform";
import { republishLastEvent, waitFor } from "@tourmesh/platform/testing";
import { type Stack, startStack } from "@tourmesh/stack";

const DAY_MS = 24 * 60 * 60 * 1_000;

/**
 * An operator hears of reviews of their tours, end to end on real Postgres and NATS: olga (identity's demo
 * operator, signed in for real) creates a tour in catalog; alice books it and reviews it; review names the
 * tour's operator in ReviewCreated; notification records a notification for olga, which she reads through
 * ListNotifications with her own token (the method's declared access: signed in, notifications:read).
 */
describe("operators told of reviews of their tours", () => {
  let stack: Stack;
  const closers: Array<{ close(): void }> = [];
  const client = <S extends Parameters<typeof createClient>[0]>(service: S, address: string) => {
    const typed = createClient(service, address, { retries: false });
    closers.push(typed);
    return typed;
  };
  let catalog: ReturnType<typeof createClient<typeof CatalogService>>;
  let booking: ReturnType<typeof createClient<typeof BookingService>>;
  let reviews: ReturnType<typeof createClient<typeof ReviewService>>;
  let notifications: ReturnType<typeof createClient<typeof NotificationService>>;
  const as = new Map<string, CallOptions>();

  before(async () => {
    stack = await startStack({
      services: ["identity", "catalog", "payment", "booking", "notification", "review"],
      prefix: "operator_reviews",
      readyTimeoutMs: 120_000,
    });
    const identity = client(IdentityService, stack.address("identity"));
    for (const username of ["alice", "bob", "olga"]) {
      const { accessToken } = await identity.signIn({ username, password: "tourmesh-demo" });
      as.set(username, { headers: { authorization: `Bearer ${accessToken}` } });
    }
    catalog = client(CatalogService, stack.address("catalog"));
    booking = client(BookingService, stack.address("booking"));
    reviews = client(ReviewService, stack.address("review"));
    notifications = client(NotificationService, stack.address("notification"));
  });
  after(async () => {
    for (const closer of closers) closer.close();
    await stack?.stop();
  });

  const user = (username: string) => as.get(username) as CallOptions;
  const listed = async (username: string): Promise<Notification[]> =>
    (await notifications.listNotifications({ pageSize: 100 }, user(username))).notifications;
  const reviewNotices = async (username: string) =>
    (await listed(username)).filter((notice) => notice.kind === NotificationKind.TOUR_REVIEWED);
  /** ReviewCreated events notification's review consumer has handled, from its /metrics. */
  const reviewsHandled = async () => {
    const metrics = await (
      await fetch(`http://127.0.0.1:${stack.process("notification").metricsPort}/metrics`)
    ).text();
    return [
      ...metrics.matchAll(/^events_handled_total\{consumer="notification-reviews",[^}]*\} (\d+)/gm),
    ].reduce((sum, [, count]) => sum + Number(count), 0);
  };
  const bookAndReview = async (username: string, tourId: string, rating: number) => {
    const { booking: made } = await booking.createBooking(
      { idempotencyKey: `${username}-${tourId}`, tourId, travelers: 1, countryCode: "FR" },
      user(username),
    );
    const bookingId = made?.bookingId ?? "";
    await waitFor("the booking to be confirmed", async () => {
      const { booking: found } = await booking.getBooking({ bookingId }, user(username));
      return found?.status === BookingStatus.CONFIRMED;
    });
    const { review } = await reviews.createReview({ tourId, rating, comment: "Lovely." }, user(username));
    assert.ok(review);
    return review;
  };

  it("tells olga of a review of her tour, and not the traveller who wrote it", async () => {
    const { tour } = await catalog.createTour(
      {
        tour: {
          title: "Canal Sunrise Row",
          description: "The canals before the city wakes.",
          destination: "Amsterdam",
          startTime: timestampFromDate(new Date(Date.now() + 30 * DAY_MS)),
          durationMinutes: 90,
          price: { currencyCode: "EUR", minorUnits: 4_500n },
          capacity: 12,
        },
      },
      user("olga"),
    );
    const tourId = tour?.tourId ?? "";
    assert.notEqual(tour?.operatorId, "");

    const review = await bookAndReview("alice", tourId, 4);
    await waitFor("olga to be told", async () => (await reviewNotices("olga")).length > 0, 15_000);
    const [notice, ...more] = await reviewNotices("olga");
    assert.deepEqual(more, []);
    assert.equal(notice?.bookingId, "");
    assert.match(
      notice?.message ?? "",
      new RegExp(`${tourId} has a new review: 4 of 5 stars \\(${review.reviewId}\\)`),
    );

    // alice was told of her booking, and of nothing else.
    const alices = await listed("alice");
    assert.deepEqual(
      alices.map((found) => found.kind),
      [NotificationKind.BOOKING_CONFIRMED],
    );
  });

  it("tells olga once however often the ReviewCreated of her tour arrives", async () => {
    const handled = await reviewsHandled();
    // The last review so far, of olga's tour, delivered again: the same event id under a new Nats-Msg-Id, as a
    // redrive sends it, so that JetStream does not drop it as a duplicate.
    assert.notEqual(await republishLastEvent(stack.environmentOf("notification"), "review.created"), "");
    await waitFor(
      "notification to handle the redelivery",
      async () => (await reviewsHandled()) > handled,
      15_000,
    );
    assert.equal((await reviewNotices("olga")).length, 1);
  });

  it("tells nobody of a review of a tour no operator runs", async () => {
    const handled = await reviewsHandled();
    await bookAndReview("bob", "tour_paris_louvre", 5);
    await waitFor(
      "notification to handle bob's review",
      async () => (await reviewsHandled()) > handled,
      15_000,
    );
    assert.deepEqual(await reviewNotices("bob"), []);
    assert.equal((await reviewNotices("olga")).length, 1);
    const recorded = await stack.query(
      "notification",
      "SELECT user_id FROM notifications WHERE kind = 'tour_reviewed'",
    );
    assert.equal(recorded.length, 1, "no notification for an operator nobody is");
  });

  it("left no error in any service's log", () => {
    assert.deepEqual(stack.errorLogs(), []);
  });
});
