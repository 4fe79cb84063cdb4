import * as assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startServiceProcess } from "./service-process.js";
import { waitFor } from "./wait-for.js";

/** Lines the fake service writes after "serving": about 2 MB, far more than a pipe holds unread. */
const LINES_AFTER_SERVING = 2_000;

/** A stand-in for a service: logs "serving", then a burst of log lines, then exits by itself. */
const chattyService = `
console.log(JSON.stringify({ msg: "serving", grpc_port: 1234, metrics_port: 5678 }));
const line = JSON.stringify({ msg: "call handled", padding: "x".repeat(1_000) });
for (let i = 0; i < ${LINES_AFTER_SERVING}; i++) console.log(line);
console.log(JSON.stringify({ msg: "done" }));
`;

describe("startServiceProcess", () => {
  let dir: string;
  let entry: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tourmesh-service-process-"));
    entry = join(dir, "chatty-service.mjs");
    writeFileSync(entry, chattyService);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps every log line by default", async () => {
    const service = await startServiceProcess(entry, { EVENTS_STREAM: "unused" });
    const [code] = await once(service.process, "exit");
    assert.equal(code, 0);
    assert.equal(service.grpcPort, 1234);
    assert.equal(service.metricsPort, 5678);
    await waitFor("the last log line", async () => service.logs.at(-1)?.msg === "done");
    assert.equal(service.logs.length, LINES_AFTER_SERVING + 2);
  });

  it("with keepLogs: false keeps the lines up to serving and drains the rest unparsed", async () => {
    const service = await startServiceProcess(entry, { EVENTS_STREAM: "unused" }, { keepLogs: false });
    // Undrained, the service would block on its full stdout pipe and never exit by itself.
    const [code] = await once(service.process, "exit");
    assert.equal(code, 0);
    assert.deepEqual(
      service.logs.map((line) => line.msg),
      ["serving"],
    );
  });
});
