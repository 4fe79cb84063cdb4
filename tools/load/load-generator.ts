/**
 * An open-loop load generator for the public API through the gateway: requests arrive at a set rate whatever
 * the answers take (so slow answers show up as latency, not as politely lower load), in a realistic mix —
 * browsing far more than quoting, quoting more than booking, booking more than cancelling.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BookingService, BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { runOpenLoop } from "./open-loop.js";

export interface LoadOptions {
  gatewayUrl: string;
  /** Requests started per second, all operations together. */
  rate: number;
  durationSeconds: number;
  /** Demo users to act as (each signs in once). */
  users: Array<{ username: string; password: string }>;
  /** Most requests in flight at once; beyond it a request is counted as dropped rather than queued. */
  maxInFlight?: number;
  /** Called once a second with a line of progress. */
  onProgress?: (line: string) => void;
  /** Weights of each operation in the mix. */
  mix?: Partial<Record<Operation, number>>;
  signal?: AbortSignal;
}

export type Operation =
  | "listTours"
  | "getTour"
  | "quotePrice"
  | "createBooking"
  | "listBookings"
  | "cancelBooking";

export const defaultMix: Record<Operation, number> = {
  listTours: 40,
  getTour: 25,
  quotePrice: 15,
  createBooking: 10,
  listBookings: 7,
  cancelBooking: 3,
};

export interface OperationSummary {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  errorsByCode: Record<string, number>;
}

export interface LoadSummary {
  seconds: number;
  started: number;
  completed: number;
  dropped: number;
  throughput: number;
  confirmedBookings: number;
  operations: Partial<Record<Operation, OperationSummary>>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const destinations = ["Paris", "Rome", "Barcelona", "Lisbon", "Berlin", "Amsterdam"];
const countries = ["FR", "DE", "IT", "ES", "PT", "NL", "GB", "US"];
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const transport = createGrpcTransport({ baseUrl: options.gatewayUrl });
  const identity = createClient(IdentityService, transport);
  const catalog = createClient(CatalogService, transport);
  const booking = createClient(BookingService, transport);

  const sessions = await Promise.all(
    options.users.map(async (user) => {
      const { accessToken } = await identity.signIn(user);
      return { headers: { authorization: `Bearer ${accessToken}` }, bookings: [] as string[] };
    }),
  );
  const { tours } = await catalog.listTours({ pageSize: 100 });
  const tourIds = tours.map((tour) => tour.tourId);
  if (tourIds.length === 0) throw new Error("the catalog has no tours");

  const operations: Record<Operation, () => Promise<unknown>> = {
    listTours: () =>
      catalog.listTours({ filter: { destination: pick(destinations), availableOnly: Math.random() < 0.5 } }),
    getTour: () => catalog.getTour({ tourId: pick(tourIds) }),
    quotePrice: () =>
      booking.quotePrice(
        { tourId: pick(tourIds), travelers: 1 + Math.floor(Math.random() * 8), countryCode: pick(countries) },
        pick(sessions),
      ),
    createBooking: async () => {
      const session = pick(sessions);
      const { booking: created } = await booking.createBooking(
        {
          idempotencyKey: crypto.randomUUID(),
          tourId: pick(tourIds),
          travelers: 1,
          countryCode: pick(countries),
        },
        session,
      );
      if (created?.status === BookingStatus.CONFIRMED) {
        confirmed++;
        session.bookings.push(created.bookingId);
      }
    },
    listBookings: () => booking.listBookings({ pageSize: 20 }, pick(sessions)),
    cancelBooking: async () => {
      const session = pick(sessions);
      const bookingId = session.bookings.shift();
      if (bookingId) await booking.cancelBooking({ bookingId }, session);
    },
  };

  const mix = { ...defaultMix, ...options.mix };
  const weighted = (Object.entries(mix) as Array<[Operation, number]>).filter(([, weight]) => weight > 0);
  const totalWeight = weighted.reduce((sum, [, weight]) => sum + weight, 0);
  const chooseOperation = (): Operation => {
    let roll = Math.random() * totalWeight;
    for (const [operation, weight] of weighted) {
      roll -= weight;
      if (roll < 0) return operation;
    }
    return weighted[0]?.[0] ?? "listTours";
  };

