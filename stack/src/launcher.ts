/**
 * The one way a service process is started, for the demo, the specs, e2e, the chaos run and the benchmarks:
 * on ports chosen up front (standard or free), from its TypeScript through tsx, from any other entry (the
 * bundles) or through another program (a container runtime running its image), optionally restarted when it
 * dies, with its logs kept, handed to a printer or dropped unread.
 * A process is ready when it answers grpc.health.v1.Health/Check with SERVING on its port, as a Kubernetes
 * probe would ask it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { Health, HealthCheckResponse_ServingStatus } from "@tourmesh/gen/health/v1/health_pb.js";
import { createClient } from "@tourmesh/platform";

/** How to run a service: `node [...flags] entry` in `cwd`, with `env` added to its settings. */
export interface NodeCommand {
  flags: string[];
  entry: string;
  cwd?: string;
  env?: Record<string, string>;
}

/**
 * A service run by another program that passes its settings on by name, as a container runtime does
 * (`podman run --env PORT ... <image>`): `argv` gets the names of the service's settings, whose values the
 * program finds in its own environment; `env` is for the program itself, not the service.
 */
export interface ExternalCommand {
  argv: (settings: readonly string[]) => string[];
  env?: Record<string, string>;
}

export type ServiceCommand = NodeCommand | ExternalCommand;

/** A service run from its TypeScript, compiled as it loads (development, tests). */
export const sourceCommand = (entry: string): NodeCommand => ({ flags: ["--import", "tsx"], entry });

export interface LaunchOptions {
  /** The log prefix and the process's OTEL_SERVICE_NAME. */
  name: string;
  command: ServiceCommand;
  port: number;
  metricsPort: number;
  env?: Record<string, string>;
  /** Extra Node flags, e.g. ["--cpu-prof"]. */
  nodeArgs?: string[];
  /** A command to run node under, e.g. valgrind and its options: the process is then the wrapper's. */
  wrapper?: string[];
  /** Start it again, after a growing delay, whenever it exits until `stop` is called. */
  restart?: boolean;
  /**
   * What becomes of its output: "keep" parses every JSON line into `logs`; "drop" reads and discards it
   * unparsed, as a container runtime's log sink would (a benchmark's client must not pay for parsing the
   * server's per-call lines); a function receives every line as written.
   */
  logs?: "keep" | "drop" | ((line: string) => void);
  readyTimeoutMs?: number;
}

export interface ServiceProcess {
  name: string;
  port: number;
  metricsPort: number;
  /** `127.0.0.1:<port>`. */
  address: string;
  /** Milliseconds from the first process's start until it served. */
  readyMs: number;
  /** The current process (a new one after each restart). */
  readonly process: ChildProcess;
  /** Every JSON log line written so far, restarted processes included (with logs: "keep"). */
  logs: Array<Record<string, unknown>>;
  /** Error-level log lines written so far, counted in every mode. */
  errorLines(): number;
  /** The last few kB the current process wrote to stderr. */
  stderrTail(): string;
  /** Times it was restarted. */
  restarts(): number;
  /** Resolves once the current process serves; from a death on, once the restarted one does. */
  ready(): Promise<void>;
  /** Stops restarting it, sends `signal` (SIGTERM: it drains) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const RESTART_DELAYS_MS = [500, 1_000, 2_000, 5_000, 10_000];
const STDERR_TAIL_BYTES = 8_192;
const HEALTH_POLL_MS = 100;

/** Starts the process and resolves once it serves; rejects with its stderr if it exits or times out first. */
export async function launchService(options: LaunchOptions): Promise<ServiceProcess> {
  const { name, port, metricsPort, command } = options;
  const mode = options.logs ?? "keep";
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const logs: Array<Record<string, unknown>> = [];
  let errors = 0;
  let stderr = "";
  let restarts = 0;
  let stopping = false;
  const spawnOnce = (): { child: ChildProcess; serving: Promise<void>; exited: Promise<number | null> } => {
    const external = "argv" in command;
    const settings: Record<string, string> = {
      LOG_LEVEL: "info",
      ...(external ? {} : command.env),
      ...options.env,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      OTEL_SERVICE_NAME: name,
    };
    const [executable = process.execPath, ...args] = external
      ? command.argv(Object.keys(settings))
      : [
          ...(options.wrapper ?? []),
          process.execPath,
          ...command.flags,
          ...(options.nodeArgs ?? []),
          command.entry,
        ];
    stderr = "";
    const child = spawn(executable, args, {
      ...(!external && command.cwd ? { cwd: command.cwd } : {}),
      env: { ...process.env, ...(external ? command.env : {}), ...settings },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL_BYTES);
    });
    if (mode === "drop") {
      child.stdout?.on("data", (chunk: Buffer) => {
        errors += chunk.toString().split('"level":"error"').length - 1;
      });
    } else {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        if (line.includes('"level":"error"') || line.includes('"level":"fatal"')) errors++;
        if (typeof mode === "function") return mode(line);
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // A line that is not JSON (e.g. a runtime warning) is no log entry.
        }
      });
    }
    const exited = once(child, "exit").then(([code]) => code as number | null);
    const serving = waitUntilServing(child, exited, port, readyTimeoutMs, name, () => stderr);
    serving.catch(() => undefined);

    void exited.then(() => {
      if (stopping || !options.restart) return;
      const delay = RESTART_DELAYS_MS[Math.min(restarts, RESTART_DELAYS_MS.length - 1)] ?? 10_000;
      restarts++;
      // From the exit on, ready() waits for the next process to serve.
      ready = sleep(delay).then(() => {
        if (stopping) throw new Error(`${name} was stopped before its restart`);
        current = spawnOnce();
        return current.serving;
      });
      ready.catch(() => undefined);
    });
    return { child, serving, exited };
  };

  const started = performance.now();
  let current = spawnOnce();
  let ready = current.serving;
  const first = current;
  try {
    await first.serving;
  } catch (error) {
    stopping = true;
    first.child.kill("SIGKILL");
    throw error;
  }
  const readyMs = performance.now() - started;
  return {
    name,
    port,
    metricsPort,
    address: `127.0.0.1:${port}`,
    readyMs,
    get process() {
      return current.child;
    },
    logs,
    errorLines: () => errors,
    stderrTail: () => stderr,
    restarts: () => restarts,
    ready: () => ready,
    async stop(signal = "SIGTERM") {
      stopping = true;
      const { child, exited } = current;
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls the process's gRPC health until it answers SERVING; fails when it exits or the time is up. */
async function waitUntilServing(
  child: ChildProcess,
  exited: Promise<number | null>,
  port: number,
  timeoutMs: number,
  name: string,
  stderr: () => string,
): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone)
      throw new Error(`${name} exited (${child.signalCode ?? child.exitCode}) before serving:\n${stderr()}`);
    if (Date.now() > deadline) {
      throw new Error(`${name} did not serve on port ${port} within ${timeoutMs} ms:\n${stderr()}`);
    }
    // A fresh client once the port accepts: a channel that was refused would wait out its reconnect backoff.
    if (await accepts(port)) {
      const health = createClient(Health, `127.0.0.1:${port}`, { retries: false });
      const status = await health.check({ service: "" }, { timeoutMs: 1_000 }).then(
        (answer) => answer.status,
        () => undefined,
      );
      health.close();
      if (status === HealthCheckResponse_ServingStatus.SERVING) return;
    }
    await sleep(HEALTH_POLL_MS);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
