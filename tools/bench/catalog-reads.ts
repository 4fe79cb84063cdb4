// Benchmark of catalog's reads with its Redis cache against without, in the same run, on one database:
//   1. throughput: ListTours (a few first and second pages, some filtered) and GetTour (every tour in turn),
//      calls/s with `concurrency` calls in flight, against two catalog processes on the same database, one with
//      the cache (the local Redis, a key prefix of its own) and one without; rounds interleave the two so that
//      drift on a shared machine hits both alike; the cached one's hit ratio from its /metrics;
//   2. staleness: seats reserved and released, one change at a time, through the catalog WITHOUT the cache (as
//      another writer: the cached one learns of it only from the database's notification, the slower of its
//      two invalidation paths), while pollers read the tour from the cached one through GetTour and ListTours;
//      for each change, the time until the first read that started after the change was sent and shows it.
//      Measured from when the change was sent, so it includes the reservation's own time (an upper bound), and
//      from its answer (commit comes before the answer: a lower bound).
//
//   npm run bench:catalog -- [--seconds 5] [--rounds 3] [--concurrency 64] [--changes 200] [--runner dist|tsx]
//                            [--profile]   (where each catalog's CPU went while it served each method)
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  create,
  type DescMessage,
  equals,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  CatalogService,
  GetTourRequestSchema,
  GetTourResponseSchema,
  ListToursRequestSchema,
  ListToursResponseSchema,
} from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { createClient } from "@tourmesh/platform";
import { startRedisServer } from "@tourmesh/platform/testing";
import type { ServiceProcess } from "@tourmesh/stack";
import { cacheRequests } from "@tourmesh/stack/testing";
import { parseRunner, postgresBackends, prepareRunner, startBenchStack } from "./bench-stack.js";
import { H2GrpcClient } from "./h2-grpc-client.js";
import { CpuMeter, describeMachine, loadAverage, shareOwnPriority } from "./proc.js";
import { formatProfile, readProfile, summariseProfile } from "./profile-summary.js";
import { fixed, median, table, writeResult } from "./report.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "64" },
    changes: { type: "string", default: "200" },
    runner: { type: "string", default: "dist" },
    profile: { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);
const changes = Number(values.changes);
const runner = parseRunner(values.runner);
const TARGET_LIST_RATIO = 3;
const STALENESS_TOUR = "tour_lisbon_belem";
const say = (line = "") => console.log(line);

const encode = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

interface Method {
  name: "ListTours" | "GetTour";
  path: string;
  output: DescMessage;
  requests: Buffer[];
}

/**
 * Whether both catalogs give the same answer to each of the method's requests, the cached one from its cache
 * too (asked twice, the second time is a hit): the throughput rounds do not decode what they receive.
 */
async function sameAnswers(addresses: string[], method: Method): Promise<boolean> {
  const clients = addresses.map((address) => new H2GrpcClient(address));
  try {
    for (const request of method.requests) {
      const answers: Buffer[] = [];
      for (const client of clients)
        for (let time = 0; time < 2; time++) answers.push(await client.call(method.path, request));
      const [first, ...others] = answers.map((bytes) => fromBinary(method.output, bytes));
      if (!first || !others.every((other) => equals(method.output, first, other))) return false;
    }
    return true;
  } finally {
    for (const client of clients) client.close();
  }
}

/**
 * Keeps `concurrency` calls in flight for `durationMs`, cycling through the method's requests; calls/s. This
 * load client shares the machine's cores with the catalogs, so it spends as little as it can per call: its
 * calls go straight over HTTP/2 (H2GrpcClient), and the answers are counted, not decoded (decoding a page of
 * twenty tours costs more CPU than a cached answer costs the catalog); `sameAnswers` checks them instead.
 */
