import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type PlannedTour, planTrip } from "./trip-plan.js";

const tour = (title: string, start: string, durationMinutes: number): PlannedTour => ({
  bookingId: `b_${title}`,
  title,
  start: new Date(start),
  durationMinutes,
});

describe("planTrip", () => {
  it("orders the stops by start and groups them by the traveller's day", () => {
    const days = planTrip(
      [
        tour("Night walk", "2027-05-02T21:30:00Z", 90),
        tour("Louvre", "2027-05-01T09:00:00Z", 180),
        tour("Seine cruise", "2027-05-01T14:00:00Z", 60),
      ],
      "UTC",
    );
    assert.deepEqual(
      days.map(({ day, stops }) => [day, stops.map((stop) => stop.title)]),
      [
        ["2027-05-01", ["Louvre", "Seine cruise"]],
        ["2027-05-02", ["Night walk"]],
      ],
    );
    // 21:30 UTC on the 2nd is already the 3rd in Tokyo.
    assert.deepEqual(
      planTrip([tour("Night walk", "2027-05-02T21:30:00Z", 90)], "Asia/Tokyo").map(({ day }) => day),
      ["2027-05-03"],
    );
  });

  it("marks every pair of stops that overlap, and only those", () => {
    const [day] = planTrip(
      [
        tour("Louvre", "2027-05-01T09:00:00Z", 180),
        tour("Orsay", "2027-05-01T11:00:00Z", 120),
        tour("Montmartre", "2027-05-01T11:30:00Z", 30),
        tour("Seine cruise", "2027-05-01T13:00:00Z", 60),
      ],
      "UTC",
    );
    assert.ok(day);
    assert.deepEqual(Object.fromEntries(day.stops.map((stop) => [stop.title, stop.clashesWith])), {
      Louvre: ["Orsay", "Montmartre"],
      Orsay: ["Louvre", "Montmartre"],
      Montmartre: ["Louvre", "Orsay"],
      // Orsay ends at 13:00 as the cruise starts: back to back is not a clash.
      "Seine cruise": [],
    });
    assert.equal(day.stops[0]?.end.toISOString(), "2027-05-01T12:00:00.000Z");
  });

  it("plans nothing from no tours", () => {
    assert.deepEqual(planTrip([]), []);
  });
});
