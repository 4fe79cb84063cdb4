import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** Where Debian installs servers (nats-server, say): not on an ordinary user's PATH. */
const serverDirs = ["/usr/local/sbin", "/usr/sbin"];

/** The named executable on PATH or among the servers' folders, or undefined when there is none. */
export function findExecutable(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), ...serverDirs]) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}
