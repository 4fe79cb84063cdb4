/**
 * Open-loop CreateBooking load through the gateway (see runOpenLoop): a system that cannot keep up shows it as
 * growing latency and fewer confirmations. The client speaks gRPC (grpc-js, HTTP/2) to the gateway.
 */

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  BookingService,
  BookingStatus,
  type CreateBookingRequest,
  CreateBookingRequestSchema,
  CreateBookingResponseSchema,
} from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { runOpenLoop } from "../load/open-loop.js";

export const DEMO_USERS = ["alice", "bob"].map((username) => ({ username, password: "tourmesh-demo" }));

export interface BookingLoadOptions {
  /** Bookings started per second. */
  rate: number;
  seconds: number;
  /** Most calls in flight; a booking due beyond it is counted as dropped instead of started. */
  maxInFlight?: number;
  /** Deadline of each CreateBooking. */
  timeoutMs?: number;
  onSecond?: (line: string) => void;
  signal?: AbortSignal;
}

export interface Latency {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface BookingLoadResult {
  offeredRate: number;
  seconds: number;
  started: number;
  /** Answered CONFIRMED; `confirmedPerSecond` counts only those answered within the run's `seconds`. */
  confirmed: number;
  confirmedPerSecond: number;
  /** Successful answers with another status (PENDING_PAYMENT, PAYMENT_FAILED, ...). */
  otherOutcomes: Record<string, number>;
  errorsByCode: Record<string, number>;
  /** The first error message seen for each code. */
  errorExamples: Record<string, string>;
  dropped: number;
  /** Latency of every answered CreateBooking (confirmed or not). */
  latency: Latency;
  /** Confirmations answered in each second of the run. */
  confirmedEachSecond: number[];
}

export function percentiles(values: number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return { p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? 0 };
}

const createBookingPath = `/${BookingService.typeName}/${BookingService.method.createBooking.name}`;
const serializeRequest = (request: CreateBookingRequest) =>
  Buffer.from(toBinary(CreateBookingRequestSchema, request));
const deserializeResponse = (bytes: Buffer) => fromBinary(CreateBookingResponseSchema, bytes);

/**
 * A signed-in client of the public API, ready to book any of the catalog's tours. Bookings go out on a bare
 * grpc-js client, the cheapest client at hand: the load client shares the machine's two cores with the stack
 * it measures, and connect-node's gRPC transport costs it about a quarter more CPU per booking.
 */
export class BookingClient {
  private readonly client: grpc.Client;
  private constructor(
    address: string,
    private readonly sessions: grpc.Metadata[],
    readonly tourIds: string[],
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  /**
   * Signs in and lists tours through the gateway. Bookings go through it too, unless `bookingUrl` names the
   * booking service itself (to measure what the gateway costs).
   */
  static async connect(gatewayUrl: string, bookingUrl?: string): Promise<BookingClient> {
    const transport = createGrpcTransport({ baseUrl: gatewayUrl });
    const identity = createClient(IdentityService, transport);
    const sessions = await Promise.all(
      DEMO_USERS.map(async (user) => {
        const { accessToken } = await identity.signIn(user);
        const metadata = new grpc.Metadata();
        metadata.set("authorization", `Bearer ${accessToken}`);
        return metadata;
      }),
    );
    const { tours } = await createClient(CatalogService, transport).listTours({ pageSize: 100 });
    if (tours.length === 0) throw new Error("the catalog has no tours");
    return new BookingClient(
      new URL(bookingUrl ?? gatewayUrl).host,
      sessions,
      tours.map((tour) => tour.tourId),
    );
  }

  /** Books one seat on a random tour; resolves with the booking's status, rejects with a ConnectError. */
  book(timeoutMs: number): Promise<BookingStatus> {
    const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)] as T;
    const request = create(CreateBookingRequestSchema, {
      idempotencyKey: crypto.randomUUID(),
      tourId: pick(this.tourIds),
      travelers: 1,
      countryCode: "FR",
    });
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        createBookingPath,
        serializeRequest,
        deserializeResponse,
        request,
        pick(this.sessions),
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          // gRPC status codes and Connect's Code share their numbers.
          if (error) reject(new ConnectError(error.details, error.code as number as Code));
          else resolve(response?.booking?.status ?? BookingStatus.UNSPECIFIED);
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }

  async run(options: BookingLoadOptions): Promise<BookingLoadResult> {
    const maxInFlight = options.maxInFlight ?? 2_000;
    const timeoutMs = options.timeoutMs ?? 5_000;
    const latencies: number[] = [];
    const otherOutcomes: Record<string, number> = {};
    const errorsByCode: Record<string, number> = {};
    const errorExamples: Record<string, string> = {};
    const confirmedEachSecond = Array.from({ length: Math.ceil(options.seconds) }, () => 0);
    let started = 0;
    let confirmed = 0;
    let dropped = 0;
    let inFlight = 0;
    const pending = new Set<Promise<void>>();
    const begin = performance.now();

    const fire = () => {
      if (inFlight >= maxInFlight) {
        dropped++;
        return;
      }
      started++;
      inFlight++;
      const sent = performance.now();
      const call = this.book(timeoutMs).then(
        (status) => {
          const now = performance.now();
          latencies.push(now - sent);
          if (status === BookingStatus.CONFIRMED) {
            confirmed++;
            const second = Math.floor((now - begin) / 1000);
            if (second < confirmedEachSecond.length)
              confirmedEachSecond[second] = (confirmedEachSecond[second] ?? 0) + 1;
          } else {
            const name = BookingStatus[status] ?? String(status);
            otherOutcomes[name] = (otherOutcomes[name] ?? 0) + 1;
          }
        },
        (error: unknown) => {
          const code =
            error instanceof ConnectError ? (Code[error.code] ?? String(error.code)) : String(error);
          errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
          errorExamples[code] ??= error instanceof Error ? error.message : String(error);
        },
      );
      const tracked = call.finally(() => {
        inFlight--;
        pending.delete(tracked);
      });
      pending.add(tracked);
    };

    await runOpenLoop({
      rate: options.rate,
      seconds: options.seconds,
      start: fire,
      signal: options.signal,
      onSecond: (second) =>
        options.onSecond?.(
          `${String(second).padStart(4)} s  offered ${options.rate}/s  confirmed ${confirmedEachSecond[second - 1] ?? 0}/s` +
            `  in flight ${inFlight}  errors ${Object.values(errorsByCode).reduce((a, b) => a + b, 0)}  dropped ${dropped}`,
        ),
    });
    await Promise.all(pending);
    const confirmedInTime = confirmedEachSecond.reduce((a, b) => a + b, 0);
    return {
      offeredRate: options.rate,
      seconds: options.seconds,
      started,
      confirmed,
      confirmedPerSecond: confirmedInTime / options.seconds,
      otherOutcomes,
      errorsByCode,
      errorExamples,
      dropped,
      latency: percentiles(latencies),
      confirmedEachSecond,
    };
  }
}
