// Benchmark: calls/s of a unary call served through the platform (all interceptors on) against a bare
// grpc-js echo server, in the same run, with the same load client; plus catalog GetTour (real Postgres).
// Each server is its own process; rounds are interleaved so that drift on a shared machine hits all alike.
// Besides calls/s it reports each server's CPU time per call (from /proc), which other load on the machine
// disturbs far less.
//
//   npm run bench:platform -- [--seconds 5] [--rounds 3] [--concurrency 64]
import { parseArgs } from "node:util";
import { create, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { GetTourRequestSchema, GetTourResponseSchema } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { EchoRequestSchema, EchoResponseSchema } from "@tourmesh/gen/tourmesh/testing/v1/echo_pb.js";
import { createTestDatabase, freePort, testEventStreams } from "@tourmesh/platform/testing";
import { launchService, type ServiceProcess, sourceCommand } from "@tourmesh/stack";
import { onInterrupt } from "./cleanup.js";
import { cpuSeconds, describeMachine, loadAverage } from "./proc.js";
import { isMain, median, table, writeResult } from "./report.js";

const TARGET_RATIO = 0.85;

interface Target {
  name: string;
  server: ServiceProcess;
  path: string;
  output: DescMessage;
  request: Buffer;
}

interface Measurement {
  callsPerSecond: number;
  serverCpuMicrosPerCall: number;
  errors: number;
}

/** Keeps `concurrency` calls in flight for `durationMs`. */
async function measure(target: Target, durationMs: number, concurrency: number): Promise<Measurement> {
  const client = new grpc.Client(`127.0.0.1:${target.server.port}`, grpc.credentials.createInsecure());
  const serialize = (bytes: Buffer) => bytes;
  const deserialize = (bytes: Buffer) => fromBinary(target.output, bytes);
  let completed = 0;
  let errors = 0;
  const end = performance.now() + durationMs;
  const worker = async () => {
    while (performance.now() < end) {
      await new Promise<void>((resolve) => {
        const options = { deadline: Date.now() + 5_000 };
        client.makeUnaryRequest(
          target.path,
          serialize,
          deserialize,
          target.request,
          new grpc.Metadata(),
          options,
          (error) => {
            if (error) errors++;
            else completed++;
            resolve();
          },
        );
      });
    }
  };
  const started = performance.now();
  const pid = target.server.process.pid ?? 0;
  const cpuBefore = cpuSeconds(pid);
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedSeconds = (performance.now() - started) / 1000;
  const cpuUsed = cpuSeconds(pid) - cpuBefore;
  client.close();
  return {
    callsPerSecond: completed / elapsedSeconds,
    serverCpuMicrosPerCall: (cpuUsed * 1e6) / Math.max(completed, 1),
    errors,
  };
}

const encode = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export interface PlatformOverheadOptions {
  seconds: number;
  rounds: number;
  concurrency: number;
  log: (line: string) => void;
}

export interface PlatformOverheadResult {
  concurrency: number;
  seconds: number;
  rounds: number;
  loadAverage: number;
  results: Array<{
    name: string;
    callsPerSecond: number;
    serverCpuMicrosPerCall: number;
    errors: number;
    ratio: number;
    cpuRatio: number;
  }>;
  /** Platform echo calls/s over bare grpc-js echo calls/s, same run. */
  ratio: number;
  met: boolean;
}

export async function benchPlatformOverhead(
  options: PlatformOverheadOptions,
): Promise<PlatformOverheadResult> {
  const { seconds, rounds, concurrency, log } = options;
  const db = await createTestDatabase("bench");
  // Streams of its own, so that they can be removed however the run ends.
  const streams = testEventStreams();
  const settings = { LOG_LEVEL: "info", SHUTDOWN_GRACE_MS: "1000", ...streams.env };
  const servers: ServiceProcess[] = [];
  const stopAll = async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    await db.drop();
    await streams.delete().catch(() => undefined);
  };
  const forget = onInterrupt(stopAll);
  const start = async (name: string, entry: string, env: Record<string, string> = {}) => {
    const server = await launchService({
      name,
      command: sourceCommand(entry),
      port: await freePort(),
      metricsPort: await freePort(),
      env: { ...settings, ...env },
      logs: "drop",
    });
    servers.push(server);
    return server;
  };
  try {
    const bare = await start("bare-echo", "tools/bench/bare-echo-server.ts");
    const echo = await start("echo", "tools/bench/platform-echo-server.ts");
    const catalog = await start("catalog", "services/catalog/src/main.ts", { DATABASE_URL: db.url });
    const echoRequest = encode(
      toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: "bonjour tourmesh" })),
    );
    const echoPath = "/tourmesh.testing.v1.EchoService/Echo";
    const targets: Target[] = [
      {
        name: "bare grpc-js echo",
        server: bare,
        path: echoPath,
        output: EchoResponseSchema,
        request: echoRequest,
      },
      {
        name: "platform echo",
        server: echo,
        path: echoPath,
        output: EchoResponseSchema,
        request: echoRequest,
      },
      {
        name: "platform catalog GetTour (Postgres)",
        server: catalog,
        path: "/tourmesh.catalog.v1.CatalogService/GetTour",
        output: GetTourResponseSchema,
        request: encode(
          toBinary(GetTourRequestSchema, create(GetTourRequestSchema, { tourId: "tour_paris_louvre" })),
        ),
      },
    ];
    for (const target of targets) await measure(target, 1_000, concurrency); // warm up JIT, connections and pools
    const runs = new Map<Target, Measurement[]>(targets.map((target) => [target, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const target of targets) {
        const run = await measure(target, seconds * 1000, concurrency);
        runs.get(target)?.push(run);
        log(
          `round ${round}/${rounds}  ${target.name.padEnd(36)} ${run.callsPerSecond.toFixed(0).padStart(7)} calls/s` +
            `  ${run.serverCpuMicrosPerCall.toFixed(0).padStart(5)} µs server CPU/call`,
        );
      }
    }

    const summary = (target: Target) => {
      const measured = runs.get(target) ?? [];
      return {
        name: target.name,
        callsPerSecond: Math.round(median(measured.map((run) => run.callsPerSecond))),
        serverCpuMicrosPerCall: Math.round(median(measured.map((run) => run.serverCpuMicrosPerCall))),
        errors: measured.reduce((sum, run) => sum + run.errors, 0),
      };
    };
    const [baseline, ...others] = targets.map(summary);
    if (!baseline) throw new Error("no baseline measured");
    const results = [baseline, ...others].map((result) => ({
      ...result,
      ratio: Number((result.callsPerSecond / baseline.callsPerSecond).toFixed(3)),
      cpuRatio: Number((baseline.serverCpuMicrosPerCall / result.serverCpuMicrosPerCall).toFixed(3)),
    }));

    const ratio = results[1]?.ratio ?? 0;
    return {
      concurrency,
      seconds,
      rounds,
      loadAverage: loadAverage(),
      results,
      ratio,
      met: ratio >= TARGET_RATIO,
    };
  } finally {
    forget();
    await stopAll();
  }
}

