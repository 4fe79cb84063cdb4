import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { freePort } from "./free-port.js";

const ephemeralStart = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\s+/)[0]);

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });

describe("freePort", () => {
  it("gives ports outside the kernel's ephemeral range that a server can bind at once", async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      assert.ok(
        port >= 10_000 && port < ephemeralStart,
        `port ${port} is in the range [10000, ${ephemeralStart})`,
      );
      const server = await listen(port);
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
