import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import {
  findExecutable,
  prometheusMissing,
  type ScrapeTarget,
  startPrometheus,
} from "@tourmesh/observability/prometheus";
import { postgresBinaries, startNatsServer, startRedisServer } from "@tourmesh/platform/testing";
import { scrapeTargets } from "./prometheus.js";
import { infrastructure, services, standardDatabaseServerUrl } from "./topology.js";

const { postgres, nats, redis, prometheus, postgresExporter } = infrastructure;

/** True when something accepts TCP connections on host:port. */
export function reachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function waitUntilReachable(
  name: string,
  host: string,
  port: number,
  timeoutMs = 20_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await reachable(host, port)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${name} did not come up on ${host}:${port}`);
}

/** The stack's message servers: each is started under the state folder when none answers on its port. */
const messageServers = [
  {
    name: "NATS with JetStream",
    endpoint: nats,
    executable: "nats-server",
    install: "Debian/Ubuntu: apt-get install nats-server; macOS: brew install nats-server",
    folder: "nats",
    start: (binary: string, storeDir: string) => startNatsServer({ port: nats.port, storeDir, binary }),
  },
  {
    name: "Redis",
    endpoint: redis,
    executable: "redis-server",
    install: "Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis",
    folder: "redis",
    start: (binary: string, dir: string) => startRedisServer({ port: redis.port, dir, binary }),
  },
];

export interface Infrastructure {
  /** What was started here (empty when everything was already running). */
  started: string[];
  /** What is optional and not there, and the package that brings it. */
  missing: string[];
  /** Where Prometheus answers, when it runs. */
  prometheusUrl?: string;
  stop(): void;
}

/**
 * Makes sure the topology's PostgreSQL, NATS with JetStream and Redis are there: reuses each when reachable,
 * otherwise starts a private one under `.tourmesh/` from the installed server, or says what to install.
 * Then the optional ones: Postgres's exporter and Prometheus, scraping every service's standard metrics port
 * with observability/'s rules, each reused when reachable, else started from Debian's package when installed,
 * else named in `missing`. A reused Prometheus keeps its own configuration.
 */
export async function ensureInfrastructure(stateDir: string): Promise<Infrastructure> {
  const children: Array<{ name: string; kill(): void }> = [];
  const started: string[] = [];
  const missing: string[] = [];

  if (!(await reachable(postgres.host, postgres.port))) {
    const bin = postgresBinaries();
    if (!bin) {
      throw new Error(
        `PostgreSQL is not running on ${postgres.host}:${postgres.port} and no server is installed: install one ` +
          "(Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) or start yours.",
      );
    }
    const dataDir = join(stateDir, "postgres");
    if (!existsSync(join(dataDir, "PG_VERSION"))) {
      mkdirSync(dataDir, { recursive: true });
      await run(join(bin, "initdb"), ["-D", dataDir, "-U", postgres.user, "--auth=trust"]);
    }
    const server = spawn(
      join(bin, "postgres"),
      ["-D", dataDir, "-h", postgres.host, "-p", String(postgres.port), "-k", dataDir],
      { stdio: "ignore" },
    );
    children.push({ name: "postgres", kill: () => server.kill("SIGINT") });
    await waitUntilReachable("PostgreSQL", postgres.host, postgres.port);
    started.push(`PostgreSQL (data in ${dataDir})`);
  }

  for (const server of messageServers) {
    const { host, port } = server.endpoint;
    if (await reachable(host, port)) continue;
    const binary = findExecutable(server.executable);
    if (!binary) {
      throw new Error(
        `${server.name} is not running on ${host}:${port} and ${server.executable} is not installed: install it ` +
          `(${server.install}) or start yours.`,
      );
    }
    const dir = join(stateDir, server.folder);
    mkdirSync(dir, { recursive: true });
    const running = await server.start(binary, dir);
    children.push({ name: server.folder, kill: () => void running.stop() });
    started.push(`${server.name} (in ${dir})`);
  }

  const targets: ScrapeTarget[] = scrapeTargets(services);
  const exporterAddress = `${postgresExporter.host}:${postgresExporter.port}`;
  if (await reachable(postgresExporter.host, postgresExporter.port)) {
    targets.push({ job: "postgres", address: exporterAddress });
  } else {
    const binary = findExecutable("prometheus-postgres-exporter");
    if (binary) {
      const exporter = spawn(binary, [`--web.listen-address=${exporterAddress}`], {
        stdio: "ignore",
        env: { ...process.env, DATA_SOURCE_NAME: `${standardDatabaseServerUrl}?sslmode=disable` },
      });
      children.push({ name: "postgres-exporter", kill: () => exporter.kill("SIGTERM") });
      await waitUntilReachable("prometheus-postgres-exporter", postgresExporter.host, postgresExporter.port);
      targets.push({ job: "postgres", address: exporterAddress });
      started.push(`Postgres's metrics exporter on ${exporterAddress}`);
    } else {
      missing.push("Postgres's metrics: install Debian's prometheus-postgres-exporter");
    }
  }

  let prometheusUrl: string | undefined = `http://${prometheus.host}:${prometheus.port}`;
  if (!(await reachable(prometheus.host, prometheus.port))) {
    if (findExecutable("prometheus")) {
      const dataDir = join(stateDir, "prometheus");
      const server = await startPrometheus({ targets, port: prometheus.port, dataDir });
      children.push({ name: "prometheus", kill: () => void server.stop() });
      started.push(`Prometheus (data in ${dataDir})`);
    } else {
      prometheusUrl = undefined;
      missing.push(prometheusMissing);
    }
  }

  return {
    started,
    missing,
    prometheusUrl,
    stop() {
      for (const child of children.reverse()) child.kill();
    },
  };
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "ignore" });
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`)),
    );
    child.once("error", reject);
  });
}