export function formatPlatformOverhead(result: PlatformOverheadResult): string {
  const lines = [
    table(
      [
        "target",
        "calls/s",
        "ratio to bare",
        "server CPU µs/call",
        "calls per server CPU-second, ratio to bare",
      ],
      result.results.map((entry) => [
        entry.name,
        entry.callsPerSecond,
        entry.ratio.toFixed(2),
        entry.serverCpuMicrosPerCall,
        entry.cpuRatio.toFixed(2),
      ]),
    ),
    "",
    `platform echo / bare echo: ${result.ratio.toFixed(2)} in calls/s (target ≥ ${TARGET_RATIO}: ` +
      `${result.met ? "met" : "NOT met"}), ${result.results[1]?.cpuRatio.toFixed(2)} in calls per server CPU-second`,
  ];
  const errors = result.results.reduce((sum, entry) => sum + entry.errors, 0);
  if (errors > 0) lines.push(`calls that failed during the run: ${errors}`);
  return lines.join("\n");
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "5" },
      rounds: { type: "string", default: "3" },
      concurrency: { type: "string", default: "64" },
    },
  });
  const result = await benchPlatformOverhead({
    seconds: Number(values.seconds),
    rounds: Number(values.rounds),
    concurrency: Number(values.concurrency),
    log: (line) => console.log(line),
  });
  console.log(
    `\nplatform overhead — ${result.concurrency} calls in flight, median of ${result.rounds} × ${result.seconds} s; ` +
      `${describeMachine()}; load average ${result.loadAverage}`,
  );
  console.log(formatPlatformOverhead(result));
  writeResult("platform-overhead", { date: new Date().toISOString(), machine: describeMachine(), ...result });
  process.exit(0);
}
