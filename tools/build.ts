/**
 * `npm run build`: bundles each service into one ES module, `dist/<service>.mjs`, run with plain
 * `node dist/<service>.mjs` (no TypeScript compiler at run time). The workspace code (@tourmesh/*) is bundled;
 * npm packages stay external and load from node_modules as usual.
 *
 * `import.meta.url` in a source file is replaced by that file's own URL (relative to the bundle), so that
 * `new URL("../migrations", import.meta.url)` still finds the service's migrations. The bundle hoists the
 * npm packages' imports above the platform's OpenTelemetry set-up (services/platform/src/instrumentation.ts);
 * the grpc instrumentation still patches grpc-js when that set-up requires it, which `npm run check:bundle`
 * proves (one booking's trace id in every service's log line).
 *
 *   npm run build [-- catalog booking]   (default: every service)
 */
import { readFile } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import { serviceNames } from "./workspace.js";

const outDir = resolve("dist");

const keepSourceBehaviour: Plugin = {
  name: "keep-source-behaviour",
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@tourmesh/")) return undefined; // the workspace: bundled
      return { path: args.path, external: true };
    });
    builder.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      if (!source.includes("import.meta.url")) return undefined;
      const fromBundle = relative(outDir, args.path);
      return {
        contents: source.replaceAll(
          "import.meta.url",
          `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`,
        ),
        loader: "ts",
        resolveDir: dirname(args.path),
      };
    });
  },
};

const requested = process.argv.slice(2);
const services = requested.length > 0 ? requested : serviceNames();
const started = performance.now();
await Promise.all(
  services.map((service) =>
    build({
      entryPoints: [`services/${service}/src/main.ts`],
      outfile: `dist/${service}.mjs`,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      // Used when run with --enable-source-maps; plain runs ignore it.
      sourcemap: "linked",
      plugins: [keepSourceBehaviour],
      logLevel: "warning",
    }),
  ),
);
console.log(
  `built ${services.map((service) => `dist/${service}.mjs`).join(", ")} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
