/**
 * The whole local stack for a benchmark: every service under `services/` as its own process, all started at
 * once (as `npm run demo` does) on free ports, each on a fresh database of its own that the service creates
 * and migrates itself, with private event streams on the shared NATS. Services run as they ship (runner
 * "dist": the bundles `npm run build` writes to `dist/<service>/`, each run from its folder by plain node in
 * the image's environment, as the production image runs it) or from their TypeScript through tsx (as in
 * development).
 * `stop()` (and Ctrl-C, see cleanup.ts) stops the processes and removes the databases and streams.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { basename, dirname } from "node:path";
import {
  databaseServerUrl,
  freePort,
  testEventStreams,
  withDatabaseServer,
} from "@tourmesh/platform/testing";
import pg from "pg";
import { buildBundles, bundleEntry, SHIPPED_ENV } from "../build.js";
import { serviceNames } from "../workspace.js";
import { onInterrupt } from "./cleanup.js";

export type Runner = "tsx" | "dist";

/** The value of a benchmark's `--runner` option. */
export function parseRunner(value: string): Runner {
  if (value === "tsx" || value === "dist") return value;
  throw new Error(`--runner ${value}: expected dist (the bundles, as the image runs them) or tsx`);
}

/** Builds the bundles first when the services are to run from them: it takes about a second. */
export async function prepareRunner(runner: Runner): Promise<void> {
  if (runner === "dist") await buildBundles();
}

export interface BenchStackOptions {
  runner: Runner;
  /** Extra Node flags for every service, e.g. ["--cpu-prof", "--cpu-prof-dir=<absolute path>"]. */
  nodeArgs?: string[];
  /** Extra environment for every service. */
  env?: Record<string, string>;
  /** Keep every log line (for checks; under load, reading them all costs the benchmark's process CPU). */
  keepLogs?: boolean;
}

export interface BenchService {
  name: string;
  process: ChildProcess;
  pid: number;
  port: number;
  metricsPort: number;
  /** Its database's name, when it has one. */
  database?: string;
  /** Error-level log lines it has written so far. */
  errorLines(): number;
  /** The last few kB of what it wrote to stderr. */
  stderrTail(): string;
  /** Its log lines, when the stack keeps them. */
  logs(): string[];
}

export interface BenchStack {
  services: Map<string, BenchService>;
  gatewayUrl: string;
  /** Milliseconds from the first spawn until every service logged "serving". */
  readyMs: number;
  /** Runs one statement in a service's database. */
  query<Row extends pg.QueryResultRow>(service: string, sql: string, values?: unknown[]): Promise<Row[]>;
  /** The pids of the Postgres backends serving the stack's databases right now. */
  postgresBackends(): Promise<number[]>;
  /** The pids of Postgres's own processes (WAL writer, checkpointer, background writer, ...): no database's. */
  postgresServerProcesses(): Promise<number[]>;
  /** Per service, its open database connections and how many are in use (running or inside a transaction). */
  databaseConnections(): Promise<Map<string, { open: number; busy: number }>>;
  stop(): Promise<void>;
}

/** The gateway's settings for a benchmark: the edge's rate limits would throttle the load itself. */
export const unlimitedGateway = { RATE_LIMIT_PER_IP_RPS: "0", RATE_LIMIT_PER_USER_RPS: "0" };

/** Services every stack has, in the order their names fill peer addresses; any other service dir is added. */
const ADDRESS_VARIABLES: Record<string, string> = {
  catalog: "CATALOG_ADDR",
  booking: "BOOKING_ADDR",
  payment: "PAYMENT_ADDR",
  identity: "IDENTITY_ADDR",
  review: "REVIEW_ADDR",
  notification: "NOTIFICATION_ADDR",
};
const WITHOUT_DATABASE = new Set(["gateway"]);
/** Generous: on a loaded 2-core machine seven services compiling their TypeScript at once take a while. */
const READY_TIMEOUT_MS = 90_000;
const serviceEnv: Record<string, Record<string, string>> = {
  identity: { SEED_DEMO_USERS: "true" },
  gateway: unlimitedGateway,
};

