import { defineConfig } from "vite";

/**
 * `npm run build:web` (web/build.ts) builds with this; `npm run dev:web` serves the app with hot reload and
 * passes every call (paths `/tourmesh.<service>...`) to the gateway of the running stack.
 */
export default defineConfig({
  root: import.meta.dirname,
  build: {
    target: "es2022",
    // Every file under assets/ is named by its content hash: the gateway serves them as immutable.
    assetsDir: "assets",
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      "^/tourmesh\\.": { target: process.env.GATEWAY_URL ?? "http://localhost:8080" },
    },
  },
});
