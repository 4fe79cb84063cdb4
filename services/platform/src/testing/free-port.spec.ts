import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
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

  it("never hands a port to two processes at once", async () => {
    const mine = new Set(await Promise.all(Array.from({ length: 200 }, () => freePort())));
    assert.equal(mine.size, 200, "one process got a port twice");
    // Another process asking for many ports gets none of this one's.
    const script = `import("./services/platform/src/testing/free-port.ts").then(async ({ freePort }) => {
      const ports = [];
      for (let i = 0; i < 200; i++) ports.push(await freePort());
      process.stdout.write(JSON.stringify(ports));
    })`;
    const theirs = JSON.parse(
      execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        encoding: "utf8",
      }),
    ) as number[];
    assert.deepEqual(
      theirs.filter((port) => mine.has(port)),
      [],
    );
  });
});
