// The Tiltfile and the Dockerfile agree with the manifests, with each other and with the bundle build.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { serviceNames } from "@tourmesh/stack/topology";
import { buildBundles, bundleDir, bundleEntry, SHIPPED_ENV } from "../../tools/build.js";
import { overlayNames, renderOverlay } from "./overlays.js";
import { Manifests } from "./policy.js";
import { repoRoot, sharedSchemasDir } from "./repo-paths.js";

const tiltfile = readFileSync(join(repoRoot, "Tiltfile"), "utf8");
const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");

interface Stage {
  name: string;
  /** The image or earlier stage it starts FROM. */
  base: string;
  /** Its instructions after the FROM line. */
  body: string;
}

/** The Dockerfile's stages in order; an unnamed stage is named by its index, as Docker does. */
const stages: Stage[] = dockerfile
  .split(/^(?=FROM )/m)
  .slice(1)
  .map((text, index) => {
    const from = /^FROM (\S+)(?: AS (\S+))?\n/.exec(text);
    assert.ok(from?.[1], `stage ${index} starts with FROM`);
    return { name: from[2] ?? String(index), base: from[1], body: text.slice(from[0].length) };
  });

function stage(name: string): Stage {
  const found = stages.find((candidate) => candidate.name === name);
  assert.ok(found, `the Dockerfile has a stage ${name}`);
  return found;
}

/** A stage's instructions together with those of the stages it is built FROM, the earliest first. */
function lineage(name: string): string {
  const current = stage(name);
  const parent = stages.find((candidate) => candidate.name === current.base);
  return (parent ? `${lineage(parent.name)}\n` : "") + current.body;
}

/** The instructions of a stage (or of its lineage) that are last of their kind: what the image keeps. */
function last(body: string, instruction: string): string | undefined {
  return [...body.matchAll(new RegExp(`^${instruction} (.+)$`, "gm"))].at(-1)?.[1];
}

/** Kubernetes quantities as the manifests write memory: 128Mi, 1Gi. */
function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  assert.ok(match?.[1], `${quantity} is in Mi or Gi`);
  return Number(match[1]) * (match[2] === "Gi" ? 1024 : 1);
}

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
const observability = tiltConstant("OBSERVABILITY") as string[];
const pods = (overlay: string) => new Manifests(renderOverlay(overlay)).podTemplates();
const containers = (overlay: string) => pods(overlay).flatMap((pod) => pod.spec.containers);

