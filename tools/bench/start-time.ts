/**
 * Benchmark: how long the whole local stack takes from the first process spawned to the first confirmed
 * booking through the gateway. Every service starts at once (as `npm run demo` does) on a database that does
 * not exist yet, so the time includes creating and migrating each database, seeding the catalog and the demo
 * users, and the first sign-in and booking. Postgres and NATS are already running.
 *
 *   npm run bench:start -- [--repeat 3] [--runner tsx|dist]
 */
import { parseArgs } from "node:util";
import { BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { type Runner, startBenchStack } from "./bench-stack.js";
import { BookingClient } from "./booking-load.js";
import { describeMachine, loadAverage } from "./proc.js";
import { fixed, isMain, table, writeResult } from "./report.js";

export interface StartTime {
  /** Spawn to every service logging "serving". */
  servingMs: number;
  /** Spawn to the first CreateBooking answered CONFIRMED. */
  firstConfirmedMs: number;
  loadAverage: number;
}

export async function measureStartTime(runner: Runner): Promise<StartTime> {
  const begin = performance.now();
  const stack = await startBenchStack({ runner });
  try {
    const servingMs = performance.now() - begin;
    const client = await BookingClient.connect(stack.gatewayUrl);
    for (;;) {
      const status = await client.book(5_000).catch(() => undefined);
      if (status === BookingStatus.CONFIRMED) break;
      if (performance.now() - begin > 120_000) throw new Error("no booking was confirmed within 120 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
      servingMs: fixed(servingMs),
      firstConfirmedMs: fixed(performance.now() - begin),
      loadAverage: loadAverage(),
    };
  } finally {
    await stack.stop();
  }
}

export async function benchStartTime(runner: Runner, repeat: number, log: (line: string) => void) {
  const runs: StartTime[] = [];
  for (let round = 1; round <= repeat; round++) {
    const run = await measureStartTime(runner);
    runs.push(run);
    log(
      `  start ${round}/${repeat}: serving after ${(run.servingMs / 1000).toFixed(1)} s, first confirmed booking after ` +
        `${(run.firstConfirmedMs / 1000).toFixed(1)} s (load ${run.loadAverage})`,
    );
  }
  const sorted = [...runs].sort((a, b) => a.firstConfirmedMs - b.firstConfirmedMs);
  const median = sorted[Math.floor(sorted.length / 2)] ?? {
    servingMs: 0,
    firstConfirmedMs: 0,
    loadAverage: 0,
  };
  return { runner, runs, median };
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { repeat: { type: "string", default: "3" }, runner: { type: "string", default: "tsx" } },
  });
  const runner = values.runner === "dist" ? "dist" : "tsx";
  const result = await benchStartTime(runner, Number(values.repeat), (line) => console.log(line));
  console.log(
    `\nstart time — services run by ${runner}; ${describeMachine()}; load average ${loadAverage()}\n`,
  );
  console.log(
    table(
      ["run", "all serving s", "first confirmed booking s"],
      result.runs.map((run, index) => [
        index + 1,
        fixed(run.servingMs / 1000, 1),
        fixed(run.firstConfirmedMs / 1000, 1),
      ]),
    ),
  );
  console.log(
    `\nwritten to ${writeResult("start-time", { date: new Date().toISOString(), machine: describeMachine(), ...result })}`,
  );
  process.exit(0);
}
