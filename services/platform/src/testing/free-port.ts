import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * A free TCP port on 127.0.0.1, chosen up front for a server that binds it a moment later, or binds it again
 * after a restart (a service the chaos run kills, a NATS server a test restarts). It is taken below the kernel's
 * ephemeral range: a port from that range could meanwhile go to an outgoing connection (to Postgres, say).
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
    if (bound) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
}
