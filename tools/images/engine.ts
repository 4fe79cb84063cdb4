/**
 * The container tools this machine has, and how they are called: Docker where an engine answers, otherwise
 * Debian's daemonless pair, buildah to build and podman to run. Both read one containers.conf, written here at
 * run time (CONTAINERS_CONF), that fits them to a machine without systemd or crun: runc as the runtime, cgroups
 * managed directly, and default ulimits no higher than this shell's hard limits (podman's defaults, a million
 * open files, would fail every container start where the hard limit is lower).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export interface Engine {
  /** "docker", or "buildah" (which builds; podman runs). */
  kind: "docker" | "buildah";
  /** The command that runs containers: docker or podman. */
  runner: string;
  /** What every call of the tools gets in its environment (CONTAINERS_CONF for buildah and podman). */
  env: Record<string, string>;
}

function succeeds(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore", timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

/** The shell's hard limit on `ulimit -<flag>`, or undefined when unlimited. */
function hardLimit(flag: "n" | "u"): number | undefined {
  const value = execFileSync("bash", ["-c", `ulimit -H${flag}`], { encoding: "utf8" }).trim();
  return value === "unlimited" ? undefined : Number(value);
}

/** Processes per container: podman's usual default, lowered to the hard limit where that is lower. */
const NPROC = 32_768;

/** Writes the containers.conf that buildah and podman read here, into `stateDir`; returns its path. */
export function writeContainersConf(stateDir: string): string {
  const nofile = hardLimit("n") ?? 1_048_576;
  const nproc = Math.min(NPROC, hardLimit("u") ?? NPROC);
  const dir = resolve(stateDir, "containers");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "containers.conf");
  writeFileSync(
    path,
    [
      "# Written by tools/images/engine.ts at each run: the limits follow the machine's.",
      "[containers]",
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
      "[engine]",
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      "",
    ].join("\n"),
  );
  return path;
}

/**
 * Docker when its engine answers (`docker info`), else buildah with podman, else undefined. A docker client
 * without an engine, as some machines have, does not count.
 */
export function findEngine(stateDir: string): Engine | undefined {
  if (succeeds("docker", ["info"])) return { kind: "docker", runner: "docker", env: {} };
  if (succeeds("buildah", ["--version"]) && succeeds("podman", ["--version"])) {
    return { kind: "buildah", runner: "podman", env: { CONTAINERS_CONF: writeContainersConf(stateDir) } };
  }
  return undefined;
}

/** Runs a command to its end with the engine's environment; its output goes to `log` line by line. */
export function run(
  engine: Engine | undefined,
  command: string,
  args: string[],
  options: { log?: (line: string) => void; cwd?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...engine?.env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    let stdout = "";
    let tail = "";
    const onOutput = (chunk: Buffer, keep: boolean) => {
      const text = chunk.toString();
      if (keep) stdout += text;
      tail = (tail + text).slice(-4_000);
      if (options.log) for (const line of text.split("\n")) if (line.trim()) options.log(line);
    };
    child.stdout.on("data", (chunk: Buffer) => onOutput(chunk, true));
    child.stderr.on("data", (chunk: Buffer) => onOutput(chunk, false));
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(" ")} failed (${signal ?? code}):\n${tail}`));
    });
  });
}
