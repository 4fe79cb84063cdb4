import { existsSync, readdirSync } from "node:fs";

/** The services of the repository: every `services/<name>` with a `src/main.ts` (the platform is a library). */
export function serviceNames(): string[] {
  return readdirSync("services", { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(`services/${entry.name}/src/main.ts`))
    .map((entry) => entry.name)
    .sort();
}
