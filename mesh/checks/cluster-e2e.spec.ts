// The end-to-end check `tilt ci` runs, against a stand-in gateway that holds it to the contracts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { create, type DescMethod, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { servedContracts } from "./contracts.js";

/**
 * A stand-in for the gateway that speaks Connect with JSON and knows the contracts: it parses each request
 * strictly against the method's input message (an unknown field or a wrong path fails) and answers from
 * `answers`, written out as the real gateway would.
 */
async function fakeGateway(
  answers: Record<string, object>,
): Promise<{ url: string; server: Server; calls: string[] }> {
  const methods = new Map<string, DescMethod>(
    Object.values(servedContracts)
      .flat()
      .flatMap((service) =>
        service.methods.map((method) => [`/${service.typeName}/${method.name}`, method] as const),
      ),
  );
  const calls: string[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      const method = methods.get(request.url ?? "");
      const answer = answers[request.url ?? ""];
      try {
        assert.ok(method && answer, `unexpected call ${request.url}`);
        fromJson(method.input, JSON.parse(body) as JsonValue);
        calls.push(request.url as string);
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(toJson(method.output, create(method.output, answer as never))));
      } catch (error) {
        response.writeHead(400, { "content-type": "application/json" });
        response.end(JSON.stringify({ code: "invalid_argument", message: String(error) }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, server, calls };
}

describe("the end-to-end check", () => {
  const booking = (status: BookingStatus) => ({ booking: { bookingId: "b-1", status } });
  const answers = (status: BookingStatus) => ({
    "/tourmesh.identity.v1.IdentityService/SignIn": { accessToken: "token", expiresIn: 900 },
    "/tourmesh.catalog.v1.CatalogService/ListTours": { tours: [{ tourId: "t-1", seatsAvailable: 3 }] },
    "/tourmesh.booking.v1.BookingService/CreateBooking": booking(BookingStatus.PENDING_PAYMENT),
    "/tourmesh.booking.v1.BookingService/GetBooking": booking(status),
    "/tourmesh.notification.v1.NotificationService/ListNotifications": {
      notifications: [{ bookingId: "b-1" }],
    },
  });
  const runCheck = (url: string) =>
    promisify(execFile)(process.execPath, ["--import", "tsx", join(import.meta.dirname, "cluster-e2e.ts")], {
      env: { ...process.env, TOURMESH_GATEWAY_URL: url },
    });

  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  it("books through the gateway's contract and passes when the booking is confirmed and notified", async () => {
    const gateway = await fakeGateway(answers(BookingStatus.CONFIRMED));
    servers.push(gateway.server);
    const { stdout } = await runCheck(gateway.url);
    assert.match(stdout, /end-to-end check passed/);
    assert.equal(gateway.calls.length, 5);
  });

  it("fails when the booking is not confirmed", async () => {
    const gateway = await fakeGateway(answers(BookingStatus.PAYMENT_FAILED));
    servers.push(gateway.server);
    await assert.rejects(runCheck(gateway.url), /booking ended BOOKING_STATUS_PAYMENT_FAILED/);
  });
});
