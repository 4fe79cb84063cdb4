import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { BadRequestSchema } from "@tourmesh/gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "@tourmesh/gen/health/v1/health_pb.js";
import {
  EchoRequestSchema,
  EchoResponseSchema,
  EchoService,
} from "@tourmesh/gen/tourmesh/testing/v1/echo_pb.js";
import { pino } from "pino";
import { currentCallContext } from "./call-context.js";
import { EncodedMessage, grpcMethodDefinition } from "./descriptors.js";
import { InvalidArgumentError, NotFoundError } from "./errors.js";
import { createClient, type ServiceClient } from "./grpc-client.js";
import { GrpcServer, LIVENESS_SERVICE } from "./grpc-server.js";
import { GrpcMetrics } from "./metrics.js";

const silent = pino({ level: "silent" });
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => clearTimeout(timer), { once: true });
  });

/** Starts an Echo server whose handler does what the message says. */
async function startEcho(
  handler: (message: string) => Promise<string>,
  { defaultDeadlineMs = 5_000, metrics = new GrpcMetrics() } = {},
) {
  const server = new GrpcServer({ logger: silent, metrics, defaultDeadlineMs });
  server.add(EchoService, { echo: async (request) => ({ message: await handler(request.message) }) });
  const port = await server.start(0, "127.0.0.1");
  return { server, port, metrics, address: `127.0.0.1:${port}` };
}

