// The Tiltfile and the Dockerfile agree with the manifests and with each other.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { KubeObject } from "./kustomize.js";
import { overlayNames, renderOverlay } from "./overlays.js";

const repoRoot = join(import.meta.dirname, "..");
const tiltfile = readFileSync(join(repoRoot, "Tiltfile"), "utf8");
const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");

/** A top-level `NAME = value` of the Tiltfile: a string, a number or a list of strings. */
function tiltConstant(name: string): string | number | string[] {
  const match = new RegExp(`^${name} = (.+)$`, "m").exec(tiltfile);
  assert.ok(match?.[1], `the Tiltfile defines ${name}`);
  const value = match[1].trim();
  if (value.startsWith("[")) return [...value.matchAll(/"([^"]*)"/g)].map((m) => m[1] as string);
  if (value.startsWith('"')) return value.slice(1, -1);
  return Number(value);
}

const services = tiltConstant("SERVICES") as string[];
const infra = tiltConstant("INFRA") as string[];
const workloadKinds = new Set(["Deployment", "StatefulSet"]);

function workloads(objects: KubeObject[]): KubeObject[] {
  return objects.filter((object) => workloadKinds.has(object.kind));
}
function images(objects: KubeObject[]): string[] {
  return workloads(objects).flatMap((workload) =>
    (
      workload.spec as { template: { spec: { containers: Array<{ image: string }> } } }
    ).template.spec.containers.map((container) => container.image),
  );
}

describe("the Tiltfile", () => {
  it("offers exactly the overlays of mesh/overlays, defaulting to one of them", () => {
    assert.deepEqual([...(tiltConstant("OVERLAYS") as string[])].sort(), overlayNames());
    assert.ok(overlayNames().includes(tiltConstant("DEFAULT_OVERLAY") as string));
  });

  for (const overlay of overlayNames()) {
    it(`${overlay}: builds every tourmesh image the manifests run, and only those`, () => {
      const ours = new Set(images(renderOverlay(overlay)).filter((image) => image.startsWith("tourmesh/")));
      assert.deepEqual([...ours].sort(), services.map((name) => `tourmesh/${name}`).sort());
      assert.match(tiltfile, /for name in SERVICES:\n\s+docker_build\(\n\s+"tourmesh\/" \+ name,/);
    });

    it(`${overlay}: has the workloads the Tiltfile configures by name`, () => {
      const names = new Set(workloads(renderOverlay(overlay)).map((workload) => workload.metadata.name));
      for (const name of [...services, ...infra]) assert.ok(names.has(name), `${name} is a workload`);
    });
  }

  it("forwards the gateway's own port", () => {
    const port = tiltConstant("GATEWAY_PORT");
    const gateway = renderOverlay(tiltConstant("DEFAULT_OVERLAY") as string).find(
      (object) => object.kind === "Service" && object.metadata.name === "gateway",
    );
    assert.ok(gateway, "the gateway has a Service");
    const ports = (gateway.spec as { ports: Array<{ name: string; port: number }> }).ports;
    assert.equal(ports.find((candidate) => candidate.name === "http")?.port, port);
  });

  it("builds every workspace a service image needs, and knows every workspace there is", () => {
    const serviceFolders = readdirSync(join(repoRoot, "services")).filter((folder) =>
      existsSync(join(repoRoot, "services", folder, "package.json")),
    );
    for (const folder of serviceFolders) {
      assert.ok(
        folder === "platform" || services.includes(folder),
        `services/${folder} is built (or is platform)`,
      );
    }
    assert.match(
      tiltfile,
      /PACKAGE_MANIFESTS = \["package\.json", "package-lock\.json", "gen\/package\.json", "services\/platform\/package\.json"\]/,
    );
  });

  it("syncs files where the Dockerfile puts them", () => {
    const syncs = [...tiltfile.matchAll(/sync\("([^"]+)"(?: % name)?, "([^"]+)"(?: % name)?\)/g)];
    assert.ok(syncs.length >= 3);
    assert.match(dockerfile, /^WORKDIR \/app$/m);
    for (const [, local, remote] of syncs) {
      assert.equal(remote, `/app/${local}`);
      const copied = (local as string).replace("%s", `\${SERVICE}`).replace(/\/src$/, "");
      assert.match(
        dockerfile,
        new RegExp(`^COPY .*${copied.replace(/[$/{}]/g, "\\$&")} `, "m"),
        `${local} is copied`,
      );
    }
  });

  it("installs the Linkerd whose CRD schemas the manifests are validated against", (t) => {
    const readme = join(repoRoot, "..", "shared", "schemas", "README.md");
    if (!existsSync(readme)) {
      t.skip("../shared/schemas is absent: the Linkerd version is not compared with the schemas'");
      return;
    }
    assert.ok(readFileSync(readme, "utf8").includes(tiltConstant("LINKERD_VERSION") as string));
  });
});

describe("the Dockerfile", () => {
  it("builds on an exactly pinned Node, the major version the tests run on", () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/m.exec(
      dockerfile,
    );
    assert.ok(image, "NODE_IMAGE names an exact Node version");
    assert.equal(image[1], process.versions.node.split(".")[0]);
    for (const from of dockerfile.matchAll(/^FROM (\S+)/gm)) assert.equal(from[1], `\${NODE_IMAGE}`);
  });

  it("is multi-stage, takes the service as a build argument and runs it as a non-root user", () => {
    assert.ok([...dockerfile.matchAll(/^FROM /gm)].length >= 2);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    assert.match(finalStage, /^ARG SERVICE$/m);
    const user = [...finalStage.matchAll(/^USER (\d+):(\d+)$/gm)].at(-1);
    assert.ok(user && Number(user[1]) > 0, "the last USER is a numeric non-root uid");
    assert.match(finalStage, /^WORKDIR \/app\/services\/\$\{SERVICE\}$/m);
    assert.match(finalStage, /^CMD \["node", "--import", "tsx", "src\/main\.ts"\]$/m);
  });

  it("builds from a context without modules, secrets, git history or tests", () => {
    const ignored = readFileSync(join(repoRoot, ".dockerignore"), "utf8").split("\n");
    for (const entry of ["**/node_modules", ".git", ".tourmesh", "**/*.spec.ts"])
      assert.ok(ignored.includes(entry), entry);
  });
});