async function measure(
  address: string,
  method: Method,
  durationMs: number,
): Promise<{ rate: number; errors: number }> {
  const client = new H2GrpcClient(address);
  let completed = 0;
  let errors = 0;
  let next = 0;
  const end = performance.now() + durationMs;
  const worker = async () => {
    while (performance.now() < end) {
      const request = method.requests[next++ % method.requests.length] as Buffer;
      await client.call(method.path, request).then(
        () => completed++,
        () => errors++,
      );
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  client.close();
  return { rate: completed / ((performance.now() - started) / 1000), errors };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);
/** With --profile: where each catalog's CPU profile is written, and when it served each method. */
const profileDir = values.profile ? mkdtempSync(join(tmpdir(), "bench-catalog-")) : undefined;
const profiled: Array<{ label: string; pid: number; fromMicros: number; toMicros: number }> = [];

await prepareRunner(runner);
// A Redis of the benchmark's own: nothing else's commands in it, and its CPU and priority are the benchmark's.
const redis = await startRedisServer();
const stack = await startBenchStack({
  runner,
  services: ["catalog"],
  redisUrl: redis.url,
  ...(profileDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] } : {}),
}).catch(async (error: unknown) => {
  await redis.close();
  throw error;
});
try {
  const cached = stack.process("catalog");
  const uncached = await stack.launch("catalog", { REDIS_URL: "" });
  say(`catalog reads, ${describeMachine()}, load ${loadAverage().toFixed(1)}, runner ${runner}`);
  say(`${concurrency} calls in flight, ${rounds} rounds of ${seconds} s per method and catalog\n`);

  // The requests: first pages of a few listings and the second page of one, and every tour.
  const reader = createClient(CatalogService, cached.address, { retries: false });
  const listings = [{}, { destination: "Paris" }, { destination: "rome" }, { availableOnly: true }];
  const listRequests: Array<MessageInitShape<typeof ListToursRequestSchema>> = listings.map((listing) => ({
    ...listing,
    pageSize: 20,
  }));
  const firstPage = await reader.listTours({ pageSize: 20 });
  listRequests.push({ pageSize: 20, pageToken: firstPage.nextPageToken });
  const allTours = await reader.listTours({ pageSize: 100 });
  const methods: Method[] = [
    {
      name: "ListTours",
      path: "/tourmesh.catalog.v1.CatalogService/ListTours",
      output: ListToursResponseSchema,
      requests: listRequests.map((request) =>
        encode(toBinary(ListToursRequestSchema, create(ListToursRequestSchema, request))),
      ),
    },
    {
      name: "GetTour",
      path: "/tourmesh.catalog.v1.CatalogService/GetTour",
      output: GetTourResponseSchema,
      requests: allTours.tours.map((tour) =>
        encode(toBinary(GetTourRequestSchema, create(GetTourRequestSchema, { tourId: tour.tourId }))),
      ),
    },
  ];

  // CPU per call: the catalog process measured, the database's backends and Redis (the machine's other load
  // moves calls/s far more than it moves these).
  let measured: ServiceProcess = cached;
  let backends: number[] = [];
  const meter = new CpuMeter(
    () =>
      new Map([
        ["catalog", [measured.process.pid ?? 0]],
        ["postgres", backends],
        ["redis", redis.pid === undefined ? [] : [redis.pid]],
        ["client", [process.pid]],
      ]),
  );
  const cpuMicrosPerCall = async (catalog: ServiceProcess, method: Method) => {
    measured = catalog;
    backends = await postgresBackends(stack);
    // Run with a raised priority on a shared machine (see docs/benchmarks.md): the database and Redis get it too.
    shareOwnPriority(redis.pid === undefined ? backends : [...backends, redis.pid]);
    meter.reset();
    const result = await measure(catalog.address, method, seconds * 1_000);
    const calls = result.rate * meter.read().seconds;
    const byGroup = meter.read().byGroup;
    const micros = (group: string) => fixed(((byGroup.get(group) ?? 0) * 1e6) / Math.max(calls, 1));
    return {
      ...result,
      cpu: {
        catalog: micros("catalog"),
        postgres: micros("postgres"),
        redis: micros("redis"),
        client: micros("client"),
      },
    };
  };

  const throughput: Array<{
    method: string;
    withoutCache: number;
    withCache: number;
    ratio: number;
    hitRatio: number;
    errors: number;
    cpuMicrosPerCall: { withoutCache: Record<string, number>; withCache: Record<string, number> };
  }> = [];
  for (const method of methods) {
    if (!(await sameAnswers([uncached.address, cached.address], method)))
      throw new Error(`${method.name}: the two catalogs answered differently`);
    // Warm both: connections, prepared statements, the cache's entries.
    await measure(uncached.address, method, 1_000);
    await measure(cached.address, method, 1_000);
    const without: number[] = [];
    const withCache: number[] = [];
    let errors = 0;
    let cpuWithout: Record<string, number> = {};
    let cpuWith: Record<string, number> = {};
    const cacheName = method.name === "GetTour" ? "tour" : "tours";
    const before = await cacheRequests(cached);
    const from = monotonicMicros();
    for (let round = 0; round < rounds; round++) {
      const a = await cpuMicrosPerCall(uncached, method);
      const b = await cpuMicrosPerCall(cached, method);
      cpuWithout = a.cpu;
      cpuWith = b.cpu;
      without.push(a.rate);
      withCache.push(b.rate);
      errors += a.errors + b.errors;
    }
    const to = monotonicMicros();
    for (const [catalog, label] of [
      [uncached, "without the cache"],
      [cached, "with the cache"],
    ] as const)
      profiled.push({
        label: `${method.name} ${label}`,
        pid: catalog.process.pid ?? 0,
        fromMicros: from,
        toMicros: to,
      });
    const after = await cacheRequests(cached);
    const delta = (result: string) =>
      (after[`${cacheName}/${result}`] ?? 0) - (before[`${cacheName}/${result}`] ?? 0);
    const requests = ["hit", "miss", "error", "bypass"].reduce((sum, result) => sum + delta(result), 0);
    const row = {
      method: method.name,
      withoutCache: fixed(median(without)),
      withCache: fixed(median(withCache)),
      ratio: fixed(median(withCache) / median(without), 2),
      hitRatio: fixed(delta("hit") / Math.max(requests, 1), 4),
      errors,
      cpuMicrosPerCall: { withoutCache: cpuWithout, withCache: cpuWith },
    };
    throughput.push(row);
    say(
      `${row.method}: ${row.withoutCache} calls/s without the cache, ${row.withCache} with it (${row.ratio}×), ` +
        `hit ratio ${(row.hitRatio * 100).toFixed(2)} % (${["hit", "miss", "error", "bypass"].map((result) => `${result} ${delta(result)}`).join(", ")}), ${row.errors} errors`,
    );
    const cpu = (micros: Record<string, number>) =>
      Object.entries(micros)
        .map(([group, value]) => `${group} ${value}`)
        .join(" + ");
    say(`  CPU µs per call, last round: without the cache ${cpu(cpuWithout)}; with it ${cpu(cpuWith)}`);
  }

  // Staleness: pollers on the cached catalog, changes through the other one.
  const writer = createClient(CatalogService, uncached.address, { retries: false });
  type Read = { started: number; seats: number | undefined };
  let reads: Read[] = [];
  let polling = true;
  const pollers = [
    ...Array.from({ length: 3 }, () => async () => {
      const { tour } = await reader.getTour({ tourId: STALENESS_TOUR });
      return tour?.seatsAvailable;
    }),
    ...Array.from({ length: 3 }, () => async () => {
      const page = await reader.listTours({ destination: "Lisbon", pageSize: 100 });
      return page.tours.find((tour) => tour.tourId === STALENESS_TOUR)?.seatsAvailable;
    }),
  ].map(async (read) => {
    while (polling) {
      const started = performance.now();
      const seats = await read();
      reads.push({ started, seats });
    }
  });
  const fromSent: number[] = [];
  const fromAnswer: number[] = [];
  let seats = (await reader.getTour({ tourId: STALENESS_TOUR })).tour?.seatsAvailable ?? 0;
  let held: string | undefined;
  try {
    for (let change = 0; change < changes; change++) {
      reads = [];
      const sent = performance.now();
      if (held) {
        await writer.releaseSeats({ reservationId: held });
        held = undefined;
        seats += 1;
      } else {
        held = `bench-${change}`;
        seats = (await writer.reserveSeats({ tourId: STALENESS_TOUR, seats: 1, reservationId: held }))
          .seatsAvailable;
      }
      const answered = performance.now();
      const deadline = answered + 10_000;
      let shown: Read | undefined;
      while (!shown && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        shown = reads.find((read) => read.started >= sent && read.seats === seats);
      }
      if (!shown) throw new Error(`change ${change} was never shown within 10 s`);
      fromSent.push(shown.started - sent);
      fromAnswer.push(Math.max(0, shown.started - answered));
    }
  } finally {
    polling = false;
    await Promise.all(pollers);
    writer.close();
    reader.close();
  }
  fromSent.sort((a, b) => a - b);
  fromAnswer.sort((a, b) => a - b);
  const staleness = {
    changes,
    fromSentMs: {
      p50: fixed(percentile(fromSent, 50), 2),
      p99: fixed(percentile(fromSent, 99), 2),
      max: fixed(fromSent.at(-1) ?? 0, 2),
    },
    fromAnswerMs: {
      p50: fixed(percentile(fromAnswer, 50), 2),
      p99: fixed(percentile(fromAnswer, 99), 2),
      max: fixed(fromAnswer.at(-1) ?? 0, 2),
    },
  };

  say("");
  say(
    table(
      ["method", "calls/s without cache", "calls/s with cache", "ratio", "hit ratio", "errors"],
      throughput.map((row) => [
        row.method,
        row.withoutCache,
        row.withCache,
        `${row.ratio}×`,
        row.hitRatio,
        row.errors,
      ]),
    ),
  );
  say("");
  say(
    `staleness over ${changes} changes made through the other catalog (first read showing the change): ` +
      `p50 ${staleness.fromSentMs.p50} ms, p99 ${staleness.fromSentMs.p99} ms, max ${staleness.fromSentMs.max} ms ` +
      `from sending it; p99 ${staleness.fromAnswerMs.p99} ms, max ${staleness.fromAnswerMs.max} ms from its answer`,
  );
  const listRatio = throughput.find((row) => row.method === "ListTours")?.ratio ?? 0;
  const met = listRatio >= TARGET_LIST_RATIO;
  say(
    `target: ListTours with the cache ≥ ${TARGET_LIST_RATIO}× without it: ${met ? "met" : "NOT met"} (${listRatio}×)`,
  );
  const path = writeResult("catalog-reads", {
    machine: describeMachine(),
    runner,
    concurrency,
    seconds,
    rounds,
    throughput,
    staleness,
    target: { listToursRatio: TARGET_LIST_RATIO, met },
  });
  say(`written to ${path}`);
} finally {
  await stack.stop();
  await redis.close();
}

// The profiles are written as the processes exit. Each window holds both catalogs' rounds; a catalog is idle
// while the other is measured, and idle samples are left out.
if (profileDir) {
  const files = readdirSync(profileDir);
  for (const { label, pid, fromMicros, toMicros } of profiled) {
    const file = files.find((name) => name.split(".")[3] === String(pid) && name.split(".")[4] === "0");
    if (!file) continue;
    const summary = summariseProfile(readProfile(join(profileDir, file)), { fromMicros, toMicros }, 15);
    say(`\ncatalog ${label}: ${summary.busyMs.toFixed(0)} ms of CPU sampled\n${formatProfile(summary, 15)}`);
  }
  rmSync(profileDir, { recursive: true, force: true });
}
