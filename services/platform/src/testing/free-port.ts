import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A port handed out is claimed by a file this long; a claim older than that is taken as abandoned. */
const CLAIM_LIFETIME_MS = 30 * 60_000;
const claimed = new Set<string>();
process.once("exit", () => {
  for (const file of claimed) rmSync(file, { force: true });
});

/**
 * Claims `port` for this process across every process on the machine (test files run side by side, each
 * choosing ports for servers that bind them later): a file in the temporary folder, created only if no live
 * claim exists, removed when this process exits.
 */
function claim(port: number): boolean {
  const file = join(tmpdir(), `tourmesh-port-${port}`);
  try {
    if (Date.now() - statSync(file).mtimeMs < CLAIM_LIFETIME_MS) return false;
    rmSync(file, { force: true });
  } catch {
    // No claim yet.
  }
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
  } catch {
    return false;
  }
  claimed.add(file);
  return true;
}

/**
 * A free TCP port on 127.0.0.1, chosen up front for a server that binds it a moment later, or binds it again
 * after a restart (a service the chaos run kills, a NATS server a test restarts). It is taken below the kernel's
 * ephemeral range: a port from that range could meanwhile go to an outgoing connection (to Postgres, say). No
 * other process of this machine's tests is handed the same port while this one lives (see claim).
 */
export async function freePort(): Promise<number> {
  const ephemeralStart = Number(
    readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0] ?? 32768,
  );
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (ephemeralStart - 10_000));
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (bound) await new Promise((resolve) => server.close(resolve));
    if (bound && claim(port)) return port;
  }
}
