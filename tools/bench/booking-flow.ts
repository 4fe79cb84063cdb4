/**
 * Benchmark: the highest rate of confirmed bookings the whole stack sustains (every service, Postgres and NATS
 * on this machine, through the gateway with its rate limits off), the latency of CreateBooking at half that
 * rate, and each service's resident memory under that load.
 *
 * The search offers CreateBooking at a rising rate in short steps while the stack keeps up (see `keptUp`),
 * then runs the best rate for the full `--seconds`; a step after one that fell behind waits for the machine to
 * go quiet, so that it is not measured on the last one's backlog. Tours get a huge capacity first so that seats never run
 * out. Besides rates it reports the CPU each process spent per confirmed booking, read from /proc: the
 * breakdown that says where the time goes, and which other load on a shared machine disturbs far less.
 *
 *   npm run bench:booking -- [--seconds 60] [--step-seconds 10] [--start-rate 40] [--runner dist|tsx]
 *   npm run bench:memory  -- [--seconds 60] [--rate 100] [--runner dist|tsx]   (one fixed rate, memory only)
 *   npm run bench:booking -- --profile [--rate 100] [--seconds 20]   (one fixed rate, CPU profile per service)
 *   --runner dist   (the default) the services as they ship: the bundles, built first, with the image's flags
 *   --runner tsx    the TypeScript through tsx, as in development
 *   --node-args="--max-old-space-size=96"   more Node flags for every service (they win over the image's)
 *   --direct   book straight at the booking service, past the gateway (what the gateway costs)
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Stack } from "@tourmesh/stack";
import {
  databaseConnections,
  parseRunner,
  postgresBackends,
  postgresServerProcesses,
  prepareRunner,
  type Runner,
  startBenchStack,
} from "./bench-stack.js";
import { BookingClient, type BookingLoadResult } from "./booking-load.js";
import {
  CpuMeter,
  describeMachine,
  loadAverage,
  machineCpuSeconds,
  memory,
  pidsNamed,
  shareOwnPriority,
} from "./proc.js";
import { formatProfile, type ProfileSummary, readProfile, summariseProfile } from "./profile-summary.js";
import { fixed, formatCounts, isMain, table, writeResult } from "./report.js";

/** Full-length runs tried, each 15 % below the last, before the search gives up on finding a sustained rate. */
const SUSTAINED_ATTEMPTS = 5;

export const CLIENT_DESCRIPTION = "gRPC (grpc-js over HTTP/2) to the gateway";
const DIRECT_CLIENT_DESCRIPTION = "gRPC (grpc-js) straight to the booking service, gateway bypassed";

/** Kept up: confirmed ≥ 95 % of the offered rate, ≤ 1 % other outcomes or errors, nothing dropped, p99 ≤ 1 s. */
export function keptUp(run: BookingLoadResult): boolean {
  const failures =
    Object.values(run.errorsByCode).reduce((a, b) => a + b, 0) +
    Object.values(run.otherOutcomes).reduce((a, b) => a + b, 0);
  return (
    run.confirmedPerSecond >= 0.95 * run.offeredRate &&
    failures <= 0.01 * Math.max(run.started, 1) &&
    run.dropped === 0 &&
    run.latency.p99Ms <= 1_000
  );
}

export interface CpuBreakdown {
  /** Share of the machine's CPU (all cores) busy during the run, whoever used it. */
  machineBusy: number;
  /** CPU cores each process group kept busy on average. */
  cores: Record<string, number>;
  /** CPU milliseconds each process group spent per confirmed booking. */
  msPerBooking: Record<string, number>;
}

export interface ConnectionUse {
  /** Connections of the service's pool open to its database (most seen). */
  open: number;
  /** Of them, how many were in use on average and at most (sampled every 100 ms): near the pool size = waits. */
  busyMean: number;
  busyMax: number;
}

export interface StepResult extends BookingLoadResult {
  keptUp: boolean;
  databaseConnections: Record<string, ConnectionUse>;
  /** When the step ran, on the monotonic clock V8's profiles use (microseconds). */
  clockMicros: { from: number; to: number };
  loadAverage: number;
  cpu: CpuBreakdown;
}

export interface ServiceMemory {
  service: string;
  /** VmRSS once serving, before any load. */
  idleMb: number;
  /** Highest VmRSS while the load ran (sampled each second). */
  peakMb: number;
  /** VmHWM: the highest resident set size of the process's whole life, start-up included. */
  highWaterMb: number;
  /** VmRSS when the last run ended. */
  endMb: number;
  /**
   * Where the memory is, from the service's own /metrics (sampled every few seconds under load, highest
   * seen): V8's heap as reserved and as used by live objects, and the memory outside it that V8 knows of
   * (Buffers). The rest of the RSS is code, stacks and native allocations (OpenSSL, malloc's arenas).
   */
  heapTotalMb: number;
  heapUsedMb: number;
  externalMb: number;
}

