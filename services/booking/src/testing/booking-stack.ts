/**
 * What the booking tests run against: catalog, payment and booking as real processes, each on its own fresh
 * Postgres database, and a stand-in token issuer whose JWKS booking trusts.
 */
import { type Booking, BookingService, BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { PaymentFaultService } from "@tourmesh/gen/tourmesh/payment/v1/payment_faults_pb.js";
import { PaymentService } from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { type CallOptions, createClient, type ServiceClient } from "@tourmesh/platform";
import {
  createTestDatabase,
  type ServiceProcess,
  startServiceProcess,
  startTestTokenIssuer,
  type TestDatabase,
  type TestTokenIssuer,
} from "@tourmesh/platform/testing";

export interface BookingStack {
  databases: { catalog: TestDatabase; payment: TestDatabase; booking: TestDatabase };
  processes: { catalog: ServiceProcess; payment: ServiceProcess; booking: ServiceProcess };
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
}: {
  paymentEnv?: Record<string, string>;
  bookingEnv?: Record<string, string>;
} = {}): Promise<BookingStack> {
  const cleanups: Array<() => unknown> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const tokens = await startTestTokenIssuer();
    cleanups.push(() => tokens.stop());
    const [catalogDb, paymentDb, bookingDb] = await Promise.all(
      ["booking_catalog", "booking_payment", "booking"].map((prefix) => createTestDatabase(prefix)),
    );
    const databases = {
      catalog: catalogDb as TestDatabase,
      payment: paymentDb as TestDatabase,
      booking: bookingDb as TestDatabase,
    };
    for (const db of Object.values(databases)) cleanups.push(() => db.drop());

    const started = (service: ServiceProcess) => {
      cleanups.push(() => service.stop());
      return service;
    };
    const [catalogProcess, paymentProcess] = await Promise.all([
      startServiceProcess("services/catalog/src/main.ts", { DATABASE_URL: databases.catalog.url }).then(
        started,
      ),
      startServiceProcess("services/payment/src/main.ts", {
        DATABASE_URL: databases.payment.url,
        ...paymentEnv,
      }).then(started),
    ]);
    const startBooking = () =>
      startServiceProcess("services/booking/src/main.ts", {
        DATABASE_URL: databases.booking.url,
        CATALOG_ADDR: `127.0.0.1:${catalogProcess.grpcPort}`,
        PAYMENT_ADDR: `127.0.0.1:${paymentProcess.grpcPort}`,
        ...tokens.env,
        ...bookingEnv,
      }).then(started);
    const bookingProcess = await startBooking();
    const everyProcess = [catalogProcess, paymentProcess, bookingProcess];

    // No transport retries in the test's own clients: each answer is seen as it is.
    const client = <S extends Parameters<typeof createClient>[0]>(service: S, process: ServiceProcess) => {
      const typed = createClient(service, `127.0.0.1:${process.grpcPort}`, { retries: false });
      cleanups.push(() => typed.close());
      return typed;
    };
    const catalog = client(CatalogService, catalogProcess);
    const as = async (userId: string, options: CallOptions = {}): Promise<CallOptions> => {
      const token = await tokens.sign(userId);
      return { ...options, headers: { ...options.headers, authorization: `Bearer ${token}` } };
    };

    const stack: BookingStack = {
      databases,
      processes: { catalog: catalogProcess, payment: paymentProcess, booking: bookingProcess },
      tokens,
      booking: client(BookingService, bookingProcess),
      catalog,
      payment: client(PaymentService, paymentProcess),
      faults: client(PaymentFaultService, paymentProcess),
      as,
      async restartBooking(whileStopped, signal = "SIGTERM") {
        const exitCode = await stack.processes.booking.stop(signal);
        stack.booking.close();
        await whileStopped?.();
        stack.processes.booking = await startBooking();
        everyProcess.push(stack.processes.booking);
        stack.booking = client(BookingService, stack.processes.booking);
        return exitCode;
      },
      errorLogs: () =>
        everyProcess.flatMap((service) =>
          service.logs.filter((line) => line.level === "error" || line.level === "fatal"),
        ),
      async seatsAvailable(tourId) {
        return (await catalog.getTour({ tourId })).tour?.seatsAvailable ?? Number.NaN;
      },
      async waitForStatus(bookingId, userId, status, timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        const options = await as(userId);
        for (;;) {
          const found = (await stack.booking.getBooking({ bookingId }, options)).booking;
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
      stop,
    };
    return stack;
  } catch (error) {
    await stop();
    throw error;
  }
}
