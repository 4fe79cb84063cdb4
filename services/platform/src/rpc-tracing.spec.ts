import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { EchoService } from "@tourmesh/gen/tourmesh/testing/v1/echo_pb.js";
import { pino } from "pino";
import { InvalidArgumentError, NotFoundError } from "./errors.js";
import { createClient } from "./grpc-client.js";
import { GrpcServer } from "./grpc-server.js";
import { GrpcMetrics } from "./metrics.js";

const silent = pino({ level: "silent" });

describe("a span for every gRPC call served and made", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const servers: GrpcServer[] = [];
  const clients: Array<{ close(): void }> = [];
  const serve = async (echo: (message: string) => Promise<string>) => {
    const server = new GrpcServer({ logger: silent, metrics: new GrpcMetrics(), defaultDeadlineMs: 5_000 });
    server.add(EchoService, { echo: async (request) => ({ message: await echo(request.message) }) });
    servers.push(server);
    const client = createClient(EchoService, `127.0.0.1:${await server.start(0, "127.0.0.1")}`, {
      retries: false,
    });
    clients.push(client);
    return client;
  };
  before(() => provider.register());
  after(async () => {
    for (const client of clients) client.close();
    for (const server of servers) await server.drain({ delayMs: 0, graceMs: 100 });
    await provider.shutdown();
    trace.disable();
  });

  const spansOf = (traceId: string) =>
    exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
  const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

  it("continues one trace from a caller through a service to the service it calls", async () => {
    const inner = await serve(async (message) => `inner:${message}`);
    const outer = await serve(async (message) => (await inner.echo({ message })).message);
    const traceId = await trace.getTracer("spec").startActiveSpan("the caller", async (root) => {
      assert.equal((await outer.echo({ message: "bonjour" })).message, "inner:bonjour");
      root.end();
      return root.spanContext().traceId;
    });

    const spans = spansOf(traceId);
    const root = spans.find((span) => span.name === "the caller");
    assert.ok(root);
    const clientSpans = spans.filter((span) => span.kind === SpanKind.CLIENT);
    const serverSpans = spans.filter((span) => span.kind === SpanKind.SERVER);
    assert.equal(clientSpans.length, 2);
    assert.equal(serverSpans.length, 2);
    const firstCall = clientSpans.find((span) => parentOf(span) === root.spanContext().spanId);
    assert.ok(firstCall, "the first call is a child of the caller's span");
    const outerServer = serverSpans.find((span) => parentOf(span) === firstCall.spanContext().spanId);
    assert.ok(outerServer, "the served call continues the caller's span");
    const secondCall = clientSpans.find((span) => parentOf(span) === outerServer.spanContext().spanId);
    assert.ok(secondCall, "the call the service makes is a child of the call it serves");
    const innerServer = serverSpans.find((span) => parentOf(span) === secondCall.spanContext().spanId);
    assert.ok(innerServer, "and the inner service continues it");
    for (const span of [...clientSpans, ...serverSpans]) {
      assert.equal(span.name, "tourmesh.testing.v1.EchoService/Echo");
      assert.deepEqual(span.attributes, {
        "rpc.system": "grpc",
        "rpc.service": "tourmesh.testing.v1.EchoService",
        "rpc.method": "Echo",
        "rpc.grpc.status_code": 0,
      });
      assert.equal(span.status.code, SpanStatusCode.UNSET);
    }
  });

  it("marks failed calls: every failure on the client, only the service's own on the server", async () => {
    const failing = await serve(async (message) => {
      if (message === "missing") throw new NotFoundError("no such thing", "message");
      if (message === "bad") throw new InvalidArgumentError([{ field: "message", description: "bad" }]);
      throw new Error("a bug");
    });
    const statusOf = async (message: string) => {
      const traceId = await trace.getTracer("spec").startActiveSpan("the caller", async (root) => {
        await failing.echo({ message }).catch(() => undefined);
        root.end();
        return root.spanContext().traceId;
      });
      const spans = spansOf(traceId);
      const status = (kind: SpanKind) => {
        const span = spans.find((candidate) => candidate.kind === kind);
        return [span?.attributes["rpc.grpc.status_code"], span?.status.code];
      };
      return { client: status(SpanKind.CLIENT), server: status(SpanKind.SERVER) };
    };
    assert.deepEqual(await statusOf("missing"), {
      client: [5, SpanStatusCode.ERROR],
      server: [5, SpanStatusCode.UNSET],
    });
    assert.deepEqual(await statusOf("bad"), {
      client: [3, SpanStatusCode.ERROR],
      server: [3, SpanStatusCode.UNSET],
    });
    assert.deepEqual(await statusOf("crash"), {
      client: [13, SpanStatusCode.ERROR],
      server: [13, SpanStatusCode.ERROR],
    });
  });
});