/**
 * How a service is started. tsx compiles the TypeScript as it loads; a bundle runs as the image runs it:
 * `node main.mjs` in its folder (the image's /app), in the image's environment (its NODE_OPTIONS and no
 * others, its malloc settings).
 */
function commandOf(
  name: string,
  runner: Runner,
): { flags: string[]; entry: string; cwd?: string; env: Record<string, string> } {
  if (runner === "tsx") return { flags: ["--import", "tsx"], entry: `services/${name}/src/main.ts`, env: {} };
  const bundle = bundleEntry(name);
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run \`npm run build\` first`);
  return {
    flags: [],
    entry: basename(bundle),
    cwd: dirname(bundle),
    env: { ...SHIPPED_ENV },
  };
}

export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const { runner } = options;
  const suffix = randomBytes(4).toString("hex");
  const names = serviceNames();
  const streams = testEventStreams();
  const started: BenchService[] = [];
  const databases: string[] = [];
  const clients = new Map<string, pg.Client>();

  const stop = async () => {
    await Promise.all(started.map((service) => stopProcess(service.process)));
    for (const client of clients.values()) await client.end().catch(() => undefined);
    if (databases.length > 0) {
      await withDatabaseServer(async (admin) => {
        for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }).catch((error: unknown) => console.error(`could not drop the bench databases: ${String(error)}`));
    }
    await streams.delete().catch((error: unknown) => console.error(`could not delete streams: ${error}`));
  };
  const forget = onInterrupt(stop);

  try {
    const ports = new Map<string, { port: number; metricsPort: number }>();
    for (const name of names) ports.set(name, { port: await freePort(), metricsPort: await freePort() });
    const portOf = (name: string) => ports.get(name) ?? { port: 1, metricsPort: 1 };
    const peers: Record<string, string> = {};
    for (const [name, variable] of Object.entries(ADDRESS_VARIABLES)) {
      // A service this tree does not have (yet) answers UNAVAILABLE: port 1 refuses connections.
      peers[variable] = `127.0.0.1:${ports.has(name) ? portOf(name).port : 1}`;
    }
    const shared = {
      ...peers,
      JWKS_URL: `http://127.0.0.1:${portOf("identity").metricsPort}/.well-known/jwks.json`,
      LOG_LEVEL: "info",
      ...streams.env,
      ...options.env,
    };

    const begin = performance.now();
    const ready = names.map((name) => {
      const database = WITHOUT_DATABASE.has(name) ? undefined : `test_bench_${name}_${suffix}`;
      if (database) databases.push(database);
      const databaseUrl = new URL(databaseServerUrl);
      databaseUrl.pathname = `/${database ?? "postgres"}`;
      const { port, metricsPort } = portOf(name);
      const command = commandOf(name, runner);
      const child = spawn(process.execPath, [...command.flags, ...(options.nodeArgs ?? []), command.entry], {
        ...(command.cwd ? { cwd: command.cwd } : {}),
        env: {
          ...process.env,
          ...command.env,
          ...shared,
          ...(database ? { DATABASE_URL: databaseUrl.toString() } : {}),
          ...serviceEnv[name],
          PORT: String(port),
          METRICS_PORT: String(metricsPort),
          OTEL_SERVICE_NAME: name,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const service = watch(name, child, {
        port,
        metricsPort,
        database,
        keepLogs: options.keepLogs ?? false,
      });
      started.push(service.service);
      return service.serving;
    });
    await withTimeout(Promise.all(ready), READY_TIMEOUT_MS, "the stack did not start");
    const readyMs = performance.now() - begin;

    const clientOf = async (service: string): Promise<pg.Client> => {
      const existing = clients.get(service);
      if (existing) return existing;
      const database = started.find((candidate) => candidate.name === service)?.database;
      if (!database) throw new Error(`${service} has no database`);
      const url = new URL(databaseServerUrl);
      url.pathname = `/${database}`;
      const client = new pg.Client({ connectionString: url.toString() });
      client.on("error", () => clients.delete(service));
      await client.connect();
      clients.set(service, client);
      return client;
    };

    return {
      services: new Map(started.map((service) => [service.name, service])),
      gatewayUrl: `http://127.0.0.1:${portOf("gateway").port}`,
      readyMs,
      async query<Row extends pg.QueryResultRow>(service: string, sql: string, values: unknown[] = []) {
        return (await (await clientOf(service)).query<Row>(sql, values)).rows;
      },
      async postgresBackends() {
        const client = await clientOf("catalog");
        const { rows } = await client.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()",
          [databases],
        );
        return rows.map((row) => row.pid);
      },
      async postgresServerProcesses() {
        const client = await clientOf("catalog");
        const { rows } = await client.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'",
        );
        return rows.map((row) => row.pid);
      },
      async databaseConnections() {
        const client = await clientOf("catalog");
        const { rows } = await client.query<{ datname: string; open: number; busy: number }>(
          `SELECT datname, count(*)::int AS open, count(*) FILTER (WHERE state <> 'idle')::int AS busy
             FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid() GROUP BY datname`,
          [databases],
        );
        const byDatabase = new Map(rows.map((row) => [row.datname, row]));
        const connections = new Map<string, { open: number; busy: number }>();
        for (const service of started) {
          const row = service.database ? byDatabase.get(service.database) : undefined;
          if (service.database) connections.set(service.name, { open: row?.open ?? 0, busy: row?.busy ?? 0 });
        }
        return connections;
      },
      async stop() {
        forget();
        await stop();
      },
    };
  } catch (error) {
    forget();
    await stop();
    for (const service of started) {
      const tail = service.stderrTail();
      if (tail) console.error(`--- ${service.name} stderr ---\n${tail}`);
    }
    throw error;
  }
}

