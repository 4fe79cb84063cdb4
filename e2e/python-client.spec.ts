import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type Stack, startStack } from "@tourmesh/stack";

/** The services a booking passes through, with the gateway in front. */
const bookingPath = ["identity", "catalog", "payment", "booking", "gateway"] as const;

const run = promisify(execFile);
/** Debian's interpreter, where python3-grpcio and python3-grpc-tools install (see .ci/run). */
const python = "/usr/bin/python3";
const protos = [
  "tourmesh/options/v1/access.proto",
  "tourmesh/options/v1/example.proto",
  "tourmesh/common/v1/money.proto",
  "tourmesh/catalog/v1/catalog.proto",
  "tourmesh/booking/v1/booking.proto",
  "tourmesh/identity/v1/identity.proto",
];

describe("a Python gRPC client (grpcio, stubs generated from proto/ now)", () => {
  let stack: Stack;
  let stubs: string;
  before(async () => {
    stubs = mkdtempSync(join(tmpdir(), "tourmesh-python-"));
    await run(python, [
      "-m",
      "grpc_tools.protoc",
      "-Iproto",
      `--python_out=${stubs}`,
      `--grpc_python_out=${stubs}`,
      ...protos,
    ]);
    stack = await startStack({ services: bookingPath, prefix: "e2e" });
  });
  after(async () => {
    await stack?.stop();
    rmSync(stubs, { recursive: true, force: true });
  });

  it("signs in and books a tour through the gateway over gRPC", async () => {
    assert.ok(existsSync(join(stubs, "tourmesh/booking/v1/booking_pb2_grpc.py")));
    const { stdout } = await run(python, [
      "e2e/python/book_a_tour.py",
      stubs,
      stack.gatewayUrl.replace("http://", ""),
    ]);
    const result = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(result.status, "BOOKING_STATUS_CONFIRMED");
    assert.equal(result.travelers, 3);
    assert.match(String(result.booking_id), /\S/);
    assert.ok(Number(result.total_minor_units) > 0);
    assert.equal(result.without_token, "UNAUTHENTICATED");
  });
});
