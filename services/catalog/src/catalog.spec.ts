import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { CatalogService, ReservationStatus } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { ReviewCreatedSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { createClient, type ServiceClient } from "@tourmesh/platform";
import {
  callFailure,
  createTestDatabase,
  publishTestEvent,
  rejection,
  type TestDatabase,
  testEventStreams,
} from "@tourmesh/platform/testing";
import type { ServiceProcess } from "@tourmesh/stack";
import { startService } from "@tourmesh/stack/testing";
import pg from "pg";

const buf = new URL("../../../node_modules/.bin/buf", import.meta.url).pathname;
const run = promisify(execFile);

describe("catalog service", () => {
  let db: TestDatabase;
  let catalog: ServiceProcess;
  let client: ServiceClient<typeof CatalogService>;
  let sql: pg.Pool;

  before(async () => {
    db = await createTestDatabase("catalog");
    catalog = await startService("catalog", { DATABASE_URL: db.url });
    client = createClient(CatalogService, `127.0.0.1:${catalog.port}`, { retries: true });
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  after(async () => {
    client?.close();
    await sql?.end();
    await catalog?.stop();
    await db?.drop();
  });

  async function tableState() {
    const tours = await sql.query("SELECT tour_id, seats_available FROM tours ORDER BY tour_id");
    const reservations = await sql.query(
      "SELECT reservation_id, status FROM reservations ORDER BY reservation_id",
    );
    return { tours: tours.rows, reservations: reservations.rows };
  }

  it("lists its services by reflection to buf curl", async () => {
    const { stdout } = await run(buf, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-services",
      `http://127.0.0.1:${catalog.port}`,
    ]);
    const services = stdout.trim().split("\n").sort();
    assert.deepEqual(services, [
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "tourmesh.catalog.v1.CatalogService",
      "tourmesh.catalog.v2.CatalogService",
    ]);
  });

  it("answers buf curl ListTours for Paris with Paris tours only, by reflection alone", async () => {
    const { stdout } = await run(buf, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--data",
      JSON.stringify({ destination: "Paris", page_size: 100 }),
      `http://127.0.0.1:${catalog.port}/tourmesh.catalog.v1.CatalogService/ListTours`,
    ]);
    const { tours } = JSON.parse(stdout) as { tours: Array<{ destination: string }> };
    assert.equal(tours.length, 6);
    assert.ok(tours.every((tour) => tour.destination === "Paris"));
  });

  it("seeds at least 30 tours in at least 6 destinations and pages through them without gaps", async () => {
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await client.listTours({ pageSize: 7, pageToken });
      seen.push(...page.tours.map((tour) => tour.tourId));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== "");
    const all = await client.listTours({ pageSize: 100 });
    assert.ok(all.tours.length >= 30);
    assert.ok(new Set(all.tours.map((tour) => tour.destination)).size >= 6);
    assert.deepEqual(
      seen,
      all.tours.map((tour) => tour.tourId),
    );
    assert.equal(pages, Math.ceil(all.tours.length / 7));
  });

  it("filters by destination case-insensitively and by availability", async () => {
    const rome = await client.listTours({ destination: "rome", pageSize: 100 });
    assert.equal(rome.tours.length, 6);
    assert.ok(rome.tours.every((tour) => tour.destination === "Rome"));
    await sql.query("UPDATE tours SET seats_available = 0 WHERE tour_id = 'tour_rome_ostia'");
    const available = await client.listTours({ destination: "Rome", availableOnly: true, pageSize: 100 });
    assert.deepEqual(
      available.tours.map((tour) => tour.tourId).sort(),
      rome.tours
        .map((tour) => tour.tourId)
        .filter((id) => id !== "tour_rome_ostia")
        .sort(),
    );
  });

  it("never oversells: of 50 concurrent one-seat reservations on 10 free seats, exactly 10 succeed", async () => {
    const tourId = "tour_paris_catacombs";
    assert.equal((await client.getTour({ tourId })).tour?.seatsAvailable, 10);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        client.reserveSeats({ tourId, seats: 1, reservationId: randomUUID() }),
      ),
    );
    const succeeded = results.filter((result) => result.status === "fulfilled");
    const failed = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
    assert.equal(succeeded.length, 10);
    assert.equal(failed.length, 40);
    assert.ok(
      failed.every((error) => error instanceof ConnectError && error.code === Code.FailedPrecondition),
    );
    assert.equal((await client.getTour({ tourId })).tour?.seatsAvailable, 0);
    const held = await sql.query("SELECT count(*)::int AS n FROM reservations WHERE tour_id = $1", [tourId]);
    assert.equal(held.rows[0].n, 10);
  });

  it("replays a reservation id without taking more seats, and refuses it for a different request", async () => {
    const tourId = "tour_berlin_wall";
    const reservationId = `booking_${randomUUID()}`;
    const first = await client.reserveSeats({ tourId, seats: 3, reservationId });
    const replays = await Promise.all(
      Array.from({ length: 5 }, () => client.reserveSeats({ tourId, seats: 3, reservationId })),
    );
    assert.equal(first.seatsAvailable, 22);
    for (const replay of replays) assert.deepEqual(replay.reservation, first.reservation);
    assert.equal((await client.getTour({ tourId })).tour?.seatsAvailable, 22);
    const misuse = await rejection(client.reserveSeats({ tourId, seats: 4, reservationId }));
    assert.equal(misuse.code, Code.AlreadyExists);
    assert.equal((await client.getTour({ tourId })).tour?.seatsAvailable, 22);
  });

  it("releases a reservation once, however often it is released", async () => {
    const tourId = "tour_lisbon_belem";
    const reservationId = `booking_${randomUUID()}`;
    await client.reserveSeats({ tourId, seats: 2, reservationId });
    assert.equal((await client.getTour({ tourId })).tour?.seatsAvailable, 18);
    const releases = await Promise.all(
      Array.from({ length: 4 }, () => client.releaseSeats({ reservationId })),
    );
    for (const release of releases) assert.equal(release.reservation?.status, ReservationStatus.RELEASED);
    assert.equal((await client.getTour({ tourId })).tour?.seatsAvailable, 20);
    const replayAfterRelease = await client.reserveSeats({ tourId, seats: 2, reservationId });
    assert.equal(replayAfterRelease.reservation?.status, ReservationStatus.RELEASED);
    assert.equal((await client.getTour({ tourId })).tour?.seatsAvailable, 20);
  });

  it("refuses bad input with field violations and changes nothing", async () => {
    const before = await tableState();
    const cases: Array<[() => Promise<unknown>, Code, string[]]> = [
      [() => client.getTour({ tourId: "" }), Code.InvalidArgument, ["tour_id"]],
      [() => client.getTour({ tourId: "x".repeat(200) }), Code.InvalidArgument, ["tour_id"]],
      [() => client.getTour({ tourId: "tour_atlantis_nowhere" }), Code.NotFound, ["tour_id"]],
      [
        () => client.reserveSeats({ tourId: "", seats: 0, reservationId: "" }),
        Code.InvalidArgument,
        ["tour_id", "seats", "reservation_id"],
      ],
      [
        () => client.reserveSeats({ tourId: "tour_paris_louvre", seats: -2, reservationId: randomUUID() }),
        Code.InvalidArgument,
        ["seats"],
      ],
      [
        () => client.reserveSeats({ tourId: "tour_paris_louvre", seats: 51, reservationId: randomUUID() }),
        Code.InvalidArgument,
        ["seats"],
      ],
      [
        () => client.reserveSeats({ tourId: "tour_atlantis_nowhere", seats: 1, reservationId: randomUUID() }),
        Code.NotFound,
        ["tour_id"],
      ],
      [() => client.releaseSeats({ reservationId: "" }), Code.InvalidArgument, ["reservation_id"]],
      [() => client.releaseSeats({ reservationId: "never-made" }), Code.NotFound, ["reservation_id"]],
      [() => client.listTours({ pageSize: 101 }), Code.InvalidArgument, ["page_size"]],
      [() => client.listTours({ pageSize: -1 }), Code.InvalidArgument, ["page_size"]],
      [() => client.listTours({ pageToken: "bm90LWEtdG9rZW4" }), Code.InvalidArgument, ["page_token"]],
    ];
    for (const [call, code, fields] of cases) {
      const failure = await callFailure(call());
      assert.equal(failure.code, code, failure.message);
      assert.deepEqual(failure.fields, [...fields].sort(), failure.message);
    }
    const page = await client.listTours({ destination: "Paris", pageSize: 2 });
    const reused = await callFailure(
      client.listTours({ destination: "Rome", pageSize: 2, pageToken: page.nextPageToken }),
    );
    assert.deepEqual(reused.fields, ["page_token"]);
    assert.deepEqual(await tableState(), before);
  });

  it("counts handled calls per method and code on /metrics", async () => {
    await client.getTour({ tourId: "tour_rome_vatican" });
    await rejection(client.getTour({ tourId: "" }));
    const text = await (await fetch(`http://127.0.0.1:${catalog.metricsPort}/metrics`)).text();
    assert.match(text, /grpc_server_handled_total\{[^}]*grpc_method="GetTour",grpc_code="OK"\} [1-9]/);
    assert.match(
      text,
      /grpc_server_handled_total\{[^}]*grpc_method="GetTour",grpc_code="INVALID_ARGUMENT"\} [1-9]/,
    );
    assert.match(text, /grpc_server_handling_seconds_bucket\{[^}]*grpc_method="ListTours"/);
    assert.match(text, /process_resident_memory_bytes/);
  });

  it("writes a log line per call that carries the call's trace id", async () => {
    const traceId = randomUUID().replaceAll("-", "");
    await client.getTour(
      { tourId: "tour_amsterdam_canals" },
      { headers: { traceparent: `00-${traceId}-${"1".repeat(16)}-01` } },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const line = catalog.logs.find((log) => log.trace_id === traceId);
    assert.ok(line, "no log line with the call's trace id");
    assert.equal(line.method, "/tourmesh.catalog.v1.CatalogService/GetTour");
    assert.equal(line.code, "OK");
    assert.equal(typeof line.duration_ms, "number");
    assert.match(String(line.span_id), /^[0-9a-f]{16}$/);
  });
});

