/**
 * A running stack: any subset of the topology's services as processes, wired to each other the way the
 * topology says (peer addresses, identity's key set, each its own database, events on NATS). The demo runs
 * every service on the standard ports and databases; tests, the chaos run and the benchmarks run on free ports
 * and fresh databases and event streams, which `stop` removes, so that stacks run side by side.
 */

import { randomBytes } from "node:crypto";
import {
  createTestDatabase,
  freePort,
  type TestDatabase,
  type TestEventStreams,
  testEventStreams,
} from "@tourmesh/platform/testing";
import { Redis } from "ioredis";
import pg from "pg";
import {
  type LaunchOptions,
  launchService,
  type ServiceCommand,
  type ServiceProcess,
  sourceCommand,
} from "./launcher.js";
import {
  addressVariable,
  jwksPath,
  type ServiceName,
  type ServiceSpec,
  serviceNames,
  serviceSpec,
  standardDatabaseServerUrl,
  standardNatsUrl,
  standardRedisUrl,
} from "./topology.js";

export interface StackOptions {
  /** Which services to run, default every one. A peer that is not run refuses connections (UNAVAILABLE). */
  services?: readonly ServiceName[];
  /** "free" (default): free ports; "standard": the topology's. */
  ports?: "free" | "standard";
  /**
   * "fresh" (default): a new database per service, named `test_<prefix>_<service>_<random>`, dropped on stop;
   * "standard": each service's own local database by its topology name, kept.
   */
  databases?: "fresh" | "standard";
  /** Names the fresh databases, e.g. "e2e". */
  prefix?: string;
  /** NATS to use; default the local one. */
  natsUrl?: string;
  /**
   * Redis for the services that cache reads; default the local one. With fresh databases their keys get a
   * prefix of this stack's own, deleted on stop, so that stacks side by side never read each other's cache.
   */
  redisUrl?: string;
  /** "private" (default): event streams of this stack's own, deleted on stop; "standard": the TOURMESH stream. */
  events?: "private" | "standard";
  /** Where services that verify tokens fetch the key set when identity is not run (e.g. a test token issuer). */
  jwksUrl?: string;
  /** Extra settings for every service ("*") or one by name; they win over the topology's. */
  env?: Partial<Record<ServiceName | "*", Record<string, string>>>;
  /** How to run a service; default its TypeScript through tsx. */
  command?: (name: ServiceName) => ServiceCommand;
  nodeArgs?: string[];
  /** Restart a service that dies (with a growing delay) until the stack stops. */
  restart?: boolean;
  /** See LaunchOptions.logs; a function also learns which service wrote the line. */
  logs?: "keep" | "drop" | ((service: ServiceName, line: string) => void);
  readyTimeoutMs?: number;
}

export interface StackDatabase {
  name: string;
  url: string;
}

export interface Stack {
  /** The running process of each service of the stack. */
  process(name: ServiceName): ServiceProcess;
  readonly processes: ReadonlyMap<ServiceName, ServiceProcess>;
  /** `127.0.0.1:<port>` of a service of the stack. */
  address(name: ServiceName): string;
  /** `http://127.0.0.1:<port>` of the gateway. */
  readonly gatewayUrl: string;
  /** Milliseconds from the first spawn until every service served. */
  readonly readyMs: number;
  readonly databases: ReadonlyMap<ServiceName, StackDatabase>;
  /** Runs one statement in a service's database and returns the rows. */
  query<Row extends pg.QueryResultRow = Record<string, unknown>>(
    service: ServiceName,
    sql: string,
    values?: unknown[],
  ): Promise<Row[]>;
  /** The settings the stack gives a service: its peers, database, events, key set and local-only settings. */
  environmentOf(name: ServiceName): Record<string, string>;
  /** One more process of a service, wired like the stack's, with `env` on top, on free ports; stopped with the stack. */
  launch(name: ServiceName, env?: Record<string, string>): Promise<ServiceProcess>;
  /**
   * Stops a service with `signal` (SIGTERM: it drains; SIGKILL: a crash), runs `whileStopped`, and starts it
   * again on the same ports and database. Resolves with the old process's exit code.
   */
  restart(
    name: ServiceName,
    options?: { signal?: NodeJS.Signals; whileStopped?: () => Promise<unknown> },
  ): Promise<number | null>;
  /** Error-level log lines of every process the stack ran (with logs: "keep"). */
  errorLogs(): Array<Record<string, unknown>>;
  /** SIGTERM to every process (they drain), then removes the fresh databases and private streams. */
  stop(): Promise<void>;
}

/** Deletes every key under `keyPrefix` (a stack's cache entries, markers and clock). */
async function deleteCacheKeys(redisUrl: string, keyPrefix: string): Promise<void> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    for await (const keys of redis.scanStream({ match: `${keyPrefix}*`, count: 500 }) as AsyncIterable<
      string[]
    >) {
      if (keys.length > 0) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
}