describe("GrpcServer and createClient", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  function client(address: string, retries = true): ServiceClient<typeof EchoService> {
    const echo = createClient(EchoService, address, { retries });
    cleanups.push(() => echo.close());
    return echo;
  }
  async function echoServer(...args: Parameters<typeof startEcho>) {
    const started = await startEcho(...args);
    cleanups.push(() => started.server.drain({ delayMs: 0, graceMs: 100 }));
    return started;
  }

  it("answers a typed unary call", async () => {
    const { address } = await echoServer(async (message) => message.toUpperCase());
    assert.equal((await client(address).echo({ message: "bonjour" })).message, "BONJOUR");
  });

  it("ends a call DEADLINE_EXCEEDED close to its 50 ms deadline when the handler is slower", async () => {
    const { address } = await echoServer(async () => {
      await sleep(2_000, currentCallContext()?.signal);
      return "too late";
    });
    const started = performance.now();
    const error = await client(address)
      .echo({}, { timeoutMs: 50 })
      .catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.DeadlineExceeded);
    assert.ok(elapsed >= 45 && elapsed < 500, `took ${elapsed} ms`);
  });

  it("gives a call without a deadline the default deadline, enforced by the server", async () => {
    const { address } = await echoServer(
      async () => {
        await sleep(2_000, currentCallContext()?.signal);
        return "too late";
      },
      { defaultDeadlineMs: 100 },
    );
    // The platform client always sends a deadline; a bare grpc-js client sends none.
    const bare = new grpc.Client(address, grpc.credentials.createInsecure());
    cleanups.push(() => bare.close());
    const echo = grpcMethodDefinition(EchoService.method.echo);
    const started = performance.now();
    const code = await new Promise<grpc.status>((resolve) =>
      bare.makeUnaryRequest(
        echo.path,
        echo.requestSerialize,
        echo.responseDeserialize,
        create(EchoRequestSchema),
        (error) => resolve(error?.code ?? grpc.status.OK),
      ),
    );
    assert.equal(code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(performance.now() - started < 1_000);
  });

  it("passes the remaining budget, minus a margin, to calls a handler makes downstream", async () => {
    const downstream = await echoServer(async () => {
      const deadline = currentCallContext()?.deadline;
      return String((deadline?.getTime() ?? 0) - Date.now());
    });
    const downstreamClient = client(downstream.address);
    const upstream = await echoServer(async () => {
      await sleep(100);
      const upstreamLeft = (currentCallContext()?.deadline.getTime() ?? 0) - Date.now();
      const { message } = await downstreamClient.echo({}, { timeoutMs: 60_000 });
      return JSON.stringify({ upstreamLeft, downstreamLeft: Number(message) });
    });
    const { message } = await client(upstream.address).echo({}, { timeoutMs: 1_000 });
    const { upstreamLeft, downstreamLeft } = JSON.parse(message) as {
      upstreamLeft: number;
      downstreamLeft: number;
    };
    assert.ok(upstreamLeft < 910, `upstream had ${upstreamLeft} ms left`);
    assert.ok(downstreamLeft <= upstreamLeft - 40, `downstream got ${downstreamLeft} of ${upstreamLeft} ms`);
    assert.ok(
      downstreamLeft > upstreamLeft - 200,
      `downstream got only ${downstreamLeft} of ${upstreamLeft} ms`,
    );
  });

  it("fails fast with DEADLINE_EXCEEDED when no budget is left for a downstream call", async () => {
    let downstreamCalls = 0;
    const downstream = await echoServer(async () => {
      downstreamCalls++;
      return "";
    });
    const downstreamClient = client(downstream.address);
    const upstream = await echoServer(async () => {
      await sleep(80);
      return (await downstreamClient.echo({})).message;
    });
    const error = await client(upstream.address)
      .echo({}, { timeoutMs: 100 })
      .catch((e: unknown) => e);
    assert.ok(error instanceof ConnectError && error.code === Code.DeadlineExceeded);
    assert.equal(downstreamCalls, 0);
  });

  it("sends field violations as google.rpc.BadRequest details the client can read", async () => {
    const { address } = await echoServer(async () => {
      throw new InvalidArgumentError([
        { field: "message", description: "must not be empty" },
        { field: "page_size", description: "must be between 0 and 100" },
      ]);
    });
    const error = await client(address)
      .echo({})
      .catch((e: unknown) => e);
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.InvalidArgument);
    const [badRequest] = error.findDetails(BadRequestSchema);
    assert.deepEqual(
      badRequest?.fieldViolations.map(({ field, description }) => ({ field, description })),
      [
        { field: "message", description: "must not be empty" },
        { field: "page_size", description: "must be between 0 and 100" },
      ],
    );
  });

  it("maps domain errors to their codes and hides unexpected failures behind INTERNAL", async () => {
    const { address } = await echoServer(async (message) => {
      if (message === "missing") throw new NotFoundError("tour x does not exist", "tour_id");
      throw new Error("connection to 10.0.0.7 refused at Pool.connect (/app/secret/path.ts:12)");
    });
    const echo = client(address);
    const notFound = await echo.echo({ message: "missing" }).catch((e: unknown) => e);
    assert.ok(notFound instanceof ConnectError && notFound.code === Code.NotFound);
    const internal = await echo.echo({ message: "boom" }).catch((e: unknown) => e);
    assert.ok(internal instanceof ConnectError);
    assert.equal(internal.code, Code.Internal);
    assert.equal(internal.rawMessage, "internal error");
  });

  it("sends an answer encoded already as it is, and refuses one of another message type (INTERNAL)", async () => {
    const server = new GrpcServer({ logger: silent, metrics: new GrpcMetrics(), defaultDeadlineMs: 5_000 });
    server.add(EchoService, {
      echo: async ({ message }) =>
        message === "wrong type"
          ? // The handler's type refuses it; a cast gets it past the compiler, not past the server.
            (new EncodedMessage(
              EchoRequestSchema,
              toBinary(EchoRequestSchema, create(EchoRequestSchema)),
            ) as unknown as EncodedMessage<typeof EchoResponseSchema>)
          : new EncodedMessage(
              EchoResponseSchema,
              toBinary(EchoResponseSchema, create(EchoResponseSchema, { message: `kept: ${message}` })),
            ),
    });
    const port = await server.start(0, "127.0.0.1");
    cleanups.push(() => server.drain({ delayMs: 0, graceMs: 100 }));
    const echo = client(`127.0.0.1:${port}`);
    assert.equal((await echo.echo({ message: "ciao" })).message, "kept: ciao");
    const refused = await echo.echo({ message: "wrong type" }).catch((e: unknown) => e);
    assert.ok(refused instanceof ConnectError);
    assert.equal(refused.code, Code.Internal);
  });

  it("counts calls per method and code in its metrics", async () => {
    const { address, metrics } = await echoServer(async (message) => {
      if (message === "bad") throw new InvalidArgumentError([{ field: "message", description: "bad" }]);
      return message;
    });
    const echo = client(address);
    await echo.echo({ message: "a" });
    await echo.echo({ message: "b" });
    await echo.echo({ message: "bad" }).catch(() => {});
    const text = await metrics.registry.metrics();
    assert.match(
      text,
      /grpc_server_handled_total\{grpc_service="tourmesh.testing.v1.EchoService",grpc_method="Echo",grpc_code="OK"\} 2/,
    );
    assert.match(text, /grpc_server_handled_total\{[^}]*grpc_code="INVALID_ARGUMENT"\} 1/);
    assert.match(text, /grpc_server_handling_seconds_count\{[^}]*grpc_method="Echo"\} 3/);
  });
});