describe("catalog shutdown", () => {
  it("finishes every in-flight call of a burst on SIGTERM and exits 0", async (t) => {
    const db = await createTestDatabase("catalog_sigterm");
    const catalog = await startService("catalog", { DATABASE_URL: db.url, SHUTDOWN_DELAY_MS: "200" });
    const client = createClient(CatalogService, `127.0.0.1:${catalog.port}`, { retries: false });
    t.after(async () => {
      client.close();
      await catalog.stop("SIGKILL");
      await db.drop();
    });
    await client.getTour({ tourId: "tour_paris_louvre" });

    const burst = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0
        ? client.listTours({ pageSize: 100 })
        : client.reserveSeats({ tourId: "tour_rome_fountains", seats: 1, reservationId: `r${i % 50}` }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    const exitCode = catalog.stop("SIGTERM");
    const results = await Promise.allSettled(burst);
    const failures = results.flatMap((result) =>
      result.status === "rejected" ? [String(result.reason)] : [],
    );
    assert.deepEqual(failures, []);
    assert.equal(await exitCode, 0);
    assert.ok(catalog.logs.some((log) => log.msg === "draining"));
    assert.ok(catalog.logs.some((log) => log.msg === "stopped"));
  });
});

describe("catalog ratings from review events", () => {
  it("counts each ReviewCreated once into the tour's average, however often it is delivered", async () => {
    const db = await createTestDatabase("catalog_ratings");
    const events = testEventStreams();
    const catalog = await startService("catalog", { DATABASE_URL: db.url, ...events.env });
    const client = createClient(CatalogService, `127.0.0.1:${catalog.port}`, { retries: false });
    try {
      const publish = (id: string, messageId: string, rating: number) =>
        publishTestEvent(events, {
          subject: "review.created",
          schema: ReviewCreatedSchema,
          message: { reviewId: id, tourId: "tour_amsterdam_canals", userId: "u", rating },
          aggregateId: id,
          id,
          messageId,
          source: "review",
        });
      await publish("review-1", "review-1", 5);
      await publish("review-1", "review-1-republished", 5);
      await publish("review-2", "review-2", 2);
      const inbox = async () =>
        (await db.query("SELECT 1 FROM inbox WHERE consumer = 'catalog-ratings'")).length;
      for (let tries = 0; (await inbox()) < 2; tries++) {
        assert.ok(tries < 200, "catalog never handled the reviews");
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      // The duplicate comes after the first in the stream: once both others are handled, so is it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { tour } = await client.getTour({ tourId: "tour_amsterdam_canals" });
      assert.equal(tour?.ratingCount, 2);
      assert.equal(tour?.ratingAverage, 3.5);
    } finally {
      client.close();
      assert.equal(await catalog.stop(), 0);
      await events.delete();
      await db.drop();
    }
  });
});
