// Runs every *.spec.ts in the repository with node:test (through tsx), or only the files given.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const skipped = new Set(["node_modules", ".git", "gen", ".tourmesh"]);

function findSpecs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return skipped.has(entry.name) ? [] : findSpecs(path);
    return entry.name.endsWith(".spec.ts") ? [path] : [];
  });
}

const files = process.argv.length > 2 ? process.argv.slice(2) : findSpecs(".").sort();
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", "--test-concurrency=2", ...files],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