describe("draining", () => {
  it("turns health NOT_SERVING, lets the in-flight call finish, then refuses new calls", async (t) => {
    const server = new GrpcServer({ logger: silent, metrics: new GrpcMetrics(), defaultDeadlineMs: 5_000 });
    server.add(EchoService, {
      echo: async (request) => {
        await sleep(300);
        return { message: request.message };
      },
    });
    const address = `127.0.0.1:${await server.start(0, "127.0.0.1")}`;
    const echo = createClient(EchoService, address, { retries: false });
    const health = createClient(Health, address, { retries: false });
    t.after(() => {
      echo.close();
      health.close();
      server.server.forceShutdown();
    });
    assert.equal((await health.check({ service: "" })).status, HealthCheckResponse_ServingStatus.SERVING);

    const inFlight = echo.echo({ message: "finish me" });
    await sleep(50);
    const drained = server.drain({ delayMs: 150, graceMs: 2_000 });
    const during = await health.check({ service: "" });
    assert.equal(during.status, HealthCheckResponse_ServingStatus.NOT_SERVING);
    const liveness = await health.check({ service: LIVENESS_SERVICE });
    assert.equal(liveness.status, HealthCheckResponse_ServingStatus.SERVING);
    assert.equal((await inFlight).message, "finish me");
    await drained;
    const after = await echo.echo({ message: "too late" }).catch((e: unknown) => e);
    assert.ok(after instanceof ConnectError && after.code === Code.Unavailable);
  });
});

describe("client retries", () => {
  /** A server that answers UNAVAILABLE to the first `failures` calls, counting every attempt. */
  async function flakyServer(failures: number) {
    let attempts = 0;
    const server = new GrpcServer({ logger: silent, metrics: new GrpcMetrics(), defaultDeadlineMs: 5_000 });
    server.add(EchoService, {
      echo: async (request) => {
        attempts++;
        if (attempts <= failures) throw new ConnectError("try again", Code.Unavailable);
        return { message: request.message };
      },
    });
    const port = await server.start(0, "127.0.0.1");
    return { server, address: `127.0.0.1:${port}`, attempts: () => attempts };
  }

  it("retries an idempotent method on UNAVAILABLE when the app owns retries", async (t) => {
    const flaky = await flakyServer(2);
    const echo = createClient(EchoService, flaky.address, { retries: true });
    t.after(() => {
      echo.close();
      return flaky.server.drain({ delayMs: 0, graceMs: 100 });
    });
    assert.equal((await echo.echo({ message: "hi" })).message, "hi");
    assert.equal(flaky.attempts(), 3);
  });

  it("does not retry in mesh mode, where the mesh retries", async (t) => {
    const flaky = await flakyServer(2);
    const echo = createClient(EchoService, flaky.address, { retries: false });
    t.after(() => {
      echo.close();
      return flaky.server.drain({ delayMs: 0, graceMs: 100 });
    });
    const error = await echo.echo({ message: "hi" }).catch((e: unknown) => e);
    assert.ok(error instanceof ConnectError && error.code === Code.Unavailable);
    assert.equal(flaky.attempts(), 1);
  });
});
