import * as assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { openLogFiles, searchLogs } from "./log-files.js";

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString();
const line = (service: string, second: number, msg: string, fields: Record<string, unknown> = {}) =>
  JSON.stringify({ level: "info", time: at(second), service, msg, ...fields });

const traceA = "a".repeat(32);
const traceB = "b".repeat(32);

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tourmesh-logs-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe("the log files and their search", () => {
  it("finds one trace's lines in every service's file, merged in time order", async (t) => {
    const dir = await folder(t);
    const files = openLogFiles(dir);
    files.write("booking", line("booking", 3, "charged", { trace_id: traceA }));
    files.write("gateway", line("gateway", 1, "handled", { trace_id: traceA, request_id: "req-1" }));
    files.write("payment", line("payment", 2, "handled", { trace_id: traceA }));
    files.write("payment", line("payment", 2, "handled", { trace_id: traceB }));
    files.write("catalog", "not JSON, mentioning aaaa but no trace");
    files.write("gateway", line("gateway", 4, "handled", { trace_id: traceB, request_id: "req-2" }));
    await files.close();

    const found = await searchLogs(dir, { traceId: traceA });
    assert.deepEqual(
      found.map(({ service, fields }) => `${service} ${fields.msg}`),
      ["gateway handled", "payment handled", "booking charged"],
    );
    assert.deepEqual(await searchLogs(dir, { traceId: "c".repeat(32) }), []);
  });

  it("finds a request's lines through the traces the gateway logged it with", async (t) => {
    const dir = await folder(t);
    const files = openLogFiles(dir);
    files.write("gateway", line("gateway", 5, "handled", { trace_id: traceB, request_id: "req-2" }));
    files.write("booking", line("booking", 4, "created", { trace_id: traceB }));
    files.write("booking", line("booking", 6, "created", { trace_id: traceA }));
    await files.close();

    const found = await searchLogs(dir, { requestId: "req-2" });
    assert.deepEqual(
      found.map(({ service, time }) => `${service} ${time}`),
      [`booking ${at(4)}`, `gateway ${at(5)}`],
    );
    assert.deepEqual(await searchLogs(dir, { requestId: "req-9" }), []);
    assert.deepEqual(await searchLogs(join(dir, "absent"), { requestId: "req-2" }), []);
  });

  it("rotates a file at its size, keeps only so many, and searches the rotated ones too", async (t) => {
    const dir = await folder(t);
    const files = openLogFiles(dir, { size: "1K", kept: 2 });
    const padding = "x".repeat(200);
    for (let second = 0; second < 40; second++) {
      files.write("review", line("review", second, "handled", { trace_id: traceA, padding }));
      // Rotation happens between writes, as the stream drains.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await files.close();

    assert.deepEqual(readdirSync(dir).sort(), ["review.log", "review.log.1", "review.log.2"]);
    const found = await searchLogs(dir, { traceId: traceA });
    assert.ok(found.length > 5 && found.length < 40, `older lines are gone, newer kept: ${found.length}`);
    const times = found.map(({ time }) => time);
    assert.deepEqual(times, [...times].sort());
    assert.equal(times.at(-1), at(39));
  });
});
