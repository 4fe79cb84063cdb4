import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { StackService } from "./services.js";

const colors = [36, 33, 35, 32, 34, 31, 96, 93];
const RESTART_DELAYS_MS = [500, 1_000, 2_000, 5_000, 10_000];

export interface SupervisedService {
  service: StackService;
  /** Resolves when the current process logs that it is serving. */
  ready(): Promise<void>;
  /** The running process's pid, if one runs. */
  pid(): number | undefined;
  restarts(): number;
}

/** One line of a service's JSON log, made readable: level, message and the fields that matter. */
function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, msg, time: _time, service: _service, trace_id, span_id: _span, err, ...fields } = entry;
  const details = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
  const trace = typeof trace_id === "string" ? ` trace=${trace_id.slice(0, 8)}` : "";
  const error = err ? ` ${JSON.stringify(err)}` : "";
  return `${String(level).padEnd(5)} ${msg} ${details}${trace}${error}`;
}

/**
 * Runs the stack's services as child processes with prefixed, readable logs, and restarts any that dies
 * (with a growing delay) until `stop` is called.
 */
export class Supervisor {
  private readonly running = new Map<string, ChildProcess>();
  private stopping = false;

  constructor(
    private readonly sharedEnv: Record<string, string>,
    private readonly print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
    private readonly quiet: (service: string, line: string) => boolean = () => false,
  ) {}

  start(service: StackService, index: number): SupervisedService {
    const prefix = `\u001b[${colors[index % colors.length]}m${service.name.padEnd(12)}\u001b[0m│ `;
    let restarts = 0;
    let readyNow: () => void = () => {};
    let readyPromise = new Promise<void>((resolve) => {
      readyNow = resolve;
    });
    const launch = () => {
      const child = spawn(process.execPath, ["--import", "tsx", `services/${service.name}/src/main.ts`], {
        env: {
          ...process.env,
          ...this.sharedEnv,
          ...service.env,
          PORT: String(service.port),
          METRICS_PORT: String(service.metricsPort),
          OTEL_SERVICE_NAME: service.name,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      this.running.set(service.name, child);
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream as NodeJS.ReadableStream }).on("line", (line) => {
          if (line.includes('"msg":"serving"')) readyNow();
          if (!this.quiet(service.name, line)) this.print(prefix + formatLogLine(line));
        });
      }
      child.once("exit", (code, signal) => {
        this.running.delete(service.name);
        if (this.stopping) return;
        const delay = RESTART_DELAYS_MS[Math.min(restarts, RESTART_DELAYS_MS.length - 1)] ?? 10_000;
        restarts++;
        this.print(`${prefix}exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
        readyPromise = new Promise<void>((resolve) => {
          readyNow = resolve;
        });
        setTimeout(() => {
          if (!this.stopping) launch();
        }, delay);
      });
    };
    launch();
    return {
      service,
      ready: () => readyPromise,
      pid: () => this.running.get(service.name)?.pid,
      restarts: () => restarts,
    };
  }

  /** SIGTERM to every service (they drain), then waits for all to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.running.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      ),
    );
  }
}
