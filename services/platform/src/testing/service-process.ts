import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { type TestEventStreams, testEventStreams } from "./test-events.js";

export interface ServiceProcess {
  process: ChildProcess;
  grpcPort: number;
  metricsPort: number;
  /** Every JSON log line the service has written so far (up to "serving" only, when started with keepLogs: false). */
  logs: Array<Record<string, unknown>>;
  /** Sends `signal` and resolves with the exit code once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The event streams of the services this test process starts without naming their own: private to the test
 * file (its processes share them with each other and nobody else), deleted when the test process ends.
 */
let fileEventStreams: TestEventStreams | undefined;

function eventStreamsOfThisFile(): TestEventStreams {
  if (fileEventStreams) return fileEventStreams;
  const streams = testEventStreams();
  fileEventStreams = streams;
  process.once("beforeExit", () => {
    void streams.delete().catch(() => undefined);
  });
  return streams;
}

/**
 * Starts a service's main.ts as its own process on free ports (PORT=0, METRICS_PORT=0) and resolves once it
 * logs "serving" with the ports it bound. Rejects with the service's output if it exits first. Unless `env`
 * names an event stream, the service uses this test file's own (see eventStreamsOfThisFile).
 * With `keepLogs: false` its output after "serving" is read and dropped unparsed, as a container runtime's log
 * sink would take it: a benchmark's load client must not pay for parsing the server's per-call log lines.
 * `launcher` is a command to run node under (e.g. valgrind and its options); the process is then the launcher's.
 */
export async function startServiceProcess(
  entry: string,
  env: Record<string, string>,
  { timeoutMs = 20_000, keepLogs = true, launcher = [] as string[] } = {},
): Promise<ServiceProcess> {
  const [command = process.execPath, ...args] = [...launcher, process.execPath, "--import", "tsx", entry];
  const child = spawn(command, args, {
    env: {
      ...process.env,
      PORT: "0",
      METRICS_PORT: "0",
      LOG_LEVEL: "info",
      ...(env.EVENTS_STREAM === undefined ? eventStreamsOfThisFile().env : {}),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });

  let served = false;
  const serving = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start in ${timeoutMs} ms`)), timeoutMs);
    lines.on("line", (line) => {
      // readline goes on with the lines of the chunk that held "serving" before the drain below takes over.
      if (served && !keepLogs) return;
      let entryLog: Record<string, unknown>;
      try {
        entryLog = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entryLog);
      if (entryLog.msg === "serving") {
        served = true;
        clearTimeout(timer);
        resolve(entryLog);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code} before serving:\n${stderr.join("")}`));
    });
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  let started: Record<string, unknown>;
  try {
    started = await serving;
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  if (!keepLogs) {
    lines.close();
    child.stdout?.resume();
  }
  return {
    process: child,
    grpcPort: started.grpc_port as number,
    metricsPort: started.metrics_port as number,
    logs,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
