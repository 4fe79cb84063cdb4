import prefresh from "@prefresh/vite";
import { defineConfig } from "vite";

/** What `npm run dev:web` passes on to the gateway of the running stack: every call, and the flags. */
const gatewayPaths = ["^/tourmesh\\.", "^/ofrep/"];

/**
 * `npm run build:web` (web/build.ts) builds with this; `npm run dev:web` serves the app with hot reload
 * (Prefresh: an edited component is swapped in place and keeps its state) and passes the gateway's paths to
 * the running stack's gateway (GATEWAY_URL).
 */
export default defineConfig({
  root: import.meta.dirname,
  // Preact's automatic JSX runtime, said here for Prefresh, which reads it from this config.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  plugins: [await prefresh()],
  build: {
    target: "es2022",
    // Every file under assets/ is named by its content hash: the gateway serves them as immutable.
    assetsDir: "assets",
    reportCompressedSize: false,
  },
  server: {
    proxy: Object.fromEntries(
      gatewayPaths.map((path) => [path, { target: process.env.GATEWAY_URL ?? "http://localhost:8080" }]),
    ),
  },
});
