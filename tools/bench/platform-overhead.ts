// Benchmark: calls/s of a unary call served through the platform (all interceptors on) against a bare
// grpc-js echo server, in the same run, with the same load client; plus catalog GetTour (real Postgres).
// Each server is its own process; rounds are interleaved so that drift on a shared machine hits all alike.
// Besides calls/s it reports each server's CPU time per call (from /proc), which other load on the machine
// disturbs far less.
//
//   npm run bench:platform -- [--seconds 5] [--rounds 3] [--concurrency 64]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { create, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { GetTourRequestSchema, GetTourResponseSchema } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { EchoRequestSchema, EchoResponseSchema } from "@tourmesh/gen/tourmesh/testing/v1/echo_pb.js";
import { createTestDatabase, type ServiceProcess, startServiceProcess } from "@tourmesh/platform/testing";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "64" },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);
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

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Keeps `concurrency` calls in flight for `durationMs`. */
async function measure(target: Target, durationMs: number): Promise<Measurement> {
  const client = new grpc.Client(`127.0.0.1:${target.server.grpcPort}`, grpc.credentials.createInsecure());
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
  const cpuBefore = cpuSeconds(target.server.process.pid);
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedSeconds = (performance.now() - started) / 1000;
  const cpuUsed = cpuSeconds(target.server.process.pid) - cpuBefore;
  client.close();
  return {
    callsPerSecond: completed / elapsedSeconds,
    serverCpuMicrosPerCall: (cpuUsed * 1e6) / Math.max(completed, 1),
    errors,
  };
}

const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)] ?? 0;
const encode = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

const db = await createTestDatabase("bench");
const settings = { LOG_LEVEL: "info", SHUTDOWN_GRACE_MS: "1000" };
const servers = {
  bare: await startServiceProcess("tools/bench/bare-echo-server.ts", settings),
  echo: await startServiceProcess("tools/bench/platform-echo-server.ts", {
    ...settings,
    OTEL_SERVICE_NAME: "echo",
  }),
  catalog: await startServiceProcess("services/catalog/src/main.ts", { ...settings, DATABASE_URL: db.url }),
};
try {
  const echoRequest = encode(
    toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: "bonjour tourmesh" })),
  );
  const echoPath = "/tourmesh.testing.v1.EchoService/Echo";
  const targets: Target[] = [
    {
      name: "bare grpc-js echo",
      server: servers.bare,
      path: echoPath,
      output: EchoResponseSchema,
      request: echoRequest,
    },
    {
      name: "platform echo",
      server: servers.echo,
      path: echoPath,
      output: EchoResponseSchema,
      request: echoRequest,
    },
    {
      name: "platform catalog GetTour (Postgres)",
      server: servers.catalog,
      path: "/tourmesh.catalog.v1.CatalogService/GetTour",
      output: GetTourResponseSchema,
      request: encode(
        toBinary(GetTourRequestSchema, create(GetTourRequestSchema, { tourId: "tour_paris_louvre" })),
      ),
    },
  ];
  for (const target of targets) await measure(target, 1_000); // warm up JIT, connections and pools
  const runs = new Map<Target, Measurement[]>(targets.map((target) => [target, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const target of targets) {
      const run = await measure(target, seconds * 1000);
      runs.get(target)?.push(run);
      console.log(
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

  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const load = loadavg()[0]?.toFixed(1);
  console.log(
    `\nplatform overhead — ${concurrency} calls in flight, median of ${rounds} × ${seconds} s; ${machine}; load average ${load}`,
  );
  console.log(
    "| target | calls/s | ratio to bare | server CPU µs/call | calls per server CPU-second, ratio to bare |",
  );
  console.log("|---|---:|---:|---:|---:|");
  for (const result of results) {
    console.log(
      `| ${result.name} | ${result.callsPerSecond} | ${result.ratio.toFixed(2)} | ${result.serverCpuMicrosPerCall} | ${result.cpuRatio.toFixed(2)} |`,
    );
  }
  const echo = results[1];
  console.log(
    `\nplatform echo / bare echo: ${echo?.ratio.toFixed(2)} in calls/s (target ≥ ${TARGET_RATIO}: ` +
      `${(echo?.ratio ?? 0) >= TARGET_RATIO ? "met" : "NOT met"}), ${echo?.cpuRatio.toFixed(2)} in calls per server CPU-second`,
  );
  const errors = results.reduce((sum, result) => sum + result.errors, 0);
  if (errors > 0) console.log(`calls that failed during the run: ${errors}`);
  mkdirSync("bench-results", { recursive: true });
  writeFileSync(
    "bench-results/platform-overhead.json",
    `${JSON.stringify({ date: new Date().toISOString(), machine, loadAverage: load, concurrency, seconds, rounds, results }, null, 2)}\n`,
  );
} finally {
  await Promise.all(Object.values(servers).map((server) => server.stop()));
  await db.drop();
}
