import * as assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { Metadata } from "@grpc/grpc-js";
import { context, trace } from "@opentelemetry/api";
import { type LogExport, startLogExport } from "./log-export.js";
import { createLogger } from "./logger.js";
import { endRpcSpan, startServerSpan } from "./rpc-tracing.js";
import { startTracing } from "./tracing.js";

type Attributes = Array<{ key: string; value: { stringValue?: string; intValue?: string | number } }>;

interface LogsExport {
  resourceLogs: Array<{
    resource: { attributes: Attributes };
    scopeLogs: Array<{
      logRecords: Array<{
        severityText: string;
        body: { stringValue?: string };
        attributes: Attributes;
        traceId?: string;
        spanId?: string;
      }>;
    }>;
  }>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const value = (attributes: Attributes, key: string) => {
  const found = attributes.find((attribute) => attribute.key === key)?.value;
  return found?.stringValue ?? found?.intValue;
};

describe("log lines with an OTLP endpoint", () => {
  const received: Array<{ path: string; body: unknown }> = [];
  const collector = createServer(async (request, response) => {
    received.push({ path: request.url ?? "", body: JSON.parse(await readBody(request)) });
    response.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  let endpoint: string;
  let stopTracing: () => Promise<void>;
  let logExport: LogExport | undefined;

  before(async () => {
    collector.listen(0, "127.0.0.1");
    await once(collector, "listening");
    endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    // The tracer provider makes spans and keeps the active one per call, as in a service.
    stopTracing = await startTracing("log-export-spec", endpoint);
    logExport = await startLogExport("log-export-spec", endpoint);
  });
  after(() => new Promise((resolve) => collector.close(resolve)));

  it("are not exported without an endpoint", async () => {
    assert.equal(await startLogExport("log-export-spec", undefined), undefined);
  });

  it("go to <endpoint>/v1/logs with the service, level, message, fields and the trace of their call, and to stdout", async () => {
    const lines: string[] = [];
    const stdout = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger("log-export-spec", "info", stdout, logExport?.sink).child({
      component: "saga",
    });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const metadata = new Metadata();
    metadata.set("traceparent", `00-${traceId}-00f067aa0ba902b7-01`);
    const { span } = startServerSpan("tourmesh.booking.v1.BookingService", "CreateBooking", metadata);
    context.with(trace.setSpan(context.active(), span), () => {
      logger.info({ booking_id: "b1", attempt: 2 }, "charged");
      logger.debug("below the level: neither written nor exported");
      logger.error(new Error("payment down"));
    });
    endRpcSpan(span, "server", 0);

    await logExport?.shutdown();
    await stopTracing();

    assert.equal(lines.length, 2, "both lines are still written to stdout");
    const logs = received
      .filter((entry) => entry.path === "/v1/logs")
      .map((entry) => entry.body as LogsExport);
    const [resourceLogs] = logs.flatMap((body) => body.resourceLogs);
    assert.equal(value(resourceLogs?.resource.attributes ?? [], "service.name"), "log-export-spec");
    const records = logs.flatMap((body) =>
      body.resourceLogs.flatMap((resource) => resource.scopeLogs.flatMap((scope) => scope.logRecords)),
    );
    assert.deepEqual(
      records.map((record) => [record.severityText, record.body.stringValue]),
      [
        ["info", "charged"],
        ["error", "payment down"],
      ],
    );
    const [charged, failed] = records;
    assert.equal(value(charged?.attributes ?? [], "booking_id"), "b1");
    assert.equal(Number(value(charged?.attributes ?? [], "attempt")), 2);
    assert.equal(value(charged?.attributes ?? [], "component"), "saga", "the child logger's bindings");
    assert.equal(value(charged?.attributes ?? [], "service"), undefined, "the service is the resource's");
    assert.match(String(value(failed?.attributes ?? [], "err")), /^Error: payment down\n/);
    for (const record of records) {
      assert.equal(record.traceId, traceId);
      assert.equal(record.spanId, span.spanContext().spanId);
    }
  });
});
