import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { findExecutable } from "@tourmesh/observability/prometheus";
import { freePort } from "@tourmesh/platform/testing";
import { launchService, reachable, sourceCommand } from "@tourmesh/stack";
import { services } from "@tourmesh/stack/topology";
import { parse } from "yaml";
import { readWorkload, restrictionsOf } from "../images/workloads.js";
import { CLUSTER_ONLY_SETTINGS, composeFile } from "./compose.js";

const repoRoot = join(import.meta.dirname, "..", "..");
const committed = readFileSync(join(repoRoot, "compose.yaml"), "utf8");

interface ComposeService {
  image: string;
  environment?: Record<string, string>;
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  mem_limit?: number;
  depends_on?: Record<string, { condition: string }>;
}

describe("compose.yaml", () => {
  it("is what tools/compose/compose.ts generates (npm run generate:compose)", () => {
    assert.equal(committed, composeFile());
  });

  const compose = parse(committed) as { services: Record<string, ComposeService> };

  it("runs every service of the topology and the infrastructure, each from the image the cluster runs", () => {
    assert.deepEqual(
      Object.keys(compose.services).sort(),
      [...["postgres", "nats", "redis"], ...services.map((spec) => spec.name)].sort(),
    );
    for (const name of ["postgres", "nats", "redis"])
      assert.equal(compose.services[name]?.image, readWorkload(name).container.image, name);
  });

  it("gives each service the cluster's settings and restrictions, without the mesh's", () => {
    for (const spec of services) {
      const service = compose.services[spec.name] as ComposeService;
      const workload = readWorkload(spec.name);
      const restrictions = restrictionsOf(workload);
      assert.equal(service.user, restrictions.user);
      assert.equal(service.read_only, true);
      assert.deepEqual(service.cap_drop, ["ALL"]);
      assert.equal(service.mem_limit, restrictions.memoryBytes);
      assert.equal(service.environment?.MESH_MODE, undefined, `${spec.name}: no mesh, the app retries`);
      assert.equal(service.environment?.OTEL_EXPORTER_OTLP_ENDPOINT, undefined, `${spec.name}: no collector`);
      for (const [name, value] of Object.entries(workload.settings)) {
        if (CLUSTER_ONLY_SETTINGS.has(name)) continue;
        assert.equal(service.environment?.[name], value.replace(".tourmesh.svc.cluster.local", ""), name);
      }
      // It starts once everything it calls or reads from is healthy.
      for (const peer of spec.peers) assert.ok(service.depends_on?.[peer], `${spec.name} waits for ${peer}`);
      if (spec.database)
        assert.match(service.environment?.DATABASE_URL ?? "", new RegExp(`@postgres:5432/${spec.database}$`));
    }
  });

  it("checks a service's health as its readiness probe does: healthy when it serves, not before", async () => {
    const [command, ...args] = (
      compose.services.catalog as ComposeService & { healthcheck: { test: string[] } }
    ).healthcheck.test.slice(1);
    assert.equal(command, "node");
    const check = (port: number) =>
      new Promise<number | null>((resolve) =>
        execFile(process.execPath, args, { env: { ...process.env, PORT: String(port) } }, (error) =>
          resolve(error ? (error.code as number) : 0),
        ),
      );
    const fakeService = join(repoRoot, "stack", "src", "fixtures", "fake-service.ts");
    const starting = await freePort();
    assert.equal(await check(starting), 1, "nothing listens");
    // A server that answers NOT_SERVING, as a service does while it starts and while it drains.
    const notServing = spawn(process.execPath, ["--import", "tsx", fakeService], {
      env: { ...process.env, PORT: String(starting), SERVING_AFTER_MS: "600000" },
      stdio: "ignore",
    });
    try {
      while (!(await reachable("127.0.0.1", starting))) await sleep(100);
      assert.equal(await check(starting), 1, "NOT_SERVING");
    } finally {
      notServing.kill();
    }
    const port = await freePort();
    const service = await launchService({
      name: "fake",
      command: sourceCommand(fakeService),
      port,
      metricsPort: await freePort(),
    });
    try {
      assert.equal(await check(port), 0, "SERVING");
    } finally {
      await service.stop();
    }
  });

  it("is a valid Compose file for docker-compose", (t) => {
    // .ci/run installs it: under CI its absence fails the check.
    if (!findExecutable("docker-compose") && process.env.CI !== "true") {
      t.skip("docker-compose is not installed (Debian: apt-get install docker-compose)");
      return;
    }
    execFileSync("docker-compose", ["-f", join(repoRoot, "compose.yaml"), "config", "-q"], { stdio: "pipe" });
  });
});
