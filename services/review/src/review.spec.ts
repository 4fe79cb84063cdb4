import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { ReviewService } from "@tourmesh/gen/tourmesh/review/v1/review_pb.js";
import { createClient, type ServiceClient } from "@tourmesh/platform";
import { callFailure } from "@tourmesh/platform/testing";
import type { ServiceProcess } from "@tourmesh/stack";
import { type BookingStack, startBookingStack } from "@tourmesh/stack/testing";

/**
 * Review against real booking (with catalog and payment) and catalog consuming its ReviewCreated events, all
 * in one stack with its private event streams.
 */
describe("review service", () => {
  let stack: BookingStack;
  let review: ServiceProcess;
  let reviews: ServiceClient<typeof ReviewService>;
  before(async () => {
    stack = await startBookingStack({ with: ["review"] });
    review = stack.stack.process("review");
    reviews = createClient(ReviewService, `127.0.0.1:${review.port}`, { retries: false });
  });
  after(async () => {
    reviews?.close();
    await stack?.stop();
  });

  const reviewCount = async () => (await stack.stack.query("review", "SELECT 1 FROM reviews")).length;
  const book = async (userId: string, idempotencyKey: string, tourId: string) => {
    const { booking } = await stack.booking.createBooking(
      { idempotencyKey, tourId, travelers: 1, countryCode: "IT" },
      await stack.as(userId),
    );
    assert.ok(booking);
    return booking;
  };
  const rating = async (tourId: string) => {
    const { tour } = await stack.catalog.getTour({ tourId });
    return { average: tour?.rating?.average, count: tour?.rating?.count };
  };
  const ratingReaches = async (tourId: string, count: number) => {
    for (let tries = 0; ; tries++) {
      const found = await rating(tourId);
      if (found.count === count) return found;
      assert.ok(tries < 200, `the rating of ${tourId} stayed at ${JSON.stringify(found)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  it("refuses a review without a confirmed booking of the tour (FAILED_PRECONDITION), and writes nothing", async () => {
    const tourId = "tour_rome_colosseum";
    await stack.faults.setFaults({ declineRate: 1 });
    try {
      assert.equal((await book("alice", "review-declined", tourId)).status, BookingStatus.PAYMENT_FAILED);
    } finally {
      await stack.faults.setFaults({ declineRate: 0 });
    }
    const cancelled = await book("alice", "review-cancelled", tourId);
    await stack.booking.cancelBooking({ bookingId: cancelled.bookingId }, await stack.as("alice"));
    await book("alice", "review-other-tour", "tour_rome_trastevere");
    // bob's confirmed booking of the tour does not let alice review it.
    await book("bob", "review-bobs", tourId);

    const refused = await callFailure(
      reviews.createReview({ tourId, rating: 4, comment: "never went" }, await stack.as("alice")),
    );
    assert.equal(refused.code, Code.FailedPrecondition);
    assert.match(refused.message, /confirmed booking of tour tour_rome_colosseum/);
    assert.equal(await reviewCount(), 0);
    assert.deepEqual(await rating(tourId), { average: 0, count: 0 });
  });

  it("answers NOT_FOUND for a tour the catalog does not have, and writes nothing", async () => {
    const missing = await callFailure(
      reviews.createReview({ tourId: "tour_nowhere", rating: 3 }, await stack.as("alice")),
    );
    assert.equal(missing.code, Code.NotFound);
    assert.deepEqual(missing.fields, ["tour_id"]);
    assert.equal(await reviewCount(), 0);
  });

  it("takes one review per traveller with a confirmed booking; GetTour then shows the new average", async () => {
    const tourId = "tour_rome_vatican";
    await book("alice", "review-vatican-alice", tourId);
    await book("bob", "review-vatican-bob", tourId);

    const { review: written } = await reviews.createReview(
      { tourId, rating: 5, comment: "The Sistine Chapel at opening time: worth the early start. 🎨" },
      await stack.as("alice"),
    );
    assert.ok(written);
    assert.equal(written.tourId, tourId);
    assert.equal(written.rating, 5);
    assert.equal(written.author, "alice");
    assert.match(written.reviewId, /^rev_/);
    assert.deepEqual(await ratingReaches(tourId, 1), { average: 5, count: 1 });

    await reviews.createReview({ tourId, rating: 2, comment: "" }, await stack.as("bob"));
    assert.deepEqual(await ratingReaches(tourId, 2), { average: 3.5, count: 2 });

    const again = await callFailure(
      reviews.createReview({ tourId, rating: 1, comment: "changed my mind" }, await stack.as("alice")),
    );
    assert.equal(again.code, Code.AlreadyExists);
    assert.equal(await reviewCount(), 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await rating(tourId), { average: 3.5, count: 2 }, "each review counted once");

    const { reviews: listed } = await reviews.listReviews({ tourId });
    assert.deepEqual(
      listed.map((found) => [found.author, found.rating]),
      [
        ["bob", 2],
        ["alice", 5],
      ],
    );
  });

  it("pages a tour's reviews newest first", async () => {
    const tourId = "tour_lisbon_tram-28";
    for (const userId of ["carol", "dave", "erin"]) {
      await book(userId, `review-page-${userId}`, tourId);
      await reviews.createReview({ tourId, rating: 4, comment: `by ${userId}` }, await stack.as(userId));
    }
    const authors: string[] = [];
    let pageToken = "";
    do {
      const page = await reviews.listReviews({ tourId, pageSize: 2, pageToken });
      authors.push(...page.reviews.map((found) => found.author));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    assert.deepEqual(authors, ["erin", "dave", "carol"]);
    const otherTour = await callFailure(reviews.listReviews({ tourId: "tour_paris_louvre", pageToken: "x" }));
    assert.equal(otherTour.code, Code.InvalidArgument);
  });

  it("answers bad input with INVALID_ARGUMENT naming each field, a missing token with UNAUTHENTICATED", async () => {
    const before = await reviewCount();
    const options = await stack.as("alice");
    const bad = await callFailure(
      reviews.createReview({ tourId: "", rating: 6, comment: "x".repeat(2_001) }, options),
    );
    assert.equal(bad.code, Code.InvalidArgument);
    assert.deepEqual(bad.fields, ["comment", "rating", "tour_id"]);
    assert.deepEqual((await callFailure(reviews.createReview({ tourId: "t", rating: 0 }, options))).fields, [
      "rating",
    ]);
    const noToken = await callFailure(reviews.createReview({ tourId: "tour_rome_vatican", rating: 3 }));
    assert.equal(noToken.code, Code.Unauthenticated);
    assert.deepEqual((await callFailure(reviews.listReviews({ tourId: "", pageSize: -1 }))).fields, [
      "page_size",
      "tour_id",
    ]);
    assert.equal(await reviewCount(), before);
  });

  it("answers UNAVAILABLE, writing nothing, while booking cannot be asked", async () => {
    const before = await reviewCount();
    await book("frank", "review-frank", "tour_berlin_wall");
    await stack.processes.booking.stop();
    const failure = await callFailure(
      reviews.createReview(
        { tourId: "tour_berlin_wall", rating: 5 },
        await stack.as("frank", { timeoutMs: 5_000 }),
      ),
    );
    assert.equal(failure.code, Code.Unavailable);
    assert.equal(await reviewCount(), before);
  });

  it("left no error in any service's log", () => {
    assert.deepEqual(stack.errorLogs(), []);
    assert.deepEqual(
      review.logs.filter((line) => line.level === "error" || line.level === "fatal"),
      [],
    );
  });
});