const STDERR_TAIL_BYTES = 8_192;

/**
 * Follows a service's output: resolves `serving` on its "serving" line (or, when LOG_LEVEL hides that line,
 * once both its ports accept connections), then only counts error lines (reading every log line of a loaded
 * service would cost the benchmark's own process CPU).
 */
function watch(
  name: string,
  child: ChildProcess,
  options: { port: number; metricsPort: number; database: string | undefined; keepLogs: boolean },
): { service: BenchService; serving: Promise<void> } {
  const { port, metricsPort, database } = options;
  let errors = 0;
  let stderr = "";
  let ready = false;
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL_BYTES);
  });
  const serving = new Promise<void>((resolve, reject) => {
    let pending = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      errors += text.split('"level":"error"').length - 1;
      if (options.keepLogs) output += text;
      if (ready) return;
      pending += text;
      if (pending.includes('"msg":"serving"')) {
        ready = true;
        pending = "";
        resolve();
      } else {
        pending = pending.slice(-STDERR_TAIL_BYTES);
      }
    });
    child.once("exit", (code, signal) => {
      if (!ready) reject(new Error(`${name} exited (${signal ?? code}) before serving:\n${stderr}`));
    });
    const poll = setInterval(async () => {
      if (ready || child.exitCode !== null) return clearInterval(poll);
      if ((await accepts(port)) && (await accepts(metricsPort)) && !ready) {
        ready = true;
        clearInterval(poll);
        resolve();
      }
    }, 250);
  });
  serving.catch(() => undefined);
  return {
    service: {
      name,
      process: child,
      pid: child.pid ?? 0,
      port,
      metricsPort,
      ...(database ? { database } : {}),
      errorLines: () => errors,
      stderrTail: () => stderr,
      logs: () => output.split("\n").filter((line) => line !== ""),
    },
    serving,
  };
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

/** SIGTERM (the service drains), then SIGKILL if it has not exited after `graceMs`. */
async function stopProcess(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
