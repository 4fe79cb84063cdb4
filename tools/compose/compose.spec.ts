import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { findExecutable } from "@tourmesh/observability/prometheus";
import { services } from "@tourmesh/stack/topology";
import { parse } from "yaml";
import { readWorkload, restrictionsOf } from "../images/workloads.js";
import { composeFile } from "./compose.js";

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
      for (const [name, value] of Object.entries(workload.settings)) {
        if (name === "MESH_MODE") continue;
        assert.equal(service.environment?.[name], value.replace(".tourmesh.svc.cluster.local", ""), name);
      }
      // It starts once everything it calls or reads from is healthy.
      for (const peer of spec.peers) assert.ok(service.depends_on?.[peer], `${spec.name} waits for ${peer}`);
      if (spec.database)
        assert.match(service.environment?.DATABASE_URL ?? "", new RegExp(`@postgres:5432/${spec.database}$`));
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
