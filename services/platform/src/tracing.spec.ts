import * as assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { Metadata } from "@grpc/grpc-js";
import { endRpcSpan, startServerSpan } from "./rpc-tracing.js";
import { startTracing } from "./tracing.js";

interface ReceivedExport {
  path: string;
  contentType: string;
  body: {
    resourceSpans: Array<{
      resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
      scopeSpans: Array<{ spans: Array<{ name: string; traceId: string }> }>;
    }>;
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

describe("tracing with an OTLP endpoint", () => {
  const received: ReceivedExport[] = [];
  const collector = createServer(async (request, response) => {
    const body = JSON.parse(await readBody(request)) as ReceivedExport["body"];
    received.push({ path: request.url ?? "", contentType: request.headers["content-type"] ?? "", body });
    response.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  let stopTracing: () => Promise<void>;

  before(async () => {
    collector.listen(0, "127.0.0.1");
    await once(collector, "listening");
    const { port } = collector.address() as AddressInfo;
    stopTracing = await startTracing("tracing-spec", `http://127.0.0.1:${port}/`);
  });
  after(() => new Promise((resolve) => collector.close(resolve)));

  it("exports each call's span over OTLP/HTTP to <endpoint>/v1/traces, named for the service, in the caller's trace", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const metadata = new Metadata();
    metadata.set("traceparent", `00-${traceId}-00f067aa0ba902b7-01`);
    const { span } = startServerSpan("tourmesh.catalog.v1.CatalogService", "GetTour", metadata);
    endRpcSpan(span, "server", 0);

    // Shutting down flushes what the batch processor still holds.
    await stopTracing();

    assert.equal(received.length, 1);
    const [exported] = received;
    assert.equal(exported?.path, "/v1/traces");
    assert.match(exported?.contentType ?? "", /^application\/json/);
    const [resourceSpans] = exported?.body.resourceSpans ?? [];
    const serviceName = resourceSpans?.resource.attributes.find(
      (attribute) => attribute.key === "service.name",
    );
    assert.equal(serviceName?.value.stringValue, "tracing-spec");
    const spans = resourceSpans?.scopeSpans.flatMap((scope) => scope.spans) ?? [];
    assert.deepEqual(
      spans.map(({ name, traceId: exportedTraceId }) => ({ name, traceId: exportedTraceId })),
      [{ name: "tourmesh.catalog.v1.CatalogService/GetTour", traceId }],
    );
  });
});