/** Gauges of the service's default Node metrics (prom-client), in MB. */
async function heapMetrics(metricsPort: number): Promise<Record<string, number>> {
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((response) => response.text());
  const gauge = (name: string) =>
    Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  return {
    heapTotalMb: gauge("nodejs_heap_size_total_bytes"),
    heapUsedMb: gauge("nodejs_heap_size_used_bytes"),
    externalMb: gauge("nodejs_external_memory_bytes"),
  };
}

export interface BookingFlowOptions {
  seconds: number;
  stepSeconds: number;
  startRate: number;
  runner: Runner;
  nodeArgs?: string[];
  /** Run one fixed rate for `seconds` instead of searching (for memory or profiles). */
  fixedRate?: number;
  /** Profile every service (node --cpu-prof) into this folder and summarise the measured run's samples. */
  profileDir?: string;
  /** Book straight at the booking service, past the gateway (to measure what the gateway costs). */
  direct?: boolean;
  /** Extra environment for every service. */
  env?: Record<string, string>;
  log: (line: string) => void;
}

export interface BookingFlowResult {
  client: string;
  runner: Runner;
  services: string[];
  search: StepResult[];
  /** The highest offered rate that kept up for the full `seconds`, and what it confirmed. */
  sustained: StepResult | undefined;
  /** Half the sustained rate (or, when none kept up, half the last rate tried) for the full `seconds`. */
  halfRate: StepResult | undefined;
  memory: ServiceMemory[];
  /** Error-level log lines each service wrote during the whole run. */
  errorLogLines: Record<string, number>;
  /** Per service, where its CPU time went while the measured run lasted (with `profileDir`). */
  profiles?: Record<string, ProfileSummary>;
}

/** Follows each service's RSS once a second while load runs, and its heap every few seconds. */
class MemorySampler {
  private static readonly HEAP_EVERY_SECONDS = 5;
  private readonly idle = new Map<string, number>();
  private readonly peak = new Map<string, number>();
  private readonly heap = new Map<string, Record<string, number>>();
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;

  constructor(private readonly stack: Stack) {
    for (const service of stack.processes.values())
      this.idle.set(service.name, memory(service.process.pid ?? 0)?.rssMb ?? 0);
  }

  start(): void {
    this.timer = setInterval(() => this.sample(), 1_000);
  }

  private sample(): void {
    for (const service of this.stack.processes.values()) {
      const rss = memory(service.process.pid ?? 0)?.rssMb ?? 0;
      this.peak.set(service.name, Math.max(this.peak.get(service.name) ?? 0, rss));
    }
    if (this.ticks++ % MemorySampler.HEAP_EVERY_SECONDS === 0) void this.sampleHeap();
  }

  private async sampleHeap(): Promise<void> {
    await Promise.all(
      [...this.stack.processes.values()].map(async (service) => {
        const now = await heapMetrics(service.metricsPort).catch(() => ({}) as Record<string, number>);
        const highest = this.heap.get(service.name) ?? {};
        for (const [name, value] of Object.entries(now))
          if (Number.isFinite(value) && value > (highest[name] ?? 0)) highest[name] = value;
        this.heap.set(service.name, highest);
      }),
    );
  }

  async stop(): Promise<ServiceMemory[]> {
    clearInterval(this.timer);
    this.sample();
    await this.sampleHeap();
    return [...this.stack.processes.values()].map((service) => {
      const now = memory(service.process.pid ?? 0);
      const heap = this.heap.get(service.name) ?? {};
      return {
        service: service.name,
        idleMb: fixed(this.idle.get(service.name) ?? 0),
        peakMb: fixed(this.peak.get(service.name) ?? 0),
        highWaterMb: fixed(now?.peakRssMb ?? 0),
        endMb: fixed(now?.rssMb ?? 0),
        heapTotalMb: fixed(heap.heapTotalMb ?? Number.NaN),
        heapUsedMb: fixed(heap.heapUsedMb ?? Number.NaN),
        externalMb: fixed(heap.externalMb ?? Number.NaN),
      };
    });
  }
}

