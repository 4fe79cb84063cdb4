/**
 * `npm run build:web`: builds the web app with Vite into web/dist, where the gateway serves it from (its
 * WEB_APP_DIR), writes a gzip copy beside every text file (the gateway sends it to browsers that accept gzip)
 * and prints what the first load costs: the JavaScript index.html loads, gzip-compressed.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "vite";

const webRoot = import.meta.dirname;

/** Where the built app lives: the gateway's default WEB_APP_DIR. */
export const webAppDir = join(webRoot, "dist");

/** The design's budget for JavaScript on first load, gzip-compressed (kB = 1,000 bytes). */
export const FIRST_LOAD_BUDGET_BYTES = 120_000;

const compressible = /\.(js|css|html|svg|json|txt|map)$/;

export interface FirstLoad {
  /** The scripts index.html loads, by path under the app, with their gzip sizes. */
  scripts: Array<{ path: string; gzipBytes: number }>;
  gzipBytes: number;
}

/**
 * The JavaScript a browser fetches before the app can run: index.html's module scripts and the modules it
 * preloads. Chunks loaded later by `import()` (the OTLP exporter, when tracing is configured) are not counted.
 */
export function firstLoadJavaScript(dir = webAppDir): FirstLoad {
  const html = readFileSync(join(dir, "index.html"), "utf8");
  const paths = [
    ...html.matchAll(/<script[^>]*\stype="module"[^>]*\ssrc="([^"]+)"/g),
    ...html.matchAll(/<link[^>]*\srel="modulepreload"[^>]*\shref="([^"]+)"/g),
  ].map(([, path]) => path as string);
  const scripts = paths.map((path) => ({
    path,
    gzipBytes: gzipSync(readFileSync(join(dir, path)), { level: 9 }).length,
  }));
  return { scripts, gzipBytes: scripts.reduce((sum, script) => sum + script.gzipBytes, 0) };
}

function writeGzipCopies(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !compressible.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
  }
}

function swapIn(staging: string): void {
  const previous = `${staging}-previous`;
  if (existsSync(webAppDir)) renameSync(webAppDir, previous);
  renameSync(staging, webAppDir);
  rmSync(previous, { recursive: true, force: true });
}

/**
 * Builds into a fresh folder beside web/dist and then moves it into place, so that web/dist, when it exists,
 * always holds a whole build: a build that fails or is cut short leaves the previous one.
 */
export async function buildWebApp({ log = (line: string) => console.log(line) } = {}): Promise<FirstLoad> {
  const started = performance.now();
  const staging = join(webRoot, `dist-${process.pid}-${Date.now()}`);
  try {
    await build({
      configFile: join(webRoot, "vite.config.ts"),
      logLevel: "warn",
      build: { outDir: staging, emptyOutDir: true },
    });
    writeGzipCopies(staging);
    swapIn(staging);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const firstLoad = firstLoadJavaScript();
  log(`built ${resolve(webAppDir)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const script of firstLoad.scripts)
    log(`  ${script.path}  ${(script.gzipBytes / 1000).toFixed(1)} kB gzip`);
  log(
    `JavaScript on first load: ${(firstLoad.gzipBytes / 1000).toFixed(1)} kB gzip ` +
      `(budget ${FIRST_LOAD_BUDGET_BYTES / 1000} kB)`,
  );
  return firstLoad;
}

/** Builds the app unless web/dist already holds a build. */
export async function ensureWebApp(options?: { log?: (line: string) => void }): Promise<void> {
  if (!existsSync(join(webAppDir, "index.html"))) await buildWebApp(options);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const firstLoad = await buildWebApp();
  if (firstLoad.gzipBytes > FIRST_LOAD_BUDGET_BYTES) {
    console.error(`over budget by ${((firstLoad.gzipBytes - FIRST_LOAD_BUDGET_BYTES) / 1000).toFixed(1)} kB`);
    process.exit(1);
  }
}
