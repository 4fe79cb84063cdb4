/**
 * `npm run bench`: every benchmark in one run, each figure beside its DESIGN target, written to
 * `bench-results/bench.json`. Run it with a raised priority on a shared machine, e.g.
 * `sudo nice -n -15 npm run bench` (the stack's Postgres backends are given the same priority).
 *
 *   npm run bench -- [--seconds 60] [--parts platform,booking,events,start] [--runner dist|tsx]
 *
 * The services run as they ship (`dist`, the default: the bundles, built first, with the image's Node flags)
 * or from their TypeScript through tsx, as in development (`--runner tsx`).
 *
 * Each part also runs alone: bench:platform, bench:booking, bench:events, bench:memory, bench:start.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseRunner, prepareRunner } from "./bench-stack.js";
import { type BookingFlowResult, benchBookingFlow, formatBookingFlow } from "./booking-flow.js";
import {
  benchPlatformOverhead,
  formatPlatformOverhead,
  type PlatformOverheadResult,
} from "./platform-overhead.js";
import { describeMachine, loadAverage } from "./proc.js";
import { fixed, table, writeResult } from "./report.js";
import { benchStartTime } from "./start-time.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    "step-seconds": { type: "string", default: "10" },
    "start-rate": { type: "string", default: "40" },
    parts: { type: "string", default: "platform,booking,events,start" },
    runner: { type: "string", default: "dist" },
    "start-repeat": { type: "string", default: "3" },
  },
});
const parts = new Set(values.parts.split(","));
const runner = parseRunner(values.runner);
if (parts.has("booking") || parts.has("start")) await prepareRunner(runner);
const seconds = Number(values.seconds);
const say = (line = "") => console.log(line);
const started = new Date();
const loadAtStart = loadAverage();

const EVENT_PATH_SCRIPT = "tools/bench/event-path.ts";
const EVENT_PATH_RESULT = "bench-results/event-path.json";

interface EventPathResult {
  latency?: { ratePerSecond?: number; p50Ms?: number; p99Ms?: number };
  relay?: { eventsPerSecond?: number };
}

/** The event-path benchmark is its own script; its figures come from the JSON it writes. */
function runEventPath(): EventPathResult | "missing" | "failed" {
  if (!existsSync(EVENT_PATH_SCRIPT)) return "missing";
  const before = existsSync(EVENT_PATH_RESULT) ? statSync(EVENT_PATH_RESULT).mtimeMs : 0;
  const run = spawnSync(process.execPath, ["--import", "tsx", EVENT_PATH_SCRIPT], { stdio: "inherit" });
  if (run.status !== 0 || !existsSync(EVENT_PATH_RESULT) || statSync(EVENT_PATH_RESULT).mtimeMs <= before)
    return "failed";
  return JSON.parse(readFileSync(EVENT_PATH_RESULT, "utf8")) as EventPathResult;
}

let platform: PlatformOverheadResult | undefined;
let booking: BookingFlowResult | undefined;
let events: ReturnType<typeof runEventPath> | undefined;
let start: Awaited<ReturnType<typeof benchStartTime>> | undefined;

if (parts.has("platform")) {
  say("\n## 1. platform overhead");
  platform = await benchPlatformOverhead({ seconds: 5, rounds: 3, concurrency: 64, log: say });
  say(formatPlatformOverhead(platform));
}
if (parts.has("booking")) {
  say(`\n## 2. booking flow and 4. memory (${seconds} s runs, services run by ${runner})`);
  booking = await benchBookingFlow({
    seconds,
    stepSeconds: Number(values["step-seconds"]),
    startRate: Number(values["start-rate"]),
    runner,
    log: say,
  });
  say(formatBookingFlow(booking));
}
if (parts.has("events")) {
  say("\n## 3. event path");
  events = runEventPath();
  if (events === "missing") say(`skipped: ${EVENT_PATH_SCRIPT} does not exist yet`);
  if (events === "failed") say(`${EVENT_PATH_SCRIPT} failed or wrote no ${EVENT_PATH_RESULT}`);
}
if (parts.has("start")) {
  say("\n## 5. start");
  start = await benchStartTime(runner, Number(values["start-repeat"]), say);
}

