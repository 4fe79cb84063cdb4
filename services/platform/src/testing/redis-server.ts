import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";

export interface RedisServer {
  url: string;
  /** The running server's process id; undefined while it is stopped. */
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM, or SIGKILL for a crash) and waits for it to exit. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts it again on the same port; it comes back empty (nothing is persisted). */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open and every command hangs, as on a stalled host. */
  pause(): void;
  /** Lets a paused server run again (SIGCONT). */
  resume(): void;
  /** Stops it and, when its folder is temporary, deletes it. */
  close(): Promise<void>;
}

const redisServerBinary = process.env.REDIS_SERVER_BIN ?? "redis-server";

/**
 * Starts Debian's redis-server on 127.0.0.1 without persistence (no RDB snapshots, no AOF: a restart comes back
 * empty, as a cache should): on `port` with its working folder `dir` (kept), or by default on a free port in a
 * temporary folder (deleted by `close`), for tests that kill or freeze Redis without disturbing the shared one.
 */
export async function startRedisServer(
  placement: { port: number; dir: string; binary?: string } | undefined = undefined,
): Promise<RedisServer> {
  const port = placement?.port ?? (await freePort());
  const dir = placement?.dir ?? (await mkdtemp(join(tmpdir(), "tourmesh-redis-")));
  const binary = placement?.binary ?? redisServerBinary;
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"];
    const started = spawn(binary, [...args, "--dir", dir, "--daemonize", "no", "--logfile", ""], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = started;
    const output: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server did not start:\n${output.join("")}`)),
        10_000,
      );
      const onOutput = (chunk: Buffer) => {
        output.push(chunk.toString());
        if (output.join("").includes("Ready to accept connections")) {
          clearTimeout(timer);
          started.stdout?.off("data", onOutput);
          started.stdout?.resume();
          resolve();
        }
      };
      started.stdout?.on("data", onOutput);
      started.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
      started.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      started.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output.join("")}`));
      });
    });
  };
  const stop = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM") => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, "exit");
    running.kill("SIGCONT");
    running.kill(signal);
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
    async close() {
      await stop();
      if (!placement) await rm(dir, { recursive: true, force: true });
    },
  };
}
