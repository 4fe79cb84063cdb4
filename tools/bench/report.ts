import { mkdirSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

/** True when the module at `moduleUrl` is the script Node was started with (not imported by another). */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && moduleUrl === pathToFileURL(script).href;
}

/** A Markdown table; numbers are right-aligned. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const align = header.map((_, column) =>
    rows.every((row) => typeof row[column] === "number") ? "---:" : "---",
  );
  return [header, align, ...rows].map((row) => `| ${row.join(" | ")} |`).join("\n");
}

/** The middle value (the upper one of an even count); 0 for none. */
export const median = (numbers: number[]) =>
  [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)] ?? 0;

export const fixed = (value: number, digits = 0) => Number(value.toFixed(digits));

/** Writes `bench-results/<name>.json`. */
export function writeResult(name: string, result: unknown): string {
  mkdirSync("bench-results", { recursive: true });
  const path = `bench-results/${name}.json`;
  writeFileSync(
    path,
    `${JSON.stringify(result, (_key, value) => (typeof value === "bigint" ? Number(value) : value), 2)}\n`,
  );
  return path;
}

export const formatCounts = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([name, count]) => `${name} ${count}`)
    .join(", ") || "none";
