/** Writes the dashboards described in dashboards.ts to dashboards/*.json (npm run generate:dashboards). */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dashboardFiles } from "./dashboards.js";

const dir = new URL("./dashboards/", import.meta.url);
mkdirSync(dir, { recursive: true });
const files = dashboardFiles();
for (const stale of readdirSync(dir).filter((name) => !files.has(name))) rmSync(new URL(stale, dir));
for (const [name, json] of files) writeFileSync(new URL(name, dir), json);
process.stdout.write(`wrote ${files.size} dashboards to observability/grafana/dashboards/\n`);
