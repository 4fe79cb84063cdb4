/**
 * The chaos run: the whole stack as self-restarting processes on private databases and a private nats-server, a
 * steady load through the gateway, and meanwhile each service SIGKILLed once, NATS restarted once and payment
 * stalled (slow, then down) for a while. Then it lets the system settle and checks the invariants from the
 * databases. Nothing shared on the machine is touched: ports are free ones, databases and NATS are its own.
 */
import { generateKeyPairSync } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { PaymentFaultService } from "@tourmesh/gen/tourmesh/payment/v1/payment_faults_pb.js";
import { copyFlagFile, startNatsServer } from "@tourmesh/platform/testing";
import { type ServiceName, type ServiceProcess, type Stack, startStack } from "@tourmesh/stack";
import type pg from "pg";
import { type LoadSummary, runLoad } from "../load/load-generator.js";
import { type ChaosCheck, type ChaosDatabases, checkInvariants, readChaosRows } from "./invariants.js";

export interface ChaosOptions {
  /** Least time the load runs; it also runs until every fault has been played and recovered from. */
  loadSeconds: number;
  /** Requests per second through the gateway. */
  rate: number;
  /** How long payment is slow, then how long it is down. */
  paymentStallMs: number;
  /**
   * Kill the next service this long after the previous one, without waiting for it to come back (restarts
   * then overlap: a shorter run). Unset: each service is back before the next is killed.
   */
  overlappingKillsEveryMs?: number;
  /** Longest wait for the system to settle after the load. */
  settleTimeoutMs: number;
  /** Progress lines (faults, settling); service logs are kept out of it. */
  log?: (line: string) => void;
}

export interface ChaosFaults {
  /** Services SIGKILLed that came back serving on their port. */
  killedAndBack: string[];
  natsRestarted: boolean;
  paymentStalled: boolean;
}

export interface ChaosResult {
  faults: ChaosFaults;
  load: LoadSummary;
  check: ChaosCheck;
  settledInMs: number;
}