export async function benchBookingFlow(options: BookingFlowOptions): Promise<BookingFlowResult> {
  const { log } = options;
  log(`starting the stack (${options.runner}) ...`);
  const nodeArgs = [
    ...(options.nodeArgs ?? []),
    ...(options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] : []),
  ];
  const stack = await startBenchStack({
    runner: options.runner,
    nodeArgs,
    ...(options.env ? { env: options.env } : {}),
  });
  const pids = new Map(
    [...stack.processes.values()].map((service) => [service.process.pid ?? 0, service.name]),
  );
  let result: BookingFlowResult | undefined;
  let client: BookingClient | undefined;
  try {
    log(`  ${[...stack.processes.keys()].join(", ")} serving after ${(stack.readyMs / 1000).toFixed(1)} s`);
    // Tours hold 10-60 seats; the benchmark books tens of thousands.
    await stack.query("catalog", "UPDATE tours SET capacity = 100000000, seats_available = 100000000");
    const booking = stack.processes.get("booking");
    client = await BookingClient.connect(
      stack.gatewayUrl,
      options.direct && booking ? `http://127.0.0.1:${booking.port}` : undefined,
    );
    const sampler = new MemorySampler(stack);
    const runStep = stepRunner(stack, client, log);

    // Lets the JIT compile the hot paths and the pools fill before anything is measured.
    log("warming up (10 s at 50/s) ...");
    await client.run({ rate: 50, seconds: 10 });
    sampler.start();

    const search: StepResult[] = [];
    let sustained: StepResult | undefined;
    let halfRate: StepResult | undefined;
    if (options.fixedRate !== undefined) {
      sustained = await runStep(options.fixedRate, options.seconds);
    } else {
      const stepSeconds = Math.min(options.stepSeconds, options.seconds);
      // A short step can keep up where a long run builds a queue: the full-length run has the last word,
      // stepping down until one keeps up.
      let rate = await searchHighestRate(options.startRate, (step) => runStep(step, stepSeconds), search);
      let last: StepResult | undefined;
      for (let attempt = 0; attempt < SUSTAINED_ATTEMPTS && rate > 0; attempt++) {
        log(`sustained run: ${rate}/s for ${options.seconds} s`);
        last = await runStep(rate, options.seconds);
        if (last.keptUp) {
          sustained = last;
          break;
        }
        search.push(last);
        rate = Math.floor(rate * 0.85);
      }
      const reference = sustained ?? last;
      if (reference) {
        const half = Math.max(1, Math.round(reference.offeredRate / 2));
        log(`latency run: half ${sustained ? "that" : "the last"} rate, ${half}/s for ${options.seconds} s`);
        halfRate = await runStep(half, options.seconds);
      }
    }
    result = {
      client: options.direct ? DIRECT_CLIENT_DESCRIPTION : CLIENT_DESCRIPTION,
      runner: options.runner,
      services: [...stack.processes.keys()],
      search,
      sustained,
      halfRate,
      memory: await sampler.stop(),
      errorLogLines: Object.fromEntries(
        [...stack.processes.values()].map((service) => [service.name, service.errorLines()]),
      ),
    };
  } finally {
    client?.close();
    await stack.stop();
  }
  // Profiles are written as the processes exit.
  if (options.profileDir && result.sustained)
    result.profiles = summariseProfiles(options.profileDir, pids, result.sustained);
  return result;
}

/** The main thread's profile of each service (files are named CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile). */
function summariseProfiles(dir: string, pids: Map<number, string>, step: StepResult) {
  const profiles: Record<string, ProfileSummary> = {};
  for (const file of readdirSync(dir)) {
    const [, , , pid, thread] = file.split(".");
    const service = pids.get(Number(pid));
    if (!service || thread !== "0") continue;
    profiles[service] = summariseProfile(readProfile(join(dir, file)), {
      fromMicros: step.clockMicros.from,
      toMicros: step.clockMicros.to,
    });
  }
  return profiles;
}

/** Raises the rate by a quarter while steps keep up, then tries halfway to the first that did not. */
async function searchHighestRate(
  startRate: number,
  step: (rate: number) => Promise<StepResult>,
  results: StepResult[],
): Promise<number> {
  const run = async (rate: number) => {
    const result = await step(rate);
    results.push(result);
    return result.keptUp;
  };
  let rate = startRate;
  let good = 0;
  let bad = 0;
  while (rate <= 5_000) {
    if (!(await run(rate))) {
      bad = rate;
      break;
    }
    good = rate;
    rate = Math.ceil(rate * 1.25);
  }
  if (good === 0) {
    // Not even the start rate: come down until one keeps up.
    for (rate = Math.floor(startRate / 2); rate >= 2; rate = Math.floor(rate / 2)) {
      if (await run(rate)) return rate;
    }
    return 0;
  }
  const middle = Math.round((good + bad) / 2);
  if (bad > 0 && middle > good && middle < bad && (await run(middle))) good = middle;
  return good;
}

