import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** The named executable on PATH, or undefined when there is none. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}
