import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { createClient, type ServiceClient } from "@tourmesh/platform";
import {
  callFailure,
  type ReplicatedPostgres,
  startReplicatedPostgres,
  waitFor,
} from "@tourmesh/platform/testing";
import type { ServiceProcess } from "@tourmesh/stack";
import { startService } from "@tourmesh/stack/testing";

const DATABASE = "catalog";
const TOUR = "tour_paris_catacombs";

describe("catalog with a read replica", () => {
  let postgres: ReplicatedPostgres;
  let catalog: ServiceProcess;
  let client: ServiceClient<typeof CatalogService>;

  before(async () => {
    postgres = await startReplicatedPostgres();
    catalog = await startService("catalog", {
      DATABASE_URL: postgres.primaryUrl(DATABASE),
      DATABASE_READ_URL: postgres.replicaUrl(DATABASE),
    });
    client = createClient(CatalogService, `127.0.0.1:${catalog.port}`, { retries: false });
    await waitFor("the replica to have the seeded tours", async () => {
      const rows = await postgres
        .queryReplica<{ n: number }>(DATABASE, "SELECT count(*)::int AS n FROM tours")
        .catch(() => []);
      return (rows[0]?.n ?? 0) > 0;
    });
  });
  after(async () => {
    client?.close();
    await catalog?.stop();
    await postgres?.stop();
  });

  const replayPaused = async (paused: boolean) => {
    await postgres.queryReplica(
      DATABASE,
      paused ? "SELECT pg_wal_replay_pause()" : "SELECT pg_wal_replay_resume()",
    );
  };
  const seatsShown = async () => (await client.getTour({ tourId: TOUR })).tour?.seatsAvailable;

  it("reads tours on the replica and writes reservations on the primary, whose seat counts alone decide", async () => {
    const seats = await seatsShown();
    assert.ok(seats !== undefined && seats > 2);
    const sessions = await postgres.queryReplica<{ n: number }>(
      DATABASE,
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    assert.ok((sessions[0]?.n ?? 0) > 0, "catalog has sessions on the replica");

    // While the replica replays nothing, reads show the tour as it was there, while writes see the primary.
    await replayPaused(true);
    try {
      const reserved = await client.reserveSeats({
        tourId: TOUR,
        seats: seats - 1,
        reservationId: randomUUID(),
      });
      assert.equal(reserved.seatsAvailable, 1);
      assert.equal(await seatsShown(), seats);
      const listed = await client.listTours({ destination: "Paris", pageSize: 100 });
      assert.equal(listed.tours.find((tour) => tour.tourId === TOUR)?.seatsAvailable, seats);
      // The replica still shows seats, but the reservation is checked on the primary: two seats are not there.
      const refused = await callFailure(
        client.reserveSeats({ tourId: TOUR, seats: 2, reservationId: randomUUID() }),
      );
      assert.equal(refused.code, Code.FailedPrecondition);
    } finally {
      await replayPaused(false);
    }
    await waitFor("the replica to catch up", async () => (await seatsShown()) === 1);
  });
});