/** The address of a service that is not run: nothing listens on port 1. */
const ABSENT = "127.0.0.1:1";

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const names = serviceNames.filter((name) => (options.services ?? serviceNames).includes(name));
  const specs = names.map(serviceSpec);
  const cleanups: Array<() => Promise<unknown>> = [];
  const everyProcess: ServiceProcess[] = [];
  const running = new Map<ServiceName, ServiceProcess>();
  const clients = new Map<ServiceName, Promise<pg.Client>>();
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => console.error(`stack cleanup: ${String(error)}`));
    }
  };

  try {
    const ports = new Map<ServiceName, { port: number; metricsPort: number }>();
    for (const spec of specs) {
      ports.set(
        spec.name,
        options.ports === "standard"
          ? { port: spec.port, metricsPort: spec.metricsPort }
          : { port: await freePort(), metricsPort: await freePort() },
      );
    }
    const portsOf = (name: ServiceName) => {
      const found = ports.get(name);
      if (!found) throw new Error(`${name} is not part of this stack`);
      return found;
    };

    const databases = new Map<ServiceName, StackDatabase>();
    const withDatabase = specs.filter((spec): spec is ServiceSpec & { database: string } => !!spec.database);
    if (options.databases === "standard") {
      for (const spec of withDatabase) {
        const url = new URL(standardDatabaseServerUrl);
        url.pathname = `/${spec.database}`;
        databases.set(spec.name, { name: spec.database, url: url.toString() });
      }
    } else {
      const prefix = options.prefix ?? "stack";
      const created = await Promise.all(
        withDatabase.map((spec) => createTestDatabase(`${prefix}_${spec.name}`)),
      );
      created.forEach((database: TestDatabase, index) => {
        const spec = withDatabase[index] as ServiceSpec;
        cleanups.push(() => database.drop());
        databases.set(spec.name, { name: new URL(database.url).pathname.slice(1), url: database.url });
      });
    }

    const natsUrl = options.natsUrl ?? standardNatsUrl;
    let streams: TestEventStreams | undefined;
    if (options.events !== "standard") {
      const privateStreams = testEventStreams(natsUrl);
      streams = privateStreams;
      cleanups.push(() => privateStreams.delete());
    }
    const eventsEnv = streams?.env ?? { NATS_URL: natsUrl };
    const redisUrl = options.redisUrl ?? standardRedisUrl;
    const cacheEnv: Record<string, string> = { REDIS_URL: redisUrl };
    if (options.databases !== "standard" && specs.some((spec) => spec.cache)) {
      const keyPrefix = `${options.prefix ?? "stack"}_${randomBytes(4).toString("hex")}:`;
      cacheEnv.CACHE_KEY_PREFIX = keyPrefix;
      cleanups.push(() => deleteCacheKeys(redisUrl, keyPrefix));
    }
    const jwksUrl = ports.has("identity")
      ? `http://127.0.0.1:${portsOf("identity").metricsPort}${jwksPath}`
      : options.jwksUrl;

    const environmentOf = (name: ServiceName): Record<string, string> => {
      const spec = serviceSpec(name);
      const env: Record<string, string> = {};
      for (const peer of spec.peers) {
        env[addressVariable(peer)] = ports.has(peer) ? `127.0.0.1:${portsOf(peer).port}` : ABSENT;
      }
      const database = databases.get(name);
      if (database) env.DATABASE_URL = database.url;
      if (spec.events) Object.assign(env, eventsEnv);
      if (spec.cache) Object.assign(env, cacheEnv);
      if (spec.verifiesTokens && jwksUrl) env.JWKS_URL = jwksUrl;
      return { ...env, ...spec.localOnly, ...options.env?.["*"], ...options.env?.[name] };
    };

    const launchOptions = (
      name: ServiceName,
      placement: { port: number; metricsPort: number },
      env: Record<string, string>,
    ): LaunchOptions => {
      const logs = options.logs;
      return {
        name,
        command: options.command?.(name) ?? sourceCommand(`services/${name}/src/main.ts`),
        ...placement,
        env,
        ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
        restart: options.restart ?? false,
        logs: typeof logs === "function" ? (line: string) => logs(name, line) : (logs ?? "keep"),
        ...(options.readyTimeoutMs ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
      };
    };
    const launched = async (started: Promise<ServiceProcess>) => {
      const service = await started;
      everyProcess.push(service);
      cleanups.push(() => service.stop());
      return service;
    };

    const begin = performance.now();
    const results = await Promise.allSettled(
      names.map(async (name) => {
        running.set(
          name,
          await launched(launchService(launchOptions(name, portsOf(name), environmentOf(name)))),
        );
      }),
    );
    const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failed) throw failed.reason;
    const readyMs = performance.now() - begin;

    cleanups.push(async () => {
      for (const client of clients.values()) await (await client.catch(() => undefined))?.end();
      clients.clear();
    });
    const clientOf = (service: ServiceName): Promise<pg.Client> => {
      const existing = clients.get(service);
      if (existing) return existing;
      const database = databases.get(service);
      if (!database) throw new Error(`${service} has no database in this stack`);
      const client = new pg.Client({ connectionString: database.url });
      client.on("error", () => clients.delete(service));
      const connected = client.connect().then(() => client);
      connected.catch(() => clients.delete(service));
      clients.set(service, connected);
      return connected;
    };

    const processOf = (name: ServiceName) => {
      const found = running.get(name);
      if (!found) throw new Error(`${name} is not running in this stack`);
      return found;
    };
    return {
      process: processOf,
      processes: running,
      address: (name) => processOf(name).address,
      get gatewayUrl() {
        return `http://${processOf("gateway").address}`;
      },
      readyMs,
      databases,
      async query<Row extends pg.QueryResultRow>(service: ServiceName, sql: string, values: unknown[] = []) {
        return (await (await clientOf(service)).query<Row>(sql, values)).rows;
      },
      environmentOf,
      async launch(name, env = {}) {
        const placement = { port: await freePort(), metricsPort: await freePort() };
        return launched(launchService(launchOptions(name, placement, { ...environmentOf(name), ...env })));
      },
      async restart(name, { signal = "SIGTERM", whileStopped } = {}) {
        const exitCode = await processOf(name).stop(signal);
        await whileStopped?.();
        running.set(
          name,
          await launched(launchService(launchOptions(name, portsOf(name), environmentOf(name)))),
        );
        return exitCode;
      },
      errorLogs: () =>
        everyProcess.flatMap((service) =>
          service.logs.filter((line) => line.level === "error" || line.level === "fatal"),
        ),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