type Row = [what: string, measured: string, target: string, met: string];
const rows: Row[] = [];
const verdict = (met: boolean | undefined) => (met === undefined ? "—" : met ? "yes" : "NO");
if (platform) {
  rows.push([
    "platform overhead: platform echo / bare grpc-js echo, calls/s",
    `${platform.ratio.toFixed(2)}×`,
    "≥ 0.85×",
    verdict(platform.met),
  ]);
}
if (booking) {
  const sustained = booking.sustained;
  const fullLength = booking.search.filter((step) => step.seconds === seconds);
  const bestFullLength = [...fullLength].sort((a, b) => b.confirmedPerSecond - a.confirmedPerSecond)[0];
  const noneKeptUp = bestFullLength
    ? `none kept up; best ${seconds} s run confirmed ${fixed(bestFullLength.confirmedPerSecond)}/s of ` +
      `${bestFullLength.offeredRate}/s offered, p99 ${fixed(bestFullLength.latency.p99Ms)} ms`
    : "none kept up";
  rows.push([
    `booking flow: confirmed bookings/s sustained ${seconds} s`,
    sustained ? `${fixed(sustained.confirmedPerSecond)} (offered ${sustained.offeredRate}/s)` : noneKeptUp,
    "≥ 400",
    verdict((sustained?.confirmedPerSecond ?? 0) >= 400),
  ]);
  const half = booking.halfRate;
  rows.push([
    `booking flow: CreateBooking p50 / p95 / p99 at half ${sustained ? "that rate" : "the last rate tried"}${half ? ` (${half.offeredRate}/s)` : ""}`,
    half
      ? `${fixed(half.latency.p50Ms)} / ${fixed(half.latency.p95Ms)} / ${fixed(half.latency.p99Ms)} ms`
      : "not run",
    "p99 ≤ 150 ms",
    verdict(half ? half.latency.p99Ms <= 150 : undefined),
  ]);
  const worst = [...booking.memory].sort((a, b) => b.peakMb - a.peakMb)[0];
  rows.push([
    "memory: highest peak RSS of a service under that load",
    worst ? `${worst.peakMb} MB (${worst.service}; idle ${worst.idleMb} MB)` : "not measured",
    "≤ 150 MB",
    verdict(worst ? worst.peakMb <= 150 : undefined),
  ]);
}
if (events && typeof events !== "string") {
  rows.push([
    `event path: outbox → consumer effect p99 at ${events.latency?.ratePerSecond ?? "?"} events/s`,
    `${events.latency?.p99Ms ?? "?"} ms`,
    "≤ 50 ms",
    verdict(events.latency?.p99Ms === undefined ? undefined : events.latency.p99Ms <= 50),
  ]);
  rows.push([
    "event path: relay throughput",
    `${events.relay?.eventsPerSecond ?? "?"} events/s`,
    "≥ 5,000",
    verdict(events.relay?.eventsPerSecond === undefined ? undefined : events.relay.eventsPerSecond >= 5_000),
  ]);
} else if (parts.has("events")) {
  rows.push(["event path", events === "missing" ? "not built yet" : "failed", "p99 ≤ 50 ms; ≥ 5,000/s", "—"]);
}
if (start) {
  rows.push([
    "start: whole local stack to first confirmed booking (median)",
    `${(start.median.firstConfirmedMs / 1000).toFixed(1)} s`,
    "≤ 20 s",
    verdict(start.median.firstConfirmedMs <= 20_000),
  ]);
}

const machine = describeMachine();
const loadAtEnd = loadAverage();
say(
  `\n## Results — ${machine}; load average ${loadAtStart} at start, ${loadAtEnd} at end; services run by ${runner}`,
);
if (booking) say(`booking client: ${booking.client}`);
say(table(["what", "measured", "DESIGN target", "met"], rows));
const path = writeResult("bench", {
  date: started.toISOString(),
  machine,
  loadAverage: { start: loadAtStart, end: loadAtEnd },
  runner,
  summary: rows.map(([what, measured, target, met]) => ({ what, measured, target, met })),
  platform,
  booking,
  events,
  start,
});
say(`\nwritten to ${path}`);
process.exit(0);
