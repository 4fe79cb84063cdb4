import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  EchoRequestSchema,
  EchoResponseSchema,
  EchoService,
} from "@tourmesh/gen/tourmesh/testing/v1/echo_pb.js";
import { createLogger, GrpcMetrics, GrpcServer, NotFoundError } from "@tourmesh/platform";
import { GrpcCallError, H2GrpcClient } from "./h2-grpc-client.js";

const echoPath = "/tourmesh.testing.v1.EchoService/Echo";
const request = (message: string) => toBinary(EchoRequestSchema, create(EchoRequestSchema, { message }));

describe("H2GrpcClient against a grpc-js server", () => {
  let server: GrpcServer;
  let client: H2GrpcClient;
  before(async () => {
    server = new GrpcServer({
      logger: createLogger("h2-grpc-client-spec", "silent"),
      metrics: new GrpcMetrics(),
      defaultDeadlineMs: 5_000,
    });
    server.add(EchoService, {
      async echo({ message }) {
        if (message === "missing") throw new NotFoundError("no such thing: ünïcode");
        return { message: message.repeat(2) };
      },
    });
    client = new H2GrpcClient(`127.0.0.1:${await server.start(0, "127.0.0.1")}`);
  });
  after(async () => {
    client?.close();
    await server?.drain({ delayMs: 0, graceMs: 100 });
  });

  it("answers with the encoded response, also a large one", async () => {
    for (const message of ["hé", "x".repeat(100_000)]) {
      const answer = await client.call(echoPath, request(message));
      assert.equal(fromBinary(EchoResponseSchema, answer).message, message.repeat(2));
    }
  });

  it("fails with the call's status and message", async () => {
    await assert.rejects(
      client.call(echoPath, request("missing")),
      (error) =>
        error instanceof GrpcCallError &&
        error.code === 5 &&
        error.message === "gRPC status 5: no such thing: ünïcode",
    );
    await assert.rejects(
      client.call("/tourmesh.testing.v1.EchoService/Nothing", request("")),
      (error) => error instanceof GrpcCallError && error.code === 12,
    );
  });
});
