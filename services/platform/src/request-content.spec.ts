/**
 * The request content every platform-served method refuses before its handler runs: bytes that do not decode
 * as the method's input, and strings a service cannot store or pass on (U+0000, lone surrogates).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { StructSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { EchoService } from "@tourmesh/gen/tourmesh/testing/v1/echo_pb.js";
import { pino } from "pino";
import { createClient } from "./grpc-client.js";
import { GrpcServer } from "./grpc-server.js";
import { GrpcMetrics } from "./metrics.js";
import { callFailure } from "./testing/index.js";
import { textContentViolations } from "./validation.js";

describe("textContentViolations", () => {
  it("finds NUL and lone surrogates in nested messages, lists, map keys and map values, by field path", () => {
    const value = (stringValue: string) =>
      create(ValueSchema, { kind: { case: "stringValue", value: stringValue } });
    const struct = create(StructSchema, {
      fields: {
        fine: value("Paris ⛵ 東京 👩‍👩‍👧"),
        "nul\u0000key": value("ok"),
        surrogate: value("\ud800 alone"),
        list: create(ValueSchema, {
          kind: {
            case: "listValue",
            value: { values: [value("ok"), value("a\u0000b"), value("\udfff")] },
          },
        }),
      },
    });
    assert.deepEqual(
      textContentViolations(StructSchema, struct).map(({ field, description }) => [field, description]),
      [
        ['fields["nul\u0000key"]', "must not contain the character U+0000 (NUL)"],
        ['fields["surrogate"].string_value', "must be well-formed Unicode (it holds a lone surrogate)"],
        ['fields["list"].list_value.values[1].string_value', "must not contain the character U+0000 (NUL)"],
        [
          'fields["list"].list_value.values[2].string_value',
          "must be well-formed Unicode (it holds a lone surrogate)",
        ],
      ],
    );
  });

  it("accepts every well-formed string without NUL, surrogate pairs and control characters included", () => {
    const struct = create(StructSchema, {
      fields: {
        text: create(ValueSchema, { kind: { case: "stringValue", value: "\u202eevil\u0001\ud83d\ude00" } }),
      },
    });
    assert.deepEqual(textContentViolations(StructSchema, struct), []);
  });
});

describe("a platform-served method", () => {
  const handled: string[] = [];
  let server: GrpcServer;
  let address: string;
  before(async () => {
    server = new GrpcServer({
      logger: pino({ level: "silent" }),
      metrics: new GrpcMetrics(),
      defaultDeadlineMs: 5_000,
    });
    server.add(EchoService, {
      async echo(request) {
        handled.push(request.message);
        return { message: request.message };
      },
    });
    address = `127.0.0.1:${await server.start(0, "127.0.0.1")}`;
  });
  after(() => server.drain({ delayMs: 0, graceMs: 100 }));

  /** Sends `body` as the request bytes of Echo, as a client that does not encode protobuf would. */
  async function sendRaw(body: Buffer): Promise<grpc.ServiceError | null> {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    try {
      return await new Promise((resolve) =>
        client.makeUnaryRequest(
          `/${EchoService.typeName}/Echo`,
          (bytes: Buffer) => bytes,
          (bytes: Buffer) => bytes,
          body,
          (error) => resolve(error),
        ),
      );
    } finally {
      client.close();
    }
  }

  it("refuses a string holding U+0000 with INVALID_ARGUMENT naming the field, before its handler runs", async () => {
    const echo = createClient(EchoService, address, { retries: false });
    try {
      const failure = await callFailure(echo.echo({ message: "tour\u0000id" }));
      assert.equal(failure.code, grpc.status.INVALID_ARGUMENT as number);
      assert.deepEqual(failure.fields, ["message"]);
      assert.deepEqual(handled, []);
      assert.equal((await echo.echo({ message: "fine" })).message, "fine");
    } finally {
      echo.close();
      handled.length = 0;
    }
  });

  for (const [what, body] of [
    // Field 1 (message), length 2, bytes that are not UTF-8.
    ["invalid UTF-8 in a string field", Buffer.from([0x0a, 0x02, 0xc3, 0x28])],
    // A UTF-8-style encoding of the lone surrogate U+D800, which UTF-8 forbids.
    ["an encoded lone surrogate", Buffer.from([0x0a, 0x03, 0xed, 0xa0, 0x80])],
    ["a length beyond the end of the message", Buffer.from([0x0a, 0x7f, 0x41])],
    ["an invalid wire type", Buffer.from([0x0f, 0x01])],
  ] as const) {
    it(`answers bytes that do not decode (${what}) INVALID_ARGUMENT naming the input type`, async () => {
      const error = await sendRaw(body);
      assert.equal(error?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(error?.details ?? "", /the request is not a valid tourmesh\.testing\.v1\.EchoRequest: /);
      assert.deepEqual(handled, []);
    });
  }
});
