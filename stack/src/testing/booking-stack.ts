/**
 * What the booking tests run against: catalog, payment and booking (and any other services a spec names) as
 * real processes of one stack, each on its own fresh Postgres database, and a stand-in token issuer whose key
 * set every service trusts.
 */
import { type Booking, BookingService, BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { PaymentFaultService } from "@tourmesh/gen/tourmesh/payment/v1/payment_faults_pb.js";
import { PaymentService } from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { type CallOptions, createClient, type ServiceClient } from "@tourmesh/platform";
import { startTestTokenIssuer, type TestTokenIssuer } from "@tourmesh/platform/testing";
import type pg from "pg";
import type { ServiceProcess } from "../launcher.js";
import { type Stack, startStack } from "../stack.js";
import type { ServiceName } from "../topology.js";

type Core = "catalog" | "payment" | "booking";

export interface BookingStack {
  stack: Stack;
  databases: Record<
    Core,
    { query<Row extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<Row[]> }
  >;
  readonly processes: Record<Core, ServiceProcess>;
  tokens: TestTokenIssuer;
  booking: ServiceClient<typeof BookingService>;
  catalog: ServiceClient<typeof CatalogService>;
  payment: ServiceClient<typeof PaymentService>;
  faults: ServiceClient<typeof PaymentFaultService>;
  /** Call options that authenticate as `userId`. */
  as(userId: string, options?: CallOptions): Promise<CallOptions>;
  seatsAvailable(tourId: string): Promise<number>;
  /**
   * Stops booking with `signal` (SIGTERM, as an orchestrator would; SIGKILL for a crash), and starts a new
   * booking process on the same database, after running `whileStopped`; `booking` then talks to the new one.
   * Resolves with the old process's exit code.
   */
  restartBooking(whileStopped?: () => Promise<unknown>, signal?: NodeJS.Signals): Promise<number | null>;
  /** Log lines at level error or above from the services, restarted ones included. */
  errorLogs(): Array<Record<string, unknown>>;
  /** Polls GetBooking until the booking has `status`; fails after `timeoutMs`. */
  waitForStatus(
    bookingId: string,
    userId: string,
    status: BookingStatus,
    timeoutMs?: number,
  ): Promise<Booking>;
  stop(): Promise<void>;
}

export async function startBookingStack({
  paymentEnv = {},
  bookingEnv = {},
  with: others = [],
}: {
  paymentEnv?: Record<string, string>;
  bookingEnv?: Record<string, string>;
  /** More services to run in the same stack, e.g. review or notification. */
  with?: readonly ServiceName[];
} = {}): Promise<BookingStack> {
  const tokens = await startTestTokenIssuer();
  let stack: Stack;
  try {
    stack = await startStack({
      services: ["catalog", "payment", "booking", ...others],
      prefix: "booking",
      jwksUrl: tokens.env.JWKS_URL,
      env: { "*": tokens.env, payment: paymentEnv, booking: bookingEnv },
    });
  } catch (error) {
    await tokens.stop();
    throw error;
  }
  const clients: Array<{ close(): void }> = [];
  // No transport retries in the test's own clients: each answer is seen as it is.
  const client = <S extends Parameters<typeof createClient>[0]>(service: S, name: ServiceName) => {
    const typed = createClient(service, stack.address(name), { retries: false });
    clients.push(typed);
    return typed;
  };
  const catalog = client(CatalogService, "catalog");
  const as = async (userId: string, options: CallOptions = {}): Promise<CallOptions> => {
    const token = await tokens.sign(userId);
    return { ...options, headers: { ...options.headers, authorization: `Bearer ${token}` } };
  };
  const database = (service: Core) => ({
    query: <Row extends pg.QueryResultRow>(sql: string, values?: unknown[]) =>
      stack.query<Row>(service, sql, values),
  });

  const bookingStack: BookingStack = {
    stack,
    databases: { catalog: database("catalog"), payment: database("payment"), booking: database("booking") },
    get processes() {
      return {
        catalog: stack.process("catalog"),
        payment: stack.process("payment"),
        booking: stack.process("booking"),
      };
    },
    tokens,
    booking: client(BookingService, "booking"),
    catalog,
    payment: client(PaymentService, "payment"),
    faults: client(PaymentFaultService, "payment"),
    as,
    async restartBooking(whileStopped, signal = "SIGTERM") {
      bookingStack.booking.close();
      const exitCode = await stack.restart("booking", { signal, ...(whileStopped ? { whileStopped } : {}) });
      bookingStack.booking = client(BookingService, "booking");
      return exitCode;
    },
    errorLogs: () => stack.errorLogs(),
    async seatsAvailable(tourId) {
      return (await catalog.getTour({ tourId })).tour?.seats?.available ?? Number.NaN;
    },
    async waitForStatus(bookingId, userId, status, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      const options = await as(userId);
      for (;;) {
        const found = (await bookingStack.booking.getBooking({ bookingId }, options)).booking;
        if (found?.status === status) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `booking ${bookingId} is ${BookingStatus[found?.status ?? 0]} after ${timeoutMs} ms, ` +
              `not ${BookingStatus[status]}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      for (const typed of clients) typed.close();
      await stack.stop();
      await tokens.stop();
    },
  };
  return bookingStack;
}
