// Benchmark: the instructions a server runs per unary call, the bare grpc-js echo against the platform echo,
// counted by valgrind's callgrind. Calls/s and CPU time move by 10-30 % with other load on a shared machine;
// an instruction count does not, so the cost of one change to the platform shows in one run. What varies
// between runs is when V8 compiles what (about 1 % after the warm-up), which rounds even out. Kernel time (the
// socket syscalls) is not counted: this is the user-space work of the server process alone, with its load
// client outside.
//
//   npm run bench:instructions -- [--calls 2000] [--rounds 2]
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { EchoRequestSchema } from "@tourmesh/gen/tourmesh/testing/v1/echo_pb.js";
import { freePort } from "@tourmesh/platform/testing";
import { launchService, type ServiceProcess, sourceCommand } from "@tourmesh/stack";
import { onInterrupt } from "./cleanup.js";
import { describeMachine } from "./proc.js";
import { isMain, median, table, writeResult } from "./report.js";

const ECHO_PATH = "/tourmesh.testing.v1.EchoService/Echo";
const WARM_UP_CALLS = 3_000;
const CONCURRENCY = 16;
/** Starting node under valgrind takes about a minute on the 2-core machine. */
const START_TIMEOUT_MS = 300_000;

const targets = [
  { name: "bare grpc-js echo", entry: "tools/bench/bare-echo-server.ts" },
  { name: "platform echo", entry: "tools/bench/platform-echo-server.ts" },
];

export interface InstructionCountResult {
  calls: number;
  rounds: number;
  results: Array<{ name: string; instructionsPerCall: number[]; median: number }>;
  /** Bare instructions per call over platform instructions per call: the platform's calls per instruction. */
  ratio: number;
}

/** `count` echo calls, `CONCURRENCY` at a time; resolves with how many failed. */
async function callMany(client: grpc.Client, count: number): Promise<number> {
  const request = Buffer.from(toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: "bonjour" })));
  let left = count;
  let failed = 0;
  const worker = async () => {
    while (left-- > 0) {
      await new Promise<void>((resolve) =>
        client.makeUnaryRequest(
          ECHO_PATH,
          (bytes: Buffer) => bytes,
          (bytes: Buffer) => bytes,
          request,
          new grpc.Metadata(),
          { deadline: Date.now() + 60_000 },
          (error) => {
            if (error) failed++;
            resolve();
          },
        ),
      );
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return failed;
}

/** Runs `entry` under callgrind with counting off, and counts only `calls` calls made after a warm-up. */
async function countPerCall(entry: string, calls: number, started: ServiceProcess[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "tourmesh-callgrind-"));
  const outFile = join(dir, "callgrind.out");
  try {
    const server = await launchService({
      name: "echo",
      command: sourceCommand(entry),
      port: await freePort(),
      metricsPort: await freePort(),
      logs: "drop",
      readyTimeoutMs: START_TIMEOUT_MS,
      wrapper: ["valgrind", "--tool=callgrind", "--instr-atstart=no", `--callgrind-out-file=${outFile}`],
    });
    started.push(server);
    const pid = String(server.process.pid);
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const control = (...args: string[]) =>
      execFileSync("callgrind_control", [...args, pid], { stdio: "ignore" });
    try {
      await callMany(client, WARM_UP_CALLS);
      control("--instr=on");
      const failed = await callMany(client, calls);
      control("--instr=off");
      if (failed > 0) throw new Error(`${failed} of ${calls} calls to ${entry} failed`);
      control("--dump");
    } finally {
      client.close();
    }
    // The first dump is written beside the named file with the suffix .1.
    const dump = `${outFile}.1`;
    for (let waited = 0; !existsSync(dump) || !/^totals: /m.test(readFileSync(dump, "utf8")); waited += 200) {
      if (waited > 30_000) throw new Error(`callgrind wrote no dump for ${entry}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const totals = /^totals: (\d+)/m.exec(readFileSync(dump, "utf8"))?.[1];
    await server.stop("SIGKILL");
    return Math.round(Number(totals) / calls);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchInstructionCount(options: {
  calls: number;
  rounds: number;
  log: (line: string) => void;
}): Promise<InstructionCountResult> {
  if (spawnSync("valgrind", ["--version"]).error)
    throw new Error("valgrind is not installed (Debian: apt-get install valgrind)");
  const started: ServiceProcess[] = [];
  const forget = onInterrupt(() => Promise.all(started.map((server) => server.stop("SIGKILL"))));
  try {
    const counts = targets.map(() => [] as number[]);
    for (let round = 1; round <= options.rounds; round++) {
      for (const [index, target] of targets.entries()) {
        const perCall = await countPerCall(target.entry, options.calls, started);
        counts[index]?.push(perCall);
        options.log(
          `round ${round}/${options.rounds}  ${target.name.padEnd(20)} ${perCall} instructions/call`,
        );
      }
    }
    const results = targets.map((target, index) => {
      const instructionsPerCall = counts[index] ?? [];
      return { name: target.name, instructionsPerCall, median: median(instructionsPerCall) };
    });
    const [bare, platform] = results;
    const ratio = bare && platform ? Number((bare.median / platform.median).toFixed(3)) : 0;
    return { calls: options.calls, rounds: options.rounds, results, ratio };
  } finally {
    forget();
    await Promise.all(started.map((server) => server.stop("SIGKILL")));
  }
}

export function formatInstructionCount(result: InstructionCountResult): string {
  const [bare] = result.results;
  return [
    table(
      ["server", "instructions per call (median)", "each round", "platform cost over bare"],
      result.results.map((entry) => [
        entry.name,
        entry.median,
        entry.instructionsPerCall.join(", "),
        bare ? `+${entry.median - bare.median}` : "",
      ]),
    ),
    "",
    `bare / platform instructions per call: ${result.ratio.toFixed(2)} (the platform's calls per instruction, ` +
      "against the bare server's)",
  ].join("\n");
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { calls: { type: "string", default: "2000" }, rounds: { type: "string", default: "2" } },
  });
  const result = await benchInstructionCount({
    calls: Number(values.calls),
    rounds: Number(values.rounds),
    log: (line) => console.log(line),
  });
  console.log(
    `\ninstructions per echo call, server process only (valgrind callgrind), ${result.calls} calls ` +
      `${CONCURRENCY} at a time, median of ${result.rounds}; ${describeMachine()}`,
  );
  console.log(formatInstructionCount(result));
  writeResult("instruction-count", { date: new Date().toISOString(), machine: describeMachine(), ...result });
  process.exit(0);
}