  const latencies = new Map<Operation, number[]>();
  const errors = new Map<Operation, Record<string, number>>();
  let started = 0;
  let completed = 0;
  let dropped = 0;
  let inFlight = 0;
  let confirmed = 0;
  const maxInFlight = options.maxInFlight ?? 512;
  const pending = new Set<Promise<void>>();

  const fire = () => {
    if (inFlight >= maxInFlight) {
      dropped++;
      return;
    }
    const operation = chooseOperation();
    const begun = performance.now();
    started++;
    inFlight++;
    const call = operations[operation]()
      .then(
        () => {
          const list = latencies.get(operation) ?? [];
          list.push(performance.now() - begun);
          latencies.set(operation, list);
        },
        (error: unknown) => {
          const code = error instanceof ConnectError ? Code[error.code] : "Unknown";
          const counts = errors.get(operation) ?? {};
          counts[code ?? "Unknown"] = (counts[code ?? "Unknown"] ?? 0) + 1;
          errors.set(operation, counts);
        },
      )
      .finally(() => {
        inFlight--;
        completed++;
        pending.delete(call);
      });
    pending.add(call);
  };

  const begin = performance.now();
  let lastReport = begin;
  let completedAtLastReport = 0;
  await runOpenLoop({
    rate: options.rate,
    seconds: options.durationSeconds,
    start: fire,
    signal: options.signal,
    onSecond: (second) => {
      const now = performance.now();
      const errorCount = [...errors.values()].reduce(
        (sum, counts) => sum + Object.values(counts).reduce((a, b) => a + b, 0),
        0,
      );
      options.onProgress?.(
        `${String(second).padStart(4)} s  ${(((completed - completedAtLastReport) * 1000) / (now - lastReport)).toFixed(0).padStart(6)} answers/s` +
          `  in flight ${String(inFlight).padStart(4)}  confirmed bookings ${confirmed}  errors ${errorCount}  dropped ${dropped}`,
      );
      lastReport = now;
      completedAtLastReport = completed;
    },
  });
  await Promise.all(pending);
  const seconds = (performance.now() - begin) / 1000;

  const summary: LoadSummary = {
    seconds,
    started,
    completed,
    dropped,
    throughput: completed / seconds,
    confirmedBookings: confirmed,
    operations: {},
  };
  for (const operation of Object.keys(mix) as Operation[]) {
    const sorted = (latencies.get(operation) ?? []).sort((a, b) => a - b);
    const errorsByCode = errors.get(operation) ?? {};
    const count = sorted.length + Object.values(errorsByCode).reduce((a, b) => a + b, 0);
    if (count === 0) continue;
    summary.operations[operation] = {
      count,
      p50Ms: percentile(sorted, 50),
      p95Ms: percentile(sorted, 95),
      p99Ms: percentile(sorted, 99),
      errorsByCode,
    };
  }
  return summary;
}

export function formatSummary(summary: LoadSummary): string {
  const lines = [
    `${summary.completed} answers in ${summary.seconds.toFixed(1)} s = ${summary.throughput.toFixed(0)}/s; ` +
      `${summary.confirmedBookings} confirmed bookings (${(summary.confirmedBookings / summary.seconds).toFixed(1)}/s); ` +
      `${summary.dropped} dropped at the in-flight cap`,
    "| operation | calls | p50 ms | p95 ms | p99 ms | errors by code |",
    "|---|---:|---:|---:|---:|---|",
  ];
  for (const [operation, result] of Object.entries(summary.operations)) {
    const errorText = Object.entries(result.errorsByCode)
      .map(([code, count]) => `${code} ${count}`)
      .join(", ");
    lines.push(
      `| ${operation} | ${result.count} | ${result.p50Ms.toFixed(1)} | ${result.p95Ms.toFixed(1)} | ${result.p99Ms.toFixed(1)} | ${errorText || "—"} |`,
    );
  }
  return lines.join("\n");
}
