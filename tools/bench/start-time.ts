/**
 * Benchmark: how long the whole local stack takes from the first process spawned to the first confirmed
 * booking through the gateway. Every service starts at once (as `npm run demo` does) on a database that does
 * not exist yet, so the time includes creating and migrating each database, seeding the catalog and the demo
 * users, and the first sign-in and booking. Postgres and NATS are already running.
 *
 *   npm run bench:start -- [--repeat 3] [--runner dist|tsx|both]
 *
 * `dist` (the default) runs the services as they ship: the bundles, built first, with the image's flags;
 * `tsx` runs their TypeScript as in development; `both` alternates the two, one round of each at a time.
 */
import { parseArgs } from "node:util";
import { BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { parseRunner, prepareRunner, type Runner, startBenchStack } from "./bench-stack.js";
import { BookingClient } from "./booking-load.js";
import { cpuSeconds, describeMachine, loadAverage } from "./proc.js";
import { fixed, isMain, table, writeResult } from "./report.js";

export interface StartTime {
  /** Spawn to every service logging "serving". */
  servingMs: number;
  /** CPU seconds the services had used by then, all together: what other load on the machine disturbs little. */
  servingCpuSeconds: number;
  /** Spawn to the first CreateBooking answered CONFIRMED. */
  firstConfirmedMs: number;
  loadAverage: number;
}

export async function measureStartTime(runner: Runner): Promise<StartTime> {
  const begin = performance.now();
  const stack = await startBenchStack({ runner });
  try {
    const servingMs = performance.now() - begin;
    const servingCpuSeconds = [...stack.processes.values()].reduce(
      (sum, service) => sum + cpuSeconds(service.process.pid ?? 0),
      0,
    );
    const client = await BookingClient.connect(stack.gatewayUrl);
    try {
      for (;;) {
        const status = await client.book(5_000).catch(() => undefined);
        if (status === BookingStatus.CONFIRMED) break;
        if (performance.now() - begin > 120_000) throw new Error("no booking was confirmed within 120 s");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      client.close();
    }
    return {
      servingMs: fixed(servingMs),
      servingCpuSeconds: fixed(servingCpuSeconds, 1),
      firstConfirmedMs: fixed(performance.now() - begin),
      loadAverage: loadAverage(),
    };
  } finally {
    await stack.stop();
  }
}

export interface StartTimeResult {
  runner: Runner;
  runs: StartTime[];
  median: StartTime;
}

/** `repeat` starts with each runner, taking turns, so that other load on the machine falls on all of them. */
export async function benchStartTimes(
  runners: Runner[],
  repeat: number,
  log: (line: string) => void,
): Promise<StartTimeResult[]> {
  const runs = new Map<Runner, StartTime[]>(runners.map((runner) => [runner, []]));
  for (let round = 1; round <= repeat; round++) {
    for (const runner of runners) {
      const run = await measureStartTime(runner);
      runs.get(runner)?.push(run);
      log(
        `  start ${round}/${repeat} (${runner}): serving after ${(run.servingMs / 1000).toFixed(1)} s ` +
          `(${run.servingCpuSeconds} CPU s), first confirmed booking after ` +
          `${(run.firstConfirmedMs / 1000).toFixed(1)} s (load ${run.loadAverage})`,
      );
    }
  }
  return runners.map((runner) => {
    const sorted = [...(runs.get(runner) ?? [])].sort((a, b) => a.firstConfirmedMs - b.firstConfirmedMs);
    const median = sorted[Math.floor(sorted.length / 2)];
    if (!median) throw new Error("no start was measured: --repeat must be at least 1");
    return { runner, runs: runs.get(runner) ?? [], median };
  });
}

export async function benchStartTime(
  runner: Runner,
  repeat: number,
  log: (line: string) => void,
): Promise<StartTimeResult> {
  const [result] = await benchStartTimes([runner], repeat, log);
  if (!result) throw new Error("no start time was measured");
  return result;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { repeat: { type: "string", default: "3" }, runner: { type: "string", default: "dist" } },
  });
  const runners = values.runner === "both" ? (["dist", "tsx"] as const) : [parseRunner(values.runner)];
  for (const runner of runners) await prepareRunner(runner);
  const results = await benchStartTimes([...runners], Number(values.repeat), (line) => console.log(line));
  console.log(`\nstart time — ${describeMachine()}; load average ${loadAverage()}\n`);
  console.log(
    table(
      [
        "services run by",
        "run",
        "all serving s",
        "CPU s of the services by then",
        "first confirmed booking s",
      ],
      results.flatMap((result) =>
        result.runs.map((run, index) => [
          result.runner,
          index + 1,
          fixed(run.servingMs / 1000, 1),
          run.servingCpuSeconds,
          fixed(run.firstConfirmedMs / 1000, 1),
        ]),
      ),
    ),
  );
  for (const result of results)
    console.log(
      `median (${result.runner}): first confirmed booking after ${fixed(result.median.firstConfirmedMs / 1000, 1)} s (target ≤ 20 s)`,
    );
  console.log(
    `\nwritten to ${writeResult("start-time", { date: new Date().toISOString(), machine: describeMachine(), results })}`,
  );
  process.exit(0);
}
