/**
 * `npm run build`: bundles each service into `dist/<service>/`, a folder that holds everything the service
 * runs from besides node_modules, laid out as the production image's /app (see the Dockerfile):
 *
 *   main.mjs, main.mjs.map       the service and the workspace code it imports (@tourmesh/*), one ES module;
 *                                npm packages stay external and load from node_modules as usual
 *   services/…/migrations/…      the files the code reads at run time, at their paths in the repository
 *
 * Run it with plain `node dist/<service>/main.mjs` (no TypeScript compiler at run time). The folder stands in
 * for the repository root: `import.meta.url` in a source file becomes that file's own path under it, so
 * `new URL("../migrations", import.meta.url)` in services/catalog/src/main.ts still finds
 * services/catalog/migrations, and the build copies what such a URL names into the folder. Any other use of
 * `import.meta` fails the build rather than resolve against the bundle. npm packages resolve from the
 * repository's node_modules, not a workspace's own (which the image does not have beside the bundle), so a
 * package installed only inside a workspace fails the build too.
 *
 *   npm run build [-- catalog booking]   (default: every service)
 */
import { cpSync, existsSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { serviceNames } from "@tourmesh/stack/topology";
import { build, type Plugin } from "esbuild";

const repoRoot = resolve(import.meta.dirname, "..");

/**
 * The environment the production image runs every service in: V8's heap sizes, and glibc's malloc told to
 * hand large blocks back to the system when freed. The Dockerfile says why; mesh/checks/tiltfile.spec.ts
 * checks that it sets exactly these, and the benchmarks run the bundles with them, so that they measure the
 * image.
 */
export const SHIPPED_NODE_OPTIONS = ["--max-semi-space-size=2", "--max-old-space-size=128"];
export const SHIPPED_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS: SHIPPED_NODE_OPTIONS.join(" "),
  GLIBC_TUNABLES: "glibc.malloc.mmap_threshold=131072",
};

/** Where `npm run build` puts a service; the image's /app holds the same files. */
export const bundleDir = (service: string, outRoot = "dist") => join(outRoot, service);
export const bundleEntry = (service: string, outRoot = "dist") =>
  join(bundleDir(service, outRoot), "main.mjs");

/** `new URL("<relative path>", import.meta.url)`: a file or folder read at run time. */
const runTimeFile = /new URL\(\s*"([^"]+)",\s*import\.meta\.url\s*\)/g;

/** The package a bare import names: `pg`, `@grpc/grpc-js` (of `@grpc/grpc-js/build/src/x.js`). */
function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return (specifier.startsWith("@") ? parts.slice(0, 2) : parts.slice(0, 1)).join("/");
}

/** The node_modules folder a package resolves from, looking up from `dir` as Node does. */
function installedIn(name: string, dir: string): string | undefined {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, "node_modules", name))) return join(current, "node_modules");
    if (current === dirname(current)) return undefined;
  }
}

function keepSourceBehaviour(runTimeFiles: Set<string>): Plugin {
  return {
    name: "keep-source-behaviour",
    setup(builder) {
      builder.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith("@tourmesh/")) return undefined; // the workspace: bundled
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const name = packageName(args.path);
        const from = installedIn(name, args.resolveDir);
        if (from !== join(repoRoot, "node_modules")) {
          return {
            errors: [
              {
                text: `${name} resolves from ${from ?? "nowhere"}, not from the repository's node_modules, where the bundle looks for it`,
              },
            ],
          };
        }
        return { path: args.path, external: true };
      });
      builder.onLoad({ filter: /\.ts$/ }, async (args) => {
        const source = await readFile(args.path, "utf8");
        if (!source.includes("import.meta")) return undefined;
        const understood = source.replaceAll(runTimeFile, "");
        if (understood.includes("import.meta")) {
          return {
            errors: [
              {
                text: `${relative(repoRoot, args.path)} uses import.meta other than in new URL("<literal path>", import.meta.url): the bundle cannot know what it needs at run time`,
              },
            ],
          };
        }
        for (const [, path] of source.matchAll(runTimeFile))
          runTimeFiles.add(fileURLToPath(new URL(path as string, pathToFileURL(args.path))));
        const fromRoot = relative(repoRoot, args.path).split(sep).join("/");
        return {
          contents: source.replaceAll(
            "import.meta.url",
            `new URL(${JSON.stringify(`./${fromRoot}`)}, import.meta.url).href`,
          ),
          loader: "ts",
          resolveDir: dirname(args.path),
        };
      });
    },
  };
}

/**
 * Run-time files that are made by a build rather than kept in the repository, and how to make each when it is
 * missing: the gateway serves the web app from web/dist. Imported on demand, so that bundling any other
 * service needs neither web/ nor Vite.
 */
const builtRunTimeFiles = new Map<string, () => Promise<void>>([
  [join(repoRoot, "web", "dist"), async () => (await import("../web/build.js")).ensureWebApp()],
]);

async function buildService(service: string, outRoot: string): Promise<void> {
  const outDir = resolve(repoRoot, bundleDir(service, outRoot));
  rmSync(outDir, { recursive: true, force: true });
  const runTimeFiles = new Set<string>();
  await build({
    entryPoints: [join(repoRoot, "services", service, "src", "main.ts")],
    outfile: resolve(repoRoot, bundleEntry(service, outRoot)),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Read only by `node --enable-source-maps` or a debugger; a plain run ignores it.
    sourcemap: "linked",
    plugins: [keepSourceBehaviour(runTimeFiles)],
    logLevel: "warning",
  });
  for (const file of runTimeFiles) {
    await builtRunTimeFiles.get(file)?.();
    if (!existsSync(file))
      throw new Error(`${service} reads ${relative(repoRoot, file)}, which does not exist`);
    cpSync(file, join(outDir, relative(repoRoot, file)), { recursive: true });
  }
}

/** Bundles the services (default: every one), replacing what `<outRoot>/<service>/` held. */
export async function buildBundles(
  services: readonly string[] = serviceNames,
  { outRoot = "dist", log = (line: string) => console.log(line) } = {},
): Promise<void> {
  const started = performance.now();
  await Promise.all(services.map((service) => buildService(service, outRoot)));
  log(
    `built ${services.map((service) => `${bundleDir(service, outRoot)}/`).join(", ")} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

// Run as a script (npm run build, the image's build stage), not imported by the benchmarks.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const requested = process.argv.slice(2);
  await buildBundles(requested.length > 0 ? requested : undefined);
}
