/**
 * Regression specs for two classes of bad input that reached the system as server faults (INTERNAL, HTTP 500):
 * request bodies the gateway cannot decode, and strings PostgreSQL cannot store or that are not well-formed
 * UTF-16. Both are the client's fault and are answered INVALID_ARGUMENT on every protocol, at the edge and
 * straight at the service, with nothing written and nothing logged as an error.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient as createConnectClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { CatalogService, GetTourRequestSchema } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { createClient as createGrpcClient } from "@tourmesh/platform";
import { callFailure } from "@tourmesh/platform/testing";
import { type Stack, startStack } from "@tourmesh/stack";
import { type RawCaller, rawCaller, type WireProtocol } from "@tourmesh/stack/testing";

const GET_TOUR = `/${CatalogService.typeName}/${CatalogService.method.getTour.name}`;
/** GetTourRequest with tour_id (field 1) holding two bytes that are not UTF-8. */
const INVALID_UTF8_TOUR_ID = Uint8Array.from([0x0a, 0x02, 0xc3, 0x28]);
const BINARY_PROTOCOLS: readonly WireProtocol[] = ["connect-proto", "grpc-web", "grpc"];

describe("request content the system cannot take", () => {
  let stack: Stack;
  let edge: RawCaller;
  let catalogDirect: RawCaller;

  before(async () => {
    stack = await startStack({
      services: ["catalog", "identity", "gateway"],
      prefix: "content",
      env: { gateway: { RATE_LIMIT_PER_IP_RPS: "0", RATE_LIMIT_PER_USER_RPS: "0" } },
    });
    edge = rawCaller(stack.address("gateway"));
    catalogDirect = rawCaller(stack.address("catalog"));
  });

  after(async () => {
    edge?.close();
    catalogDirect?.close();
    await stack?.stop();
  });

  it("answers random bytes as application/proto 400 invalid_argument naming the expected message", async () => {
    const answer = await edge.call(
      "connect-proto",
      GET_TOUR,
      Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
    );
    assert.equal(answer.httpStatus, 400);
    assert.equal(answer.code, "INVALID_ARGUMENT");
    assert.match(answer.message, /^the request body is not a valid tourmesh\.catalog\.v1\.GetTourRequest: /);
  });

  for (const protocol of BINARY_PROTOCOLS) {
    it(`answers invalid UTF-8 in a string field INVALID_ARGUMENT over ${protocol}`, async () => {
      const answer = await edge.call(protocol, GET_TOUR, INVALID_UTF8_TOUR_ID);
      assert.equal(answer.code, "INVALID_ARGUMENT", answer.message);
      assert.match(answer.message, /not a valid tourmesh\.catalog\.v1\.GetTourRequest/);
    });
  }

  it("answers it INVALID_ARGUMENT over gRPC straight at the service too", async () => {
    const answer = await catalogDirect.call("grpc", GET_TOUR, INVALID_UTF8_TOUR_ID);
    assert.equal(answer.code, "INVALID_ARGUMENT", answer.message);
  });

  for (const [what, body] of [
    ["malformed JSON", new TextEncoder().encode('{"tourId": ')],
    ["JSON of the wrong shape", new TextEncoder().encode('{"tourId": {"nested": true}}')],
    [
      "JSON whose bytes are not UTF-8",
      Uint8Array.from([...new TextEncoder().encode('{"tourId":"'), 0xc3, 0x28, 0x22, 0x7d]),
    ],
  ] as const) {
    it(`answers ${what} 400 invalid_argument`, async () => {
      const answer = await edge.call("connect-json", GET_TOUR, body);
      assert.equal(answer.httpStatus, 400);
      assert.equal(answer.code, "INVALID_ARGUMENT", answer.message);
    });
  }

  it("refuses U+0000 and lone surrogates with a field violation, on every protocol, at the edge", async () => {
    const baseUrl = stack.gatewayUrl;
    const transports = {
      "connect-json": createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
      "connect-proto": createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
      "grpc-web": createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
      grpc: createGrpcTransport({ baseUrl }),
    };
    for (const [protocol, transport] of Object.entries(transports)) {
      const catalog = createConnectClient(CatalogService, transport);
      const nul = await callFailure(catalog.getTour({ tourId: "tour\u0000id" }));
      assert.deepEqual(
        [nul.code, nul.fields],
        [Code.InvalidArgument, ["tour_id"]],
        `${protocol}: ${nul.message}`,
      );
      const listed = await callFailure(
        catalog.listTours({ destination: "Par\u0000is", pageToken: "\u0000" }),
      );
      assert.deepEqual([listed.code, listed.fields], [Code.InvalidArgument, ["destination", "page_token"]]);
    }
    // Only JSON can carry a lone surrogate (as an escape); binary protobuf has no way to encode one.
    const json = createConnectClient(CatalogService, transports["connect-json"]);
    const surrogate = await callFailure(json.getTour({ tourId: "\ud800" }));
    assert.deepEqual([surrogate.code, surrogate.fields], [Code.InvalidArgument, ["tour_id"]]);
  });

  it("refuses U+0000 in the service itself, for a caller that does not pass the edge", async () => {
    const catalog = createGrpcClient(CatalogService, stack.address("catalog"), { retries: false });
    try {
      const failure = await callFailure(catalog.getTour({ tourId: "tour\u0000id" }));
      assert.deepEqual([failure.code, failure.fields], [Code.InvalidArgument, ["tour_id"]]);
      const bytes = toBinary(GetTourRequestSchema, create(GetTourRequestSchema, { tourId: "tour\u0000id" }));
      assert.equal((await catalogDirect.call("grpc", GET_TOUR, bytes)).code, "INVALID_ARGUMENT");
    } finally {
      catalog.close();
    }
  });

  it("still serves good requests, and logged no error and restarted nothing through all of the above", async () => {
    const catalog = createConnectClient(
      CatalogService,
      createConnectTransport({ baseUrl: stack.gatewayUrl, httpVersion: "1.1" }),
    );
    assert.ok((await catalog.listTours({ destination: "Paris" })).tours.length > 0);
    assert.deepEqual(stack.errorLogs(), []);
    for (const service of stack.processes.values()) assert.equal(service.restarts(), 0);
  });
});
