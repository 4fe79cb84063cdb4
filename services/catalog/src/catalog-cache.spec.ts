import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { CatalogService as CatalogServiceV2 } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { createClient, type ServiceClient } from "@tourmesh/platform";
import {
  callFailure,
  copyFlagFile,
  createTestDatabase,
  type FlagFileCopy,
  type RedisServer,
  startRedisServer,
  type TestDatabase,
  waitFor,
} from "@tourmesh/platform/testing";
import type { ServiceProcess } from "@tourmesh/stack";
import { cacheRequests, startService } from "@tourmesh/stack/testing";

const hits = (counts: Record<string, number>) => (counts["tour/hit"] ?? 0) + (counts["tours/hit"] ?? 0);

describe("catalog with its Redis cache", () => {
  let db: TestDatabase;
  let redis: RedisServer;
  let flags: FlagFileCopy;
  let catalog: ServiceProcess;
  let client: ServiceClient<typeof CatalogService>;

  before(async () => {
    db = await createTestDatabase("catalog_cache");
    redis = await startRedisServer();
    flags = await copyFlagFile();
    catalog = await startService("catalog", {
      ...flags.env,
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      CACHE_KEY_PREFIX: "spec:",
    });
    client = createClient(CatalogService, `127.0.0.1:${catalog.port}`, { retries: false });
    await waitFor("the cache to be in use", async () => {
      await client.getTour({ tourId: "tour_paris_louvre" });
      return ((await cacheRequests(catalog))["tour/miss"] ?? 0) > 0;
    });
  });
  after(async () => {
    client?.close();
    await catalog?.stop();
    await redis?.close();
    await flags?.remove();
    await db?.drop();
  });

  async function seatsInDatabase(tourId: string): Promise<number> {
    const [row] = await db.query<{ seats_available: number }>(
      "SELECT seats_available FROM tours WHERE tour_id = $1",
      [tourId],
    );
    return row?.seats_available ?? Number.NaN;
  }

  /** Every tour id of a listing, page by page, and the page tokens it was given. */
  async function pageThrough(query: { destination?: string; availableOnly?: boolean; pageSize: number }) {
    const ids: string[] = [];
    const tokens: string[] = [];
    let pageToken = "";
    do {
      const page = await client.listTours({ ...query, pageToken });
      ids.push(...page.tours.map((tour) => tour.tourId));
      pageToken = page.nextPageToken;
      tokens.push(pageToken);
    } while (pageToken !== "");
    return { ids, tokens };
  }

  it("answers repeated reads from the cache, with the same answers and page tokens", async () => {
    const before = await cacheRequests(catalog);
    const first = await pageThrough({ pageSize: 7 });
    const second = await pageThrough({ pageSize: 7 });
    assert.deepEqual(second, first);
    const inOrder = await db.query<{ tour_id: string }>(
      "SELECT tour_id FROM tours ORDER BY start_time, tour_id",
    );
    assert.deepEqual(
      first.ids,
      inOrder.map((row) => row.tour_id),
    );
    const tour = await client.getTour({ tourId: "tour_rome_vatican" });
    assert.deepEqual(await client.getTour({ tourId: "tour_rome_vatican" }), tour);
    const after = await cacheRequests(catalog);
    assert.ok((after["tours/hit"] ?? 0) - (before["tours/hit"] ?? 0) >= first.tokens.length);
    assert.ok((after["tour/hit"] ?? 0) > (before["tour/hit"] ?? 0));
  });

  it("shows a reservation and a release to their caller at once", async () => {
    const tourId = "tour_berlin_wall";
    const seats = (await client.getTour({ tourId })).tour?.seatsAvailable ?? 0;
    await client.getTour({ tourId });
    const reservationId = randomUUID();
    const reserved = await client.reserveSeats({ tourId, seats: 3, reservationId });
    assert.equal(reserved.seatsAvailable, seats - 3);
    assert.equal((await client.getTour({ tourId })).tour?.seatsAvailable, seats - 3);
    await client.releaseSeats({ reservationId });
    assert.equal((await client.getTour({ tourId })).tour?.seatsAvailable, seats);
  });

  it("shows a change committed by anyone else (seats, rating) once the database announces it", async () => {
    const tourId = "tour_lisbon_belem";
    await client.getTour({ tourId });
    await client.listTours({ destination: "Lisbon", pageSize: 100 });
    await db.query(
      "UPDATE tours SET seats_available = seats_available - 1, rating_sum = rating_sum + 4, rating_count = rating_count + 1 WHERE tour_id = $1",
      [tourId],
    );
    const seats = await seatsInDatabase(tourId);
    await waitFor(
      "GetTour to show the change",
      async () => {
        const { tour } = await client.getTour({ tourId });
        return tour?.seatsAvailable === seats && tour.ratingCount === 1 && tour.ratingAverage === 4;
      },
      2_000,
    );
    const listed = await client.listTours({ destination: "Lisbon", pageSize: 100 });
    assert.equal(listed.tours.find((tour) => tour.tourId === tourId)?.seatsAvailable, seats);
  });

  it("keeps v1's and v2's answers apart, each in its own shape, and one change reaches both", async () => {
    const v2 = createClient(CatalogServiceV2, `127.0.0.1:${catalog.port}`, { retries: false });
    try {
      const tourId = "tour_rome_trastevere";
      const before = await cacheRequests(catalog);
      const read = async () => ({
        v1: (await client.getTour({ tourId })).tour,
        v2: (await v2.getTour({ tourId })).tour,
        v1Page: (await client.listTours({ destination: "Rome", pageSize: 100 })).tours.find(
          (tour) => tour.tourId === tourId,
        ),
        v2Page: (await v2.listTours({ filter: { destination: "Rome" }, pageSize: 100 })).tours.find(
          (tour) => tour.tourId === tourId,
        ),
      });
      const first = await read();
      assert.deepEqual(await read(), first);
      assert.ok(((await cacheRequests(catalog))["tour/hit"] ?? 0) - (before["tour/hit"] ?? 0) >= 2);
      assert.equal(first.v1?.seatsAvailable, first.v2?.seats?.available);
      assert.equal(first.v1Page?.seatsAvailable, first.v2Page?.seats?.available);
      await db.query("UPDATE tours SET seats_available = seats_available - 2 WHERE tour_id = $1", [tourId]);
      const seats = await seatsInDatabase(tourId);
      await waitFor(
        "both versions to show the change",
        async () => {
          const now = await read();
          return [
            now.v1?.seatsAvailable,
            now.v2?.seats?.available,
            now.v1Page?.seatsAvailable,
            now.v2Page?.seats?.available,
          ].every((shown) => shown === seats);
        },
        2_000,
      );
    } finally {
      v2.close();
    }
  });

  it("drops a sold-out tour from every page of available tours, those that did not show it included", async () => {
    const query = { availableOnly: true, pageSize: 5 };
    const before = await pageThrough(query);
    await pageThrough(query);
    const soldOut = before.ids[2] as string;
    await db.query("UPDATE tours SET seats_available = 0 WHERE tour_id = $1", [soldOut]);
    const expected = before.ids.filter((id) => id !== soldOut);
    await waitFor(
      "the listing to drop the sold-out tour",
      async () => JSON.stringify((await pageThrough(query)).ids) === JSON.stringify(expected),
      2_000,
    );
    await db.query("UPDATE tours SET seats_available = 1 WHERE tour_id = $1", [soldOut]);
    await waitFor(
      "the listing to take it back",
      async () => JSON.stringify((await pageThrough(query)).ids) === JSON.stringify(before.ids),
      2_000,
    );
  });

  it("keeps a tour that does not exist as a short negative entry, which its creation clears", async () => {
    const tourId = `tour_new_${randomUUID().slice(0, 8)}`;
    const before = await cacheRequests(catalog);
    for (let i = 0; i < 2; i++)
      assert.equal((await callFailure(client.getTour({ tourId }))).code, Code.NotFound);
    assert.ok(((await cacheRequests(catalog))["tour/hit"] ?? 0) > (before["tour/hit"] ?? 0));
    await db.query(
      `INSERT INTO tours (tour_id, title, description, destination, start_time, duration_minutes, price_currency,
         price_minor, capacity, seats_available, rating_sum, rating_count)
       VALUES ($1, 'New', 'A new tour', 'Paris', now() + interval '30 days', 60, 'EUR', 1000, 10, 10, 0, 0)`,
      [tourId],
    );
    await waitFor(
      "GetTour to find the new tour",
      async () => (await client.getTour({ tourId }).catch(() => undefined))?.tour?.tourId === tourId,
      2_000,
    );
    await waitFor(
      "ListTours to list it",
      async () => (await pageThrough({ destination: "paris", pageSize: 3 })).ids.includes(tourId),
      2_000,
    );
  });

  it("reads the database while its kill switch is off, and the cache again, with nothing stale, once it is on", async () => {
    const tourId = "tour_amsterdam_rijksmuseum";
    const read = async () => (await client.getTour({ tourId })).tour?.seatsAvailable;
    const counted = async () => {
      const counts = await cacheRequests(catalog);
      return { hits: counts["tour/hit"] ?? 0, bypassed: counts["tour/bypass"] ?? 0 };
    };
    await read();
    await read();

    await flags.serve("catalog-read-cache", "off");
    await waitFor(
      "reads to bypass the cache",
      async () => {
        const before = await counted();
        await read();
        const after = await counted();
        return after.bypassed === before.bypassed + 1 && after.hits === before.hits;
      },
      2_000,
    );
    // A change committed while the switch is off still invalidates what the cache holds.
    await db.query("UPDATE tours SET seats_available = seats_available - 2 WHERE tour_id = $1", [tourId]);
    const seats = await seatsInDatabase(tourId);
    assert.equal(await read(), seats);

    await flags.serve("catalog-read-cache", "on");
    await waitFor(
      "reads to use the cache again",
      async () => {
        const before = await counted();
        const seen = await read();
        return seen === seats && (await counted()).bypassed === before.bypassed;
      },
      2_000,
    );
    // The change made while the switch was off shows from the cache too.
    const before = await counted();
    assert.equal(await read(), seats);
    assert.equal((await counted()).hits, before.hits + 1);
  });

  it("keeps answering without errors while Redis is killed mid-load, and uses the cache again once it is back", async () => {
    let running = true;
    const failures: string[] = [];
    const worker = async () => {
      while (running) {
        await Promise.all([
          client.getTour({ tourId: "tour_paris_louvre" }, { timeoutMs: 2_000 }),
          client.listTours({ pageSize: 10 }, { timeoutMs: 2_000 }),
        ]).catch((error: unknown) => failures.push(String(error)));
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await redis.stop("SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 300));
      const duringOutage = await cacheRequests(catalog);
      // A change while Redis is down must show once the cache is back.
      await client.reserveSeats({ tourId: "tour_paris_louvre", seats: 1, reservationId: randomUUID() });
      const seats = await seatsInDatabase("tour_paris_louvre");
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const stillDown = await cacheRequests(catalog);
      assert.equal(hits(stillDown), hits(duringOutage), "no hits while Redis is down");
      await redis.start();
      await waitFor(
        "hits to resume",
        async () => hits(await cacheRequests(catalog)) > hits(stillDown),
        20_000,
      );
      assert.equal((await client.getTour({ tourId: "tour_paris_louvre" })).tour?.seatsAvailable, seats);
    } finally {
      running = false;
      await Promise.all(workers);
    }
    assert.deepEqual(failures, []);
    const counts = await cacheRequests(catalog);
    assert.ok((counts["tour/error"] ?? 0) + (counts["tour/bypass"] ?? 0) > 0);
  });

  it("answers from Postgres within the deadline while Redis hangs, and uses the cache again after", async () => {
    await client.getTour({ tourId: "tour_rome_vatican" });
    redis.pause();
    try {
      const started = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          client.getTour({ tourId: "tour_rome_vatican" }, { timeoutMs: 2_000 }),
        ),
      );
      assert.ok(answers.every((answer) => answer.tour?.tourId === "tour_rome_vatican"));
      assert.ok(performance.now() - started < 2_000);
    } finally {
      redis.resume();
    }
    const resumed = await cacheRequests(catalog);
    await waitFor(
      "hits to resume",
      async () => {
        await client.getTour({ tourId: "tour_rome_vatican" });
        return hits(await cacheRequests(catalog)) > hits(resumed);
      },
      20_000,
    );
  });
});
