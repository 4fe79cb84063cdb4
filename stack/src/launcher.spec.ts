import * as assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it } from "node:test";
import { freePort, waitFor } from "@tourmesh/platform/testing";
import { type LaunchOptions, launchService, sourceCommand } from "./launcher.js";

/** Lines the fake service writes after serving: about 2 MB, far more than a pipe holds unread. */
const LINES_AFTER_SERVING = 2_000;

async function fake(env: Record<string, string>, options: Partial<LaunchOptions> = {}) {
  return launchService({
    name: "fake",
    command: sourceCommand(new URL("./fixtures/fake-service.ts", import.meta.url).pathname),
    port: await freePort(),
    metricsPort: await freePort(),
    env,
    ...options,
  });
}

describe("launchService", () => {
  it("is ready only once the process answers its health check with SERVING", async () => {
    const started = Date.now();
    const service = await fake({ SERVING_AFTER_MS: "1500" });
    try {
      assert.ok(Date.now() - started >= 1_500, "resolved before the service said SERVING");
      assert.ok(service.logs.some((line) => line.msg === "serving"));
    } finally {
      assert.equal(await service.stop(), 0);
    }
  });

  it("keeps every log line, and counts the error lines", async () => {
    const service = await fake({ LOG_LINES: String(LINES_AFTER_SERVING), EXIT_AFTER_LOGS: "1" });
    await once(service.process, "exit");
    await waitFor("the last log line", async () => service.logs.at(-1)?.msg === "done");
    assert.equal(service.logs.length, LINES_AFTER_SERVING + 2);
    assert.equal(service.errorLines(), 1);
  });

  it('with logs: "drop" drains the output unparsed and still counts the error lines', async () => {
    const service = await fake(
      { LOG_LINES: String(LINES_AFTER_SERVING), EXIT_AFTER_LOGS: "1" },
      { logs: "drop" },
    );
    // Undrained, the service would block on its full stdout pipe and never exit by itself.
    const [code] = await once(service.process, "exit");
    assert.equal(code, 0);
    assert.deepEqual(service.logs, []);
    assert.equal(service.errorLines(), 1);
  });

  it("hands every line to a printer when given one", async () => {
    const lines: string[] = [];
    const service = await fake(
      { LOG_LINES: "3", EXIT_AFTER_LOGS: "1" },
      { logs: (line) => lines.push(line) },
    );
    await once(service.process, "exit");
    await waitFor("the last line", async () => lines.at(-1)?.includes('"done"') ?? false);
    assert.equal(lines.length, 5);
  });

  it("rejects with what the process wrote when it exits before serving", async () => {
    await assert.rejects(
      fake({ EXIT_AT_START: "78" }),
      /fake exited \(78\) before serving:\nfake-service: refusing to start/,
    );
  });

  it("restarts a process that dies, on the same port, until stopped", async () => {
    const service = await fake({}, { restart: true });
    const first = service.process.pid;
    service.process.kill("SIGKILL");
    await waitFor("a restart", async () => service.restarts() === 1 && service.process.pid !== first);
    await service.ready();
    assert.notEqual(service.process.pid, first);
    assert.equal(await service.stop(), 0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(service.restarts(), 1, "a stopped service is not restarted");
  });
});
