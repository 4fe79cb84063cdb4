import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  cancelledDraft,
  confirmedDraft,
  formatMoney,
  paymentFailedDraft,
  REMINDER_LEAD_MS,
  reminderDueAt,
  reviewedDraft,
} from "./notifications.js";

const now = new Date("2030-03-10T12:00:00Z");
const hours = (count: number) => count * 60 * 60 * 1_000;
const booking = { bookingId: "bkg_1", userId: "alice", tourId: "tour_rome_vatican" };

describe("notification texts and reminder times", () => {
  it("reminds a day before the tour, at once when it starts within a day, never after it started", () => {
    assert.equal(REMINDER_LEAD_MS, hours(24));
    const inThreeDays = new Date(now.getTime() + hours(72));
    assert.deepEqual(reminderDueAt(inThreeDays, now), new Date(now.getTime() + hours(48)));
    const inFiveHours = new Date(now.getTime() + hours(5));
    assert.deepEqual(reminderDueAt(inFiveHours, now), now);
    assert.equal(reminderDueAt(now, now), undefined);
    assert.equal(reminderDueAt(new Date(now.getTime() - 1), now), undefined);
  });

  it("formats money in major units with two decimals", () => {
    assert.equal(formatMoney({ currencyCode: "EUR", minorUnits: 41_876n }), "EUR 418.76");
    assert.equal(formatMoney({ currencyCode: "EUR", minorUnits: 5n }), "EUR 0.05");
    assert.equal(formatMoney({ currencyCode: "EUR", minorUnits: -1_250n }), "EUR -12.50");
    assert.equal(formatMoney(undefined), "");
  });

  it("tells what happened, and what it means for the traveller's money", () => {
    const confirmed = confirmedDraft({
      ...booking,
      travelers: 2,
      total: { currencyCode: "EUR", minorUnits: 13_800n },
      tourStartTime: new Date("2030-03-12T09:00:00Z"),
    });
    assert.equal(confirmed.kind, "booking_confirmed");
    assert.equal(
      confirmed.message,
      "Your booking bkg_1 of tour_rome_vatican for 2 travellers is confirmed, starting 2030-03-12T09:00:00.000Z. " +
        "EUR 138.00 was charged.",
    );
    assert.match(cancelledDraft({ ...booking, paymentId: "pay_1", reason: "" }).message, /being refunded/);
    assert.match(
      cancelledDraft({ ...booking, paymentId: "", reason: "no seats could be held" }).message,
      /was cancelled: no seats could be held\. Nothing was charged\./,
    );
    assert.match(paymentFailedDraft({ ...booking, reason: "card declined" }).message, /\(card declined\)/);
  });

  it("tells an operator which tour was reviewed and how many stars it got, not who wrote it", () => {
    const reviewed = reviewedDraft({ reviewId: "rev_1", tourId: "tour_canal_row", rating: 4 });
    assert.equal(reviewed.kind, "tour_reviewed");
    assert.equal(reviewed.subject, "New review of tour_canal_row");
    assert.equal(
      reviewed.message,
      "Your tour tour_canal_row has a new review: 4 of 5 stars (rev_1). Read it with the tour's reviews.",
    );
  });
});