/** The machine counts as quiet below this share of its CPU busy (the idle stack keeps about 5 % busy). */
const QUIET_SHARE = 0.25;
const QUIET_WAIT_MAX_MS = 60_000;

/** Resolves after the first second in which the machine was quiet, or after QUIET_WAIT_MAX_MS. */
async function untilQuiet(): Promise<void> {
  const deadline = Date.now() + QUIET_WAIT_MAX_MS;
  let before = machineCpuSeconds();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const now = machineCpuSeconds();
    const busy = (now.busy - before.busy) / Math.max(now.total - before.total, Number.EPSILON);
    before = now;
    if (busy < QUIET_SHARE) return;
  }
}

/** Samples the stack's database connections every 100 ms until stopped. */
function sampleConnections(stack: Stack) {
  const samples = new Map<string, Array<{ open: number; busy: number }>>();
  let sampling = true;
  const loop = (async () => {
    while (sampling) {
      const now = await databaseConnections(stack).catch(
        () => new Map<string, { open: number; busy: number }>(),
      );
      for (const [service, use] of now) samples.set(service, [...(samples.get(service) ?? []), use]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop(): Promise<Record<string, ConnectionUse>> {
      sampling = false;
      await loop;
      const result: Record<string, ConnectionUse> = {};
      for (const [service, uses] of samples) {
        result[service] = {
          open: Math.max(...uses.map((use) => use.open)),
          busyMean: fixed(uses.reduce((sum, use) => sum + use.busy, 0) / uses.length, 1),
          busyMax: Math.max(...uses.map((use) => use.busy)),
        };
      }
      return result;
    },
  };
}

const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);

const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

function stepRunner(stack: Stack, client: BookingClient, log: (line: string) => void) {
  let backends: number[] = [];
  let postgresServer: number[] = [];
  let natsServer: number[] = [];
  const groups = () => {
    const map = new Map<string, number[]>();
    for (const service of stack.processes.values()) map.set(service.name, [service.process.pid ?? 0]);
    map.set("postgres", backends);
    map.set("postgres server", postgresServer);
    map.set("nats-server", natsServer);
    map.set("load client", [process.pid]);
    return map;
  };
  const meter = new CpuMeter(groups);
  let settle = Promise.resolve();
  return async (rate: number, seconds: number): Promise<StepResult> => {
    await settle;
    backends = await postgresBackends(stack);
    postgresServer = await postgresServerProcesses(stack);
    natsServer = pidsNamed("nats-server");
    shareOwnPriority(backends);
    meter.reset();
    const from = monotonicMicros();
    const connections = sampleConnections(stack);
    const run = await client.run({ rate, seconds });
    const databaseConnections = await connections.stop();
    const to = monotonicMicros();
    backends = [...new Set([...backends, ...(await postgresBackends(stack))])];
    const used = meter.read();
    const cores: Record<string, number> = {};
    const msPerBooking: Record<string, number> = {};
    for (const [name, cpuSeconds] of used.byGroup) {
      cores[name] = fixed(cpuSeconds / used.seconds, 2);
      msPerBooking[name] = fixed((cpuSeconds * 1000) / Math.max(run.confirmed, 1), 2);
    }
    const result: StepResult = {
      ...run,
      keptUp: keptUp(run),
      databaseConnections,
      clockMicros: { from, to },
      loadAverage: loadAverage(),
      cpu: { machineBusy: fixed(used.machineBusy, 2), cores, msPerBooking },
    };
    // A step that fell behind leaves work queued (calls, events, pending bookings' retries): the next step
    // starts once it has drained, or it would be measured on top of this one's backlog.
    settle = result.keptUp ? Promise.resolve() : untilQuiet();
    const totalMs = sum(msPerBooking);
    log(
      `  offered ${String(rate).padStart(4)}/s → confirmed ${result.confirmedPerSecond.toFixed(0).padStart(4)}/s` +
        `  p50 ${result.latency.p50Ms.toFixed(0)} p99 ${result.latency.p99Ms.toFixed(0)} ms` +
        `  ${result.keptUp ? "kept up" : "fell behind"};  errors: ${formatCounts(result.errorsByCode)};` +
        ` other outcomes: ${formatCounts(result.otherOutcomes)};  CPU ${totalMs.toFixed(1)} ms/booking,` +
        ` machine ${(used.machineBusy * 100).toFixed(0)} % busy, load ${result.loadAverage}`,
    );
    return result;
  };
}

export function formatBookingFlow(result: BookingFlowResult): string {
  const lines: string[] = [];
  const steps = [
    ...result.search,
    ...[result.sustained, result.halfRate].filter((step) => step !== undefined),
  ];
  lines.push(
    table(
      [
        "offered/s",
        "seconds",
        "confirmed/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "kept up",
        "errors",
        "other outcomes",
        "machine busy",
        "load",
      ],
      steps.map((step) => [
        step.offeredRate,
        step.seconds,
        fixed(step.confirmedPerSecond),
        fixed(step.latency.p50Ms),
        fixed(step.latency.p95Ms),
        fixed(step.latency.p99Ms),
        step.keptUp ? "yes" : "no",
        formatCounts(step.errorsByCode),
        formatCounts(step.otherOutcomes),
        `${fixed(step.cpu.machineBusy * 100)} %`,
        step.loadAverage,
      ]),
    ),
  );
  const profiled = result.sustained ?? steps.at(-1);
  if (profiled) {
    const names = Object.keys(profiled.cpu.msPerBooking);
    lines.push(
      "",
      `CPU per confirmed booking at ${profiled.offeredRate}/s (from /proc; "postgres" = the backends serving the stack's databases, ` +
        `"postgres server" = its WAL writer, checkpointer and other processes of its own):`,
      table(
        ["process", "CPU ms/booking", "cores busy", "DB connections in use: mean / max / open"],
        [
          ...names.map((name) => {
            const use = profiled.databaseConnections[name];
            return [
              name,
              profiled.cpu.msPerBooking[name] ?? 0,
              profiled.cpu.cores[name] ?? 0,
              use ? `${use.busyMean} / ${use.busyMax} / ${use.open}` : "",
            ];
          }),
          [
            "all of the above",
            fixed(sum(profiled.cpu.msPerBooking), 2),
            fixed(sum(profiled.cpu.cores), 2),
            "",
          ],
        ],
      ),
    );
  }
  lines.push(
    "",
    "Resident memory, MB (VmRSS idle, highest under load sampled each second, at the end; VmHWM over the whole " +
      "life; the highest V8 heap reserved and used, and external memory, under load, from /metrics):",
    table(
      ["service", "idle", "peak under load", "end", "VmHWM", "heap total", "heap used", "external"],
      result.memory.map((entry) => [
        entry.service,
        entry.idleMb,
        entry.peakMb,
        entry.endMb,
        entry.highWaterMb,
        entry.heapTotalMb,
        entry.heapUsedMb,
        entry.externalMb,
      ]),
    ),
  );
  lines.push("", `error-level log lines written during the run: ${formatCounts(result.errorLogLines)}`);
  return lines.join("\n");
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "60" },
      "step-seconds": { type: "string", default: "10" },
      "start-rate": { type: "string", default: "40" },
      rate: { type: "string" },
      runner: { type: "string", default: "dist" },
      memory: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      "node-args": { type: "string", default: "" },
      direct: { type: "boolean", default: false },
    },
  });
  const runner = parseRunner(values.runner);
  await prepareRunner(runner);
  const fixedRate =
    values.memory || values.profile
      ? Number(values.rate ?? 100)
      : values.rate
        ? Number(values.rate)
        : undefined;
  // Absolute: a bundle runs in its own folder.
  const profileDir = values.profile
    ? resolve(`bench-results/profiles/${new Date().toISOString().replaceAll(":", "-")}`)
    : undefined;
  const result = await benchBookingFlow({
    seconds: Number(values.seconds),
    stepSeconds: Number(values["step-seconds"]),
    startRate: Number(values["start-rate"]),
    runner,
    nodeArgs: values["node-args"].split(" ").filter((arg) => arg !== ""),
    direct: values.direct,
    ...(fixedRate === undefined ? {} : { fixedRate }),
    ...(profileDir ? { profileDir } : {}),
    log: (line) => console.log(line),
  });
  console.log(
    `\nbooking flow — ${result.client}; services run by ${runner}; ${describeMachine()}; load average ${loadAverage()}\n`,
  );
  console.log(formatBookingFlow(result));
  for (const [service, summary] of Object.entries(result.profiles ?? {})) {
    console.log(
      `\n${service}: where its CPU went during the run (${(summary.busyMs / 1000).toFixed(1)} s busy)`,
    );
    console.log(formatProfile(summary, 15));
  }
  if (profileDir) console.log(`\nprofiles in ${profileDir} (open them in Chrome DevTools or speedscope)`);
  const path = writeResult(values.memory ? "memory" : "booking-flow", {
    date: new Date().toISOString(),
    machine: describeMachine(),
    ...result,
  });
  console.log(`\nwritten to ${path}`);
  process.exit(0);
}