describe("the Tiltfile", () => {
  it("builds the services of the topology (stack/src/topology.ts), and only those", () => {
    assert.deepEqual([...services].sort(), [...serviceNames].sort());
  });

  it("gives the services the topology's local-only settings, read from the topology itself", () => {
    assert.match(tiltfile, /decode_json\(local\("npx tsx stack\/src\/local-settings\.ts"/);
    assert.doesNotMatch(tiltfile, /SEED_DEMO_USERS/);
  });

  it("offers exactly the overlays of mesh/overlays, defaulting to one of them", () => {
    assert.deepEqual([...(tiltConstant("OVERLAYS") as string[])].sort(), overlayNames());
    assert.ok(overlayNames().includes(tiltConstant("DEFAULT_OVERLAY") as string));
  });

  for (const overlay of overlayNames()) {
    it(`${overlay}: builds every tourmesh image the manifests run, and only those`, () => {
      const images = containers(overlay).map((container) => container.image);
      const ours = new Set(images.filter((image) => image.startsWith("tourmesh/")));
      assert.deepEqual([...ours].sort(), services.map((name) => `tourmesh/${name}`).sort());
      assert.match(tiltfile, /for name in SERVICES:\n\s+docker_build\(\n\s+"tourmesh\/" \+ name,/);
    });

    it(`${overlay}: has the workloads the Tiltfile configures by name`, () => {
      const names = new Set(pods(overlay).map((pod) => pod.workload.metadata.name));
      for (const name of [...services, ...infra, ...observability])
        assert.ok(names.has(name), `${name} is a workload`);
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

  it("runs every observability workload of mesh/base/observability as a resource of its own", () => {
    // Workloads named after their app (catalog-v2 and payment-faulty are catalog's and payment's).
    const others = pods(tiltConstant("DEFAULT_OVERLAY") as string)
      .map((pod) => pod.workload.metadata.name)
      .filter((name) => !services.includes(name) && !infra.includes(name))
      .filter((name) => name !== "catalog-v2");
    assert.deepEqual([...observability].sort(), others.sort());
    assert.match(tiltfile, /if name in OBSERVABILITY:\n\s+port, links = OBSERVABILITY_UIS\.get\(name, /);
  });

  it("forwards Prometheus, Grafana and Jaeger to the ports their Services serve, and links their pages there", () => {
    const objects = renderOverlay(tiltConstant("DEFAULT_OVERLAY") as string);
    const uis: Array<[string, string, string]> = [
      ["prometheus", "PROMETHEUS_PORT", "http"],
      ["grafana", "GRAFANA_PORT", "http"],
      ["jaeger", "JAEGER_PORT", "query"],
    ];
    assert.match(tiltfile, /port_forwards = \["%d:%d" % \(port, port\)\] if port else \[\],/);
    for (const [name, constant, portName] of uis) {
      const service = objects.find((object) => object.kind === "Service" && object.metadata.name === name);
      assert.ok(service, `${name} has a Service`);
      const ports = (service.spec as { ports: Array<{ name: string; port: number }> }).ports;
      assert.equal(
        ports.find((candidate) => candidate.name === portName)?.port,
        tiltConstant(constant),
        constant,
      );
      const start = tiltfile.indexOf(`    "${name}": (${constant}, [`);
      assert.ok(start >= 0, `OBSERVABILITY_UIS forwards ${name} on ${constant}`);
      const entry = tiltfile.slice(start, tiltfile.indexOf("]),\n", start));
      const links = [...entry.matchAll(/link\("http:\/\/localhost:%d[^"]*" % (\w+), "[^"]+"\)/g)];
      assert.ok(links.length > 0, `${name} has links`);
      for (const [, port] of links) assert.equal(port, constant, `${name}'s links go to its forward`);
    }
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

  it("builds the Dockerfile's dev target, which runs the TypeScript through tsx", () => {
    assert.match(tiltfile, /docker_build\([^)]*\n\s+target = "dev",\n/);
    const dev = lineage("dev");
    assert.match(last(dev, "CMD") ?? "", /^\["node", "--import", "tsx", "src\/main\.ts"\]$/);
    assert.match(last(dev, "WORKDIR") ?? "", /^\/app\/services\/\$\{SERVICE\}$/);
    // Tilt's entrypoint: tsx is a development dependency, so the dev image installs those.
    assert.match(tiltfile, /entrypoint = \["\/app\/node_modules\/\.bin\/tsx", "watch",/);
    assert.match(dev, /^RUN .*npm ci(?! .*--omit=dev)/m);
  });

  it("syncs files where the dev image has them", () => {
    const syncs = [...tiltfile.matchAll(/sync\("([^"]+)"(?: % name)?, "([^"]+)"(?: % name)?\)/g)];
    assert.ok(syncs.length >= 3);
    const dev = lineage("dev");
    assert.match(dev, /^WORKDIR \/app$/m);
    for (const [, local, remote] of syncs) {
      assert.equal(remote, `/app/${local}`);
      const copied = (local as string).replace("%s", `\${SERVICE}`).replace(/\/src$/, "");
      assert.match(
        dev,
        new RegExp(`^COPY .*${copied.replace(/[$/{}]/g, "\\$&")} `, "m"),
        `${local} is copied`,
      );
    }
  });

  for (const overlay of overlayNames()) {
    it(`${overlay}: gives the services more memory under tilt up than the bundles get in the cluster`, () => {
      const ours = containers(overlay).filter((container) => container.image.startsWith("tourmesh/"));
      const devLimit = mebibytes(tiltConstant("DEV_MEMORY_LIMIT") as string);
      for (const container of ours) {
        const limit = container.resources?.limits?.memory;
        assert.ok(limit, `${container.image} has a memory limit for the Tiltfile to raise`);
        assert.ok(devLimit > mebibytes(String(limit)), `${container.image}: ${devLimit}Mi > ${limit}`);
      }
    });
  }

  it("installs the Linkerd whose CRD schemas the manifests are validated against", (t) => {
    const readme = join(sharedSchemasDir, "README.md");
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
    stages.forEach((current, index) => {
      const earlier = stages.slice(0, index).map((candidate) => candidate.name);
      assert.ok(
        current.base === `\${NODE_IMAGE}` ||
          earlier.includes(current.base) ||
          (current.name === "production" && current.base === "scratch"),
        `${current.name} starts from NODE_IMAGE or an earlier stage (production: from nothing)`,
      );
    });
  });

  it("takes the service as a build argument and runs it as a non-root user, in production and in dev", () => {
    for (const name of ["production", "dev"]) {
      assert.match(stage(name).body, /^ARG SERVICE$/m, name);
      const user = /^(\d+):(\d+)$/.exec(last(lineage(name), "USER") ?? "");
      assert.ok(user && Number(user[1]) > 0, `${name}: the last USER is a numeric non-root uid`);
    }
  });

  it("ships, by default, the bundle run by node as PID 1, on the production dependencies only", () => {
    const production = stages.at(-1);
    assert.equal(production?.name, "production", "production is the last stage: the default target");
    // From nothing: node and the libraries it loads come from the runtime stage, and no shell comes along.
    assert.equal(production.base, "scratch");
    assert.equal(stage("runtime").base, `\${NODE_IMAGE}`);
    const { body } = production;
    assert.equal(last(body, "WORKDIR"), "/app");
    // Exec form with node first: node is PID 1 and receives SIGTERM.
    assert.equal(last(body, "CMD"), `["node", "main.mjs"]`);
    assert.equal(basename(bundleEntry("any")), "main.mjs", "the image runs the file tools/build.ts writes");
    const fromStages = [...body.matchAll(/^COPY (?:--\S+ )*--from=(\S+) (\S+) (\S+)$/gm)].map(
      ([, from, source, target]) => ({ from, source, target }),
    );
    assert.deepEqual(fromStages, [
      { from: "runtime", source: "/runtime", target: "/" },
      { from: "dependencies", source: "/app", target: "./" },
      { from: "build", source: `/app/${bundleDir(`\${SERVICE}`)}/`, target: "./" },
    ]);
    assert.doesNotMatch(body, /^COPY (?!--from)/m, "nothing from the build context: sources stay out");
    assert.match(stage("dependencies").body, /^RUN .*npm ci --omit=dev /m);
  });

  it("runs the services in the environment the benchmarks measure the bundles in", () => {
    const production = stage("production").body;
    const environment = Object.fromEntries(
      [...production.matchAll(/^ENV (\w+)="([^"]*)"$/gm)].map(([, name, value]) => [name, value]),
    );
    // PATH besides: an image from nothing has none, and the CMD finds node through it.
    assert.deepEqual(environment, { PATH: "/usr/local/bin", ...SHIPPED_ENV });
    assert.match(SHIPPED_ENV.NODE_OPTIONS ?? "", /--max-old-space-size=\d+/);
    assert.doesNotMatch(production, /^ENV (?!\w+="[^"]*"$)/m, "one variable per ENV line, quoted");
  });

  it("builds the bundle with tools/build.ts and everything that script imports", () => {
    const build = stage("build").body;
    assert.match(build, /^RUN node --import tsx tools\/build\.ts "\$\{SERVICE\}"$/m);
    const copied = [...build.matchAll(/^COPY (.+)$/gm)].flatMap(([, args]) =>
      (args as string).split(" ").slice(0, -1),
    );
    const ignored = readFileSync(join(repoRoot, ".dockerignore"), "utf8").split("\n");
    const script = join(repoRoot, "tools", "build.ts");
    for (const [, local] of readFileSync(script, "utf8").matchAll(/ from "(\.[^"]+)\.js";/g)) {
      const file = `tools/${(local as string).replace(/^\.\//, "")}.ts`;
      assert.ok(copied.includes(file), `the build stage copies ${file}`);
      assert.ok(ignored.includes(`!${file}`), `.dockerignore lets ${file} into the build context`);
    }
    assert.ok(copied.includes("tools/build.ts") && ignored.includes("!tools/build.ts"));
    // The one workspace module it imports: the topology, which has no imports of its own.
    assert.match(readFileSync(script, "utf8"), / from "@tourmesh\/stack\/topology";/);
    assert.ok(copied.includes("stack/src/topology.ts"), "the build stage copies stack/src/topology.ts");
    assert.doesNotMatch(readFileSync(join(repoRoot, "stack/src/topology.ts"), "utf8"), /^import /m);
    // The sources the bundle is built from: the workspaces, whose folders hold the migrations too.
    for (const folder of ["gen", "services/platform", `services/\${SERVICE}`])
      assert.match(lineage("build"), new RegExp(`^COPY .* ${folder.replace(/[$/{}]/g, "\\$&")} `, "m"));
  });

  it("builds from a context without modules, secrets, git history or tests", () => {
    const ignored = readFileSync(join(repoRoot, ".dockerignore"), "utf8").split("\n");
    for (const entry of ["**/node_modules", ".git", ".tourmesh", "**/*.spec.ts", "dist"])
      assert.ok(ignored.includes(entry), entry);
  });
});

describe("the packages", () => {
  const manifest = (path: string) =>
    JSON.parse(readFileSync(join(repoRoot, path), "utf8")) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };

  it("need neither tsx nor esbuild at run time: the image runs JavaScript", () => {
    const workspaces = ["gen", ...readdirSync(join(repoRoot, "services")).map((name) => `services/${name}`)];
    for (const workspace of workspaces) {
      if (!existsSync(join(repoRoot, workspace, "package.json"))) continue;
      const dependencies = manifest(`${workspace}/package.json`).dependencies ?? {};
      for (const tool of ["tsx", "esbuild"])
        assert.ok(!(tool in dependencies), `${workspace} depends on ${tool}`);
    }
    const root = manifest("package.json");
    assert.ok(root.devDependencies?.tsx, "tsx is a development dependency");
    const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string }>;
    };
    assert.equal(
      root.devDependencies?.esbuild,
      lock.packages["node_modules/esbuild"]?.version,
      "esbuild, pinned",
    );
  });
});

describe("the bundle folder tools/build.ts writes (the production image's /app)", () => {
  const outRoot = mkdtempSync(join(tmpdir(), "tourmesh-bundles-"));
  const services = tiltConstant("SERVICES") as string[];
  before(() => buildBundles(services, { outRoot, log: () => undefined }));
  after(() => rmSync(outRoot, { recursive: true, force: true }));

  for (const service of services) {
    it(`${service}: holds the bundle, its source map and every file the bundle names by a relative URL`, () => {
      const entry = bundleEntry(service, outRoot);
      const bundle = readFileSync(entry, "utf8");
      assert.ok(existsSync(`${entry}.map`), "the source map");
      // tools/build.ts turns `new URL("<path>", import.meta.url)` into a URL relative to the source file's
      // place in the folder; each must name something the folder holds.
      const named = [
        ...bundle.matchAll(/new URL\("([^"]+)", new URL\("(\.\/[^"]+)", import\.meta\.url\)\.href\)/g),
      ];
      const ownMigrations = join(repoRoot, "services", service, "migrations");
      if (existsSync(ownMigrations)) assert.ok(named.length > 0, "the bundle reads its migrations");
      for (const [, path, source] of named) {
        const file = fileURLToPath(new URL(path as string, new URL(source as string, pathToFileURL(entry))));
        assert.ok(existsSync(file), `${file} exists`);
        const original = join(repoRoot, file.slice(dirname(entry).length + 1));
        if (statSync(original).isDirectory())
          assert.deepEqual(readdirSync(file).sort(), readdirSync(original).sort(), `${file} is a full copy`);
        else assert.ok(readFileSync(file).equals(readFileSync(original)), `${file} is a copy`);
      }
    });
  }
});
