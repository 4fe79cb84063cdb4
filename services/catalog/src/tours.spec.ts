import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "@tourmesh/platform";
import { seedTours } from "./seed-tours.js";
import {
  checkListTours,
  checkReserveSeats,
  isSameReservation,
  isTourPosition,
  ratingAverage,
} from "./tours.js";

function violatedFields(work: () => unknown): string[] {
  try {
    work();
  } catch (error) {
    if (error instanceof InvalidArgumentError) return error.violations.map((violation) => violation.field);
    throw error;
  }
  return [];
}

describe("catalog domain", () => {
  it("normalises a list query and picks the default page size", () => {
    assert.deepEqual(checkListTours({ destination: "  PARIS ", availableOnly: true, pageSize: 0 }), {
      filter: { destination: "paris", availableOnly: true },
      pageSize: 20,
    });
  });

  it("reports every bad field of a reservation at once", () => {
    assert.deepEqual(
      violatedFields(() => checkReserveSeats({ tourId: "", seats: 0, reservationId: "r".repeat(129) })),
      ["tour_id", "seats", "reservation_id"],
    );
    assert.deepEqual(
      violatedFields(() => checkReserveSeats({ tourId: "t", seats: 1.5, reservationId: "r" })),
      ["seats"],
    );
    assert.deepEqual(
      violatedFields(() => checkReserveSeats({ tourId: "t", seats: 50, reservationId: "r" })),
      [],
    );
  });

  it("treats a replay as the same reservation only with the same tour and seats", () => {
    const held = { reservationId: "r", tourId: "t", seats: 2, status: "held" as const };
    assert.ok(isSameReservation(held, { tourId: "t", seats: 2 }));
    assert.ok(!isSameReservation(held, { tourId: "t", seats: 3 }));
    assert.ok(!isSameReservation(held, { tourId: "u", seats: 2 }));
  });

  it("rounds the rating average to two decimals and is 0 without ratings", () => {
    assert.equal(ratingAverage(0, 0), 0);
    assert.equal(ratingAverage(14, 3), 4.67);
  });

  it("accepts only well-formed page positions", () => {
    assert.ok(isTourPosition({ startTime: "2026-01-01T09:00:00.000Z", tourId: "t" }));
    assert.ok(!isTourPosition({ startTime: "yesterday", tourId: "t" }));
    assert.ok(!isTourPosition({ startTime: "2026-01-01T09:00:00.000Z", tourId: "" }));
    assert.ok(!isTourPosition(null));
  });

  it("seeds at least 30 unique tours in at least 6 cities, all in the future", () => {
    const now = new Date("2026-03-01T12:00:00Z");
    const tours = seedTours(now);
    assert.ok(tours.length >= 30);
    assert.equal(new Set(tours.map((tour) => tour.tourId)).size, tours.length);
    assert.ok(new Set(tours.map((tour) => tour.destination)).size >= 6);
    assert.ok(tours.some((tour) => tour.destination === "Paris"));
    for (const tour of tours) {
      assert.ok(tour.startTime > now);
      assert.ok(tour.price.minorUnits > 0);
    }
  });
});
