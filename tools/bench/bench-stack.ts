/**
 * The whole local stack for a benchmark (see @tourmesh/stack): every service of the topology (or those a benchmark names) on free ports,
 * each on a fresh database, with private event streams, run as they ship (runner "dist": the bundles
 * `npm run build` writes to `dist/<service>/`, each run from its folder by plain node in the image's
 * environment) or from their TypeScript through tsx (as in development). Their output is drained unread
 * unless the benchmark keeps it: under load, parsing every line would cost the load client's CPU.
 * `stop()` (and Ctrl-C, see cleanup.ts) stops the processes and removes the databases and streams.
 */
import { existsSync } from "node:fs";
import { basename, dirname } from "node:path";
import {
  type ServiceCommand,
  type ServiceName,
  type Stack,
  sourceCommand,
  startStack,
} from "@tourmesh/stack";
import type pg from "pg";
import { buildBundles, bundleEntry, SHIPPED_ENV } from "../build.js";
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

/** The gateway's settings for a benchmark: the edge's rate limits would throttle the load itself. */
export const unlimitedGateway = { RATE_LIMIT_PER_IP_RPS: "0", RATE_LIMIT_PER_USER_RPS: "0" };

/** Generous: on a loaded 2-core machine seven services compiling their TypeScript at once take a while. */
const READY_TIMEOUT_MS = 90_000;

/** A bundle runs as the image runs it: `node main.mjs` in its folder (the image's /app), in its environment. */
function commandOf(runner: Runner) {
  return (name: ServiceName): ServiceCommand => {
    if (runner === "tsx") return sourceCommand(`services/${name}/src/main.ts`);
    const bundle = bundleEntry(name);
    if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run \`npm run build\` first`);
    return { flags: [], entry: basename(bundle), cwd: dirname(bundle), env: { ...SHIPPED_ENV } };
  };
}

export interface BenchStackOptions {
  runner: Runner;
  /** Which services to run; default every one. */
  services?: readonly ServiceName[];
  /** Extra Node flags for every service, e.g. ["--cpu-prof", "--cpu-prof-dir=<absolute path>"]. */
  nodeArgs?: string[];
  /** Extra environment for every service. */
  env?: Record<string, string>;
  /** Redis for the services that cache reads; default the local one. */
  redisUrl?: string;
  /** Keep every log line (for checks). */
  keepLogs?: boolean;
}

export async function startBenchStack(options: BenchStackOptions): Promise<Stack> {
  const stack = await startStack({
    ...(options.services ? { services: options.services } : {}),
    prefix: "bench",
    command: commandOf(options.runner),
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    env: { "*": options.env ?? {}, gateway: unlimitedGateway },
    logs: options.keepLogs ? "keep" : "drop",
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  const stop = stack.stop;
  const forget = onInterrupt(stop);
  return Object.assign(stack, {
    async stop() {
      forget();
      await stop();
    },
  });
}

/** The pid of a service's current process. */
export const pidOf = (stack: Stack, name: ServiceName): number => stack.process(name).process.pid ?? 0;

/** Runs `sql` on the server through the first database of the stack; only server-wide views are asked. */
async function serverQuery<Row extends pg.QueryResultRow>(stack: Stack, sql: string, values: unknown[] = []) {
  const [first] = stack.databases.keys();
  if (!first) throw new Error("the stack has no database");
  return stack.query<Row>(first, sql, values);
}

const databaseNames = (stack: Stack) => [...stack.databases.values()].map((database) => database.name);

/** The pids of the Postgres backends serving the stack's databases right now. */
export async function postgresBackends(stack: Stack): Promise<number[]> {
  const rows = await serverQuery<{ pid: number }>(
    stack,
    "SELECT pid FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()",
    [databaseNames(stack)],
  );
  return rows.map((row) => row.pid);
}

/** The pids of Postgres's own processes (WAL writer, checkpointer, background writer, ...): no database's. */
export async function postgresServerProcesses(stack: Stack): Promise<number[]> {
  const rows = await serverQuery<{ pid: number }>(
    stack,
    "SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'",
  );
  return rows.map((row) => row.pid);
}

/** Per service, its open database connections and how many are in use (running or inside a transaction). */
export async function databaseConnections(
  stack: Stack,
): Promise<Map<string, { open: number; busy: number }>> {
  const rows = await serverQuery<{ datname: string; open: number; busy: number }>(
    stack,
    `SELECT datname, count(*)::int AS open, count(*) FILTER (WHERE state <> 'idle')::int AS busy
       FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid() GROUP BY datname`,
    [databaseNames(stack)],
  );
  const byDatabase = new Map(rows.map((row) => [row.datname, row]));
  const connections = new Map<string, { open: number; busy: number }>();
  for (const [service, database] of stack.databases) {
    const row = byDatabase.get(database.name);
    connections.set(service, { open: row?.open ?? 0, busy: row?.busy ?? 0 });
  }
  return connections;
}
