import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ALL_PAGES,
  AVAILABLE_ONLY_PAGES,
  invalidationsForRow,
  invalidationsForSeats,
  parseTourRowChange,
  tourEntry,
  tourPageEntry,
  tourPageKey,
  tourTag,
} from "./tour-cache.js";

const listing = { destination: "Paris", startTime: "2030-05-01T09:00:00+00:00", seatsAvailable: 5 };

describe("what a change makes stale", () => {
  it("a seat change touches the tour, and the available-only pages when it sells out or gets seats back", () => {
    assert.deepEqual(invalidationsForSeats("t1", 5, 3), [tourTag("t1")]);
    assert.deepEqual(invalidationsForSeats("t1", 1, 0), [tourTag("t1"), AVAILABLE_ONLY_PAGES]);
    assert.deepEqual(invalidationsForSeats("t1", 0, 2), [tourTag("t1"), AVAILABLE_ONLY_PAGES]);
  });

  it("a rating change touches the tour only", () => {
    assert.deepEqual(invalidationsForRow({ tourId: "t1", before: listing, after: listing }), [tourTag("t1")]);
  });

  it("an insert, a delete, a move in time or to another destination touch every page", () => {
    const moved = [
      { before: null, after: listing },
      { before: listing, after: null },
      { before: listing, after: { ...listing, startTime: "2030-05-02T09:00:00+00:00" } },
      { before: listing, after: { ...listing, destination: "Rome" } },
    ];
    for (const change of moved)
      assert.deepEqual(invalidationsForRow({ tourId: "t1", ...change }), [tourTag("t1"), ALL_PAGES]);
  });

  it("reads the database's announcement and refuses anything else", () => {
    const change = { tourId: "t1", before: listing, after: { ...listing, seatsAvailable: 0 } };
    assert.deepEqual(parseTourRowChange(JSON.stringify(change)), change);
    assert.deepEqual(parseTourRowChange(JSON.stringify({ tourId: "t1", before: null, after: listing })), {
      tourId: "t1",
      before: null,
      after: listing,
    });
    for (const bad of ["", "{", "null", '{"tourId":1}', JSON.stringify({ ...change, after: { seats: 1 } })])
      assert.equal(parseTourRowChange(bad), undefined, bad);
  });
});

describe("what a cached answer carries", () => {
  it("a tour's answer, found or not, carries the tour's tag", () => {
    assert.deepEqual(tourEntry("t1"), { key: "tour:t1", tags: [tourTag("t1")] });
  });

  it("a page carries its tours, every page's tag, and the available-only tag when it filters on seats", () => {
    const filter = { destination: "paris", availableOnly: true };
    const after = { startTime: "2030-05-01T09:00:00.000Z", tourId: "t0" };
    assert.deepEqual(tourPageEntry(filter, after, 2, ["t1", "t2"]).tags, [
      ALL_PAGES,
      AVAILABLE_ONLY_PAGES,
      tourTag("t1"),
      tourTag("t2"),
    ]);
    assert.deepEqual(tourPageEntry({ ...filter, availableOnly: false }, after, 2, []).tags, [ALL_PAGES]);
  });

  it("pages are keyed by the decoded query: filter, position and size each make another key", () => {
    const filter = { destination: "paris", availableOnly: false };
    const after = { startTime: "2030-05-01T09:00:00.000Z", tourId: "t0" };
    const keys = new Set([
      tourPageKey(filter, undefined, 20),
      tourPageKey(filter, after, 20),
      tourPageKey(filter, after, 10),
      tourPageKey({ ...filter, availableOnly: true }, after, 20),
      tourPageKey({ ...filter, destination: "rome" }, after, 20),
    ]);
    assert.equal(keys.size, 5);
    assert.equal(tourPageKey(filter, after, 20), tourPageKey({ ...filter }, { ...after }, 20));
  });
});
