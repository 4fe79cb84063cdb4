/**
 * A Prometheus server from Debian's `prometheus` package, configured by renderPrometheusConfig: the demo's
 * (on the topology's port, its data kept under .tourmesh/) and the private ones specs start on a free port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "@tourmesh/platform/testing";
import { findExecutable } from "../executable.js";
import { renderPrometheusConfig, type ScrapeTarget } from "./config.js";

export const prometheusMissing =
  "Prometheus is not installed: install Debian's prometheus package (apt-get install prometheus; " +
  "macOS: brew install prometheus)";

export interface PrometheusOptions {
  targets: readonly ScrapeTarget[];
  /** Where it listens on 127.0.0.1; a free port by default. */
  port?: number;
  /** Where its configuration and its time series go, kept; by default a temporary folder removed on stop. */
  dataDir?: string;
  /** Scrape and rule evaluation interval (see renderPrometheusConfig). */
  interval?: string;
  /** How long it keeps samples. */
  retention?: string;
  readyTimeoutMs?: number;
}

export interface RunningPrometheus {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  dataDir: string;
  /** SIGTERM, waits for it to exit, and removes a temporary data folder. */
  stop(): Promise<void>;
}

const STDERR_TAIL_BYTES = 4_096;

/** Starts Prometheus scraping the targets with the rules, and resolves once it answers /-/ready. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const binary = findExecutable("prometheus");
  if (!binary) throw new Error(prometheusMissing);
  const port = options.port ?? (await freePort());
  const temporary = options.dataDir === undefined;
  const dataDir = resolve(options.dataDir ?? (await mkdtemp(join(tmpdir(), "tourmesh-prometheus-"))));
  await mkdir(dataDir, { recursive: true });
  const configFile = join(dataDir, "prometheus.yml");
  await writeFile(
    configFile,
    renderPrometheusConfig({ targets: options.targets, interval: options.interval }),
  );
  const child = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dataDir, "data")}`,
      `--storage.tsdb.retention.time=${options.retention ?? "15d"}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL_BYTES);
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child, exited);
    if (temporary) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(url, exited, options.readyTimeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return { url, port, dataDir, stop };
}

async function waitUntilReady(url: string, exited: Promise<number | null>, timeoutMs: number) {
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (exitCode !== undefined) throw new Error(`prometheus exited with ${exitCode}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`prometheus was not ready on ${url} within ${timeoutMs} ms`);
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  await exited;
}
