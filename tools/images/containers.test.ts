// The container test (`npm run test:containers`, a step of .ci/run of its own: it builds every image, which
// takes minutes). Every service's production image is built here, and the whole stack is run from them, each
// container held to its Deployment's restrictions (read from mesh/base): non-root uid, read-only root, no
// capabilities, no privilege escalation, the memory and CPU limits. The containers share the host's network,
// so they reach this machine's Postgres, NATS and Redis, each on free ports, with fresh databases and streams,
// wired by the stack as the local processes are. The cluster's end-to-end check plays the booking journey
// through the containerised gateway; then each container gets SIGTERM and must drain and exit 0.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type ExternalCommand, type Stack, serviceNames, startStack } from "@tourmesh/stack";
import type { ServiceName } from "@tourmesh/stack/topology";
import { type Engine, findEngine, run } from "./engine.js";
import { type BuiltImage, buildImages, IMAGE_BUDGET_BYTES, removeImages } from "./images.js";
import { readWorkload, restrictionsOf, runFlags } from "./workloads.js";

const repoRoot = join(import.meta.dirname, "..", "..");
const engine = findEngine(join(repoRoot, ".tourmesh"));
/** The engine, within the suite, which is skipped without one. */
const active = (): Engine => engine as Engine;
const runId = randomBytes(4).toString("hex");
const containerName = (service: ServiceName) => `tourmesh-test-${service}-${runId}`;
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Runs the service's image in the foreground, on the host's network, under its Deployment's restrictions. */
function containerCommand(engine: Engine, service: ServiceName, image: string): ExternalCommand {
  const restrictions = runFlags(restrictionsOf(readWorkload(service)));
  return {
    argv: (settings) => [
      engine.runner,
      "run",
      "--rm",
      "--name",
      containerName(service),
      "--network",
      "host",
      ...restrictions,
      ...settings.flatMap((name) => ["--env", name]),
      image,
    ],
    env: engine.env,
  };
}

describe("every service from its image, in containers under the pods' restrictions", {
  skip:
    !engine &&
    "neither a Docker engine nor buildah and podman are installed (apt-get install buildah podman runc debootstrap uidmap)",
}, () => {
  let images: BuiltImage[] = [];
  let stack: Stack | undefined;
  const exitCodes = new Map<ServiceName, number | null>();

  before(async () => {
    const started = performance.now();
    images = await buildImages(active(), serviceNames, {
      tag: `test-${runId}`,
      stateDir: join(repoRoot, ".tourmesh"),
      log: (line) => console.log(line),
    });
    console.log(`${images.length} images built in ${seconds(performance.now() - started)}`);
    const imageOf = (service: ServiceName) => images.find((image) => image.service === service)?.image ?? "";
    stack = await startStack({
      prefix: "containers",
      command: (service) => containerCommand(active(), service, imageOf(service)),
    });
  });

  after(async () => {
    await stack?.stop();
    if (!engine) return;
    // Whatever a failure left running; the base image and the build's layers stay as a cache.
    await run(engine, engine.runner, ["rm", "--force", "--ignore", ...serviceNames.map(containerName)]).catch(
      (error: unknown) => console.error(String(error)),
    );
    await removeImages(
      engine,
      images.map((image) => image.image),
    ).catch((error: unknown) => console.error(String(error)));
  });

  it("builds every image within the size budget, with no shell in it", async () => {
    assert.deepEqual(
      images.map((image) => image.service),
      [...serviceNames],
    );
    for (const image of images) {
      assert.ok(image.bytes <= IMAGE_BUDGET_BYTES, `${image.image} is ${megabytes(image.bytes)}`);
      const shell = await run(active(), active().runner, [
        "run",
        "--rm",
        image.image,
        "sh",
        "-c",
        "true",
      ]).then(
        () => "ran",
        (error: Error) => error.message,
      );
      assert.match(shell, /executable file not found/, `${image.image} runs no shell`);
    }
  });

  it("serves every service from its container, restricted as its Deployment says", async () => {
    const running = stack as Stack;
    for (const service of serviceNames) {
      const { readyMs } = running.process(service);
      console.log(`${service}: SERVING ${seconds(readyMs)} after its container was started`);
      const [inspected] = JSON.parse(
        await run(active(), active().runner, ["inspect", containerName(service)]),
      ) as Array<{
        Config: { User: string };
        HostConfig: {
          ReadonlyRootfs: boolean;
          SecurityOpt: string[];
          Memory: number;
        };
      }>;
      const restrictions = restrictionsOf(readWorkload(service));
      assert.equal(inspected?.Config.User, restrictions.user, service);
      assert.equal(inspected?.HostConfig.ReadonlyRootfs, true, service);
      assert.equal(inspected?.HostConfig.Memory, restrictions.memoryBytes, service);
      assert.ok(
        inspected?.HostConfig.SecurityOpt.some((option) => option.startsWith("no-new-privileges")),
        service,
      );
      // As the container sees itself: podman's top reads the container's processes (docker's runs the host's
      // ps, which sees host pids), so this part is podman's. `node` is the image's name for uid 1000.
      if (active().runner !== "podman") continue;
      const status = await run(active(), active().runner, [
        "top",
        containerName(service),
        "pid",
        "user",
        "capeff",
        "args",
      ]);
      const [, pid1] = status.trim().split("\n");
      assert.match(
        pid1 ?? "",
        /^1\s+node\s+none\s+node main\.mjs$/,
        `${service}: node main.mjs is PID 1, as uid 1000, with no capabilities`,
      );
    }
  });

  it("plays the booking journey through the containerised gateway", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "mesh", "checks", "cluster-e2e.ts")],
      { env: { ...process.env, TOURMESH_GATEWAY_URL: (stack as Stack).gatewayUrl }, timeout: 120_000 },
    );
    console.log(stdout.trim());
    assert.match(stdout, /booking \S+ confirmed/);
    assert.match(stdout, /end-to-end check passed/);
  });

  it("drains each container on SIGTERM and sees it exit 0", async () => {
    const running = stack as Stack;
    // The gateway first, then each service after those that call it, as a rollout would take them down.
    for (const service of [...serviceNames].reverse()) {
      const process = running.process(service);
      const started = performance.now();
      exitCodes.set(service, await process.stop("SIGTERM"));
      const said = process.logs.map((line) => line.msg);
      console.log(
        `${service}: exited ${exitCodes.get(service)} ${seconds(performance.now() - started)} after SIGTERM`,
      );
      assert.ok(
        said.includes("draining") && said.includes("stopped"),
        `${service} drained: ${said.join(", ")}`,
      );
    }
    assert.deepEqual(
      Object.fromEntries(exitCodes),
      Object.fromEntries(serviceNames.map((name) => [name, 0])),
    );
  });
});