const readyTimeoutMs = 60_000;

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGKILL (no drain, no goodbye), then waits until the launcher has restarted it and it serves again. */
async function killAndAwaitRestart(running: ServiceProcess): Promise<void> {
  const restartsBefore = running.restarts();
  running.process.kill("SIGKILL");
  // ready() still answers for the killed process until the launcher sees the exit, so wait for that first.
  const deadline = Date.now() + readyTimeoutMs;
  while (running.restarts() === restartsBefore) {
    if (Date.now() > deadline) throw new Error(`${running.name} was not restarted`);
    await sleep(50);
  }
  await within(running.ready(), readyTimeoutMs, `${running.name} serving again`);
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {});
  const cleanups: Array<() => Promise<unknown>> = [];
  // Service output is kept (the last lines) to explain a failure, not printed.
  const serviceLines: string[] = [];
  try {
    const nats = await startNatsServer();
    cleanups.push(() => nats.close());
    // A signing key that outlives identity's restart, as in production: with the ephemeral default, every token
    // signed before the kill would be refused once the verifiers refetch the key set.
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    // Payment's faults are flags in this run's own copy of the flag file, flipped for every replica at once.
    const flags = await copyFlagFile();
    cleanups.push(() => flags.remove());
    // Some declines, so bookings also end PAYMENT_FAILED and give their seats back.
    await flags.serve("payment-decline-rate", "tenth");
    const stack = await startStack({
      prefix: "chaos",
      natsUrl: nats.url,
      restart: true,
      readyTimeoutMs: readyTimeoutMs * 2,
      // Service output is kept (the last lines) to explain a failure, not printed.
      logs: (service, line) => {
        serviceLines.push(`${service.padEnd(12)}│ ${line}`);
        if (serviceLines.length > 200) serviceLines.shift();
      },
      env: {
        "*": { SHUTDOWN_GRACE_MS: "2000", ...flags.env },
        identity: {
          JWT_SIGNING_KEYS: JSON.stringify([{ ...privateKey.export({ format: "jwk" }), kid: "chaos" }]),
        },
        // Quick retries so the run settles in seconds, not in the production minutes.
        booking: {
          BOOKING_RETRY_BASE_MS: "200",
          BOOKING_RETRY_MAX_MS: "2000",
          BOOKING_PAYMENT_MAX_ATTEMPTS: "30",
          BOOKING_BREAKER_HALF_OPEN_MS: "1000",
        },
        gateway: { RATE_LIMIT_PER_IP_RPS: "0", RATE_LIMIT_PER_USER_RPS: "0" },
      },
    });
    cleanups.push(() => stack.stop());
    const running = [...stack.processes.values()];
    log(`stack serving: ${running.map((service) => `${service.name}:${service.port}`).join(" ")}`);

    const faults: ChaosFaults = { killedAndBack: [], natsRestarted: false, paymentStalled: false };
    const loadStop = new AbortController();
    const loadStarted = Date.now();
    const load = runLoad({
      gatewayUrl: stack.gatewayUrl,
      rate: options.rate,
      // The abort ends it; the duration is only a ceiling.
      durationSeconds: 3_600,
      users: ["alice", "bob"].map((username) => ({ username, password: "tourmesh-demo" })),
      // Bookings and cancellations are what the invariants are about, so more of them than in the usual mix.
      mix: {
        listTours: 20,
        getTour: 15,
        quotePrice: 10,
        createBooking: 40,
        listBookings: 5,
        cancelBooking: 10,
      },
      maxInFlight: 200,
      signal: loadStop.signal,
    });
    // A load that fails (e.g. sign-in refused) must not leave the faults running against nothing.
    load.catch(() => loadStop.abort());

    try {
      // Let some bookings through before the first fault.
      await sleep(2_000);
      const kills: Array<Promise<void>> = [];
      for (const service of running) {
        log(`SIGKILL ${service.name}`);
        const back = killAndAwaitRestart(service).then(() => {
          faults.killedAndBack.push(service.name);
          log(`${service.name} serving again`);
        });
        kills.push(back);
        // Awaited below with the others; until then a failure must not count as an unhandled rejection.
        back.catch(() => {});
        if (options.overlappingKillsEveryMs === undefined) await back;
        await sleep(options.overlappingKillsEveryMs ?? 500);
      }
      await Promise.all(kills);

      log("restarting NATS");
      await nats.stop();
      await sleep(1_000);
      await nats.start();
      faults.natsRestarted = true;
      log("NATS back");

      const paymentFaults = createClient(
        PaymentFaultService,
        createGrpcTransport({ baseUrl: `http://${stack.address("payment")}` }),
      );
      /** Flips the flags, and waits until payment has the faults they give. */
      const paymentFaultsBecome = async ({ stalled, outage }: { stalled: boolean; outage: boolean }) => {
        await flags.serve("payment-latency-ms", stalled ? "stalled" : "none");
        await flags.serve("payment-outage", outage ? "on" : "off");
        for (;;) {
          const inForce = (await paymentFaults.getFaults({}).catch(() => undefined))?.faults;
          if (inForce && inForce.latencyMs > 0 === stalled && inForce.outage === outage) return;
          await sleep(50);
        }
      };
      log(`payment slow (${options.paymentStallMs} ms), then down (${options.paymentStallMs} ms)`);
      // Stalled is 3 s, slower than booking's charge deadline (2 s): charges land after booking gave up on them.
      await paymentFaultsBecome({ stalled: true, outage: false });
      await sleep(options.paymentStallMs);
      await paymentFaultsBecome({ stalled: false, outage: true });
      await sleep(options.paymentStallMs);
      await paymentFaultsBecome({ stalled: false, outage: false });
      faults.paymentStalled = true;
      log("payment back");

      const remaining = options.loadSeconds * 1_000 - (Date.now() - loadStarted);
      if (remaining > 0) await sleep(remaining);
    } finally {
      loadStop.abort();
    }
    const loadSummary = await load;
    log(`load done: ${loadSummary.completed} answers, ${loadSummary.confirmedBookings} confirmed at once`);

    const chaosDatabases: ChaosDatabases = {
      catalog: chaosDatabase(stack, "catalog"),
      booking: chaosDatabase(stack, "booking"),
      payment: chaosDatabase(stack, "payment"),
      notification: chaosDatabase(stack, "notification"),
    };
    const settleStart = Date.now();
    let check = checkInvariants(await readChaosRows(chaosDatabases));
    while (
      (check.violations.length > 0 || check.counts.bookingsWithWork > 0) &&
      Date.now() - settleStart < options.settleTimeoutMs
    ) {
      await sleep(500);
      check = checkInvariants(await readChaosRows(chaosDatabases));
    }
    const settledInMs = Date.now() - settleStart;
    if (check.violations.length > 0) {
      log(`not settled after ${settledInMs} ms; last service lines:\n${serviceLines.slice(-40).join("\n")}`);
    }
    return { faults, load: loadSummary, check, settledInMs };
  } catch (error) {
    log(`chaos run failed; last service lines:\n${serviceLines.slice(-40).join("\n")}`);
    throw error;
  } finally {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  }
}

/** A service's database, as the invariants read it. */
const chaosDatabase = (stack: Stack, service: ServiceName) => ({
  query: <Row extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[]) =>
    stack.query<Row>(service, sql, values),
});

export function formatResult(result: ChaosResult): string {
  const { counts, violations } = result.check;
  const format = (record: Record<string, number>) =>
    Object.entries(record)
      .map(([key, value]) => `${key} ${value}`)
      .join(", ") || "none";
  return [
    `faults: killed and back ${result.faults.killedAndBack.join(", ") || "none"}; NATS restarted ${result.faults.natsRestarted}; payment stalled ${result.faults.paymentStalled}`,
    `load: ${result.load.completed} answers in ${result.load.seconds.toFixed(1)} s, ${result.load.confirmedBookings} bookings confirmed at once, ${result.load.dropped} dropped`,
    `createBooking: ${result.load.operations.createBooking?.count ?? 0} calls, errors ${format(result.load.operations.createBooking?.errorsByCode ?? {})}`,
    `settled in ${(result.settledInMs / 1000).toFixed(1)} s`,
    `bookings: ${format(counts.bookings)} (${counts.bookingsWithWork} still owing work)`,
    `payments: ${format(counts.payments)}`,
    `BOOKING_CONFIRMED notifications: ${counts.confirmedNotifications}`,
    `held reservations: ${counts.heldReservations} (${counts.heldSeats} seats)`,
    `violations: ${violations.length}`,
    ...violations.slice(0, 50).map((violation) => `  ${violation}`),
  ].join("\n");
}
