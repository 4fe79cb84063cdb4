import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { pino } from "pino";
import { Registry } from "prom-client";
import { methodAccess } from "./access.js";
import { TokenVerifier } from "./auth.js";
import type { CallContext } from "./call-context.js";
import { createClient, type ServiceClient } from "./grpc-client.js";
import { GrpcServer, type ServiceHandlers } from "./grpc-server.js";
import { GrpcMetrics } from "./metrics.js";
import { rejection } from "./testing/call-failure.js";
import { startTestTokenIssuer, type TestTokenIssuer } from "./testing/test-tokens.js";

const silent = pino({ level: "silent" });

describe("the gRPC server holds every call to its method's declared access", () => {
  let issuer: TestTokenIssuer;
  let server: GrpcServer;
  let catalog: ServiceClient<typeof CatalogService>;
  /** The context of each call that reached a handler, by method. */
  const reached: Array<{ method: string; context: CallContext }> = [];
  // Handlers that only record that they ran: what is under test is whether a call reaches them.
  const handlers = Object.fromEntries(
    CatalogService.methods.map((method) => [
      method.localName,
      async (_request: unknown, context: CallContext) => {
        reached.push({ method: method.name, context });
        return {};
      },
    ]),
  ) as unknown as ServiceHandlers<typeof CatalogService>;

  before(async () => {
    issuer = await startTestTokenIssuer();
    server = new GrpcServer({
      logger: silent,
      metrics: new GrpcMetrics(),
      defaultDeadlineMs: 5_000,
      verifier: new TokenVerifier({
        jwksUrl: issuer.jwksUrl,
        issuer: issuer.issuer,
        audience: issuer.audience,
        registry: new Registry(),
      }),
    });
    server.add(CatalogService, handlers);
    catalog = createClient(CatalogService, `127.0.0.1:${await server.start(0, "127.0.0.1")}`, {
      retries: false,
    });
  });
  after(async () => {
    catalog.close();
    await server.drain({ delayMs: 0, graceMs: 100 });
    await issuer.stop();
  });

  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  it("lets anyone call a public method, and an internal one (the mesh guards those)", async () => {
    await catalog.listTours({});
    await catalog.reserveSeats({});
    assert.deepEqual(
      reached.slice(-2).map(({ method, context }) => [method, context.caller]),
      [
        ["ListTours", undefined],
        ["ReserveSeats", undefined],
      ],
    );
  });

  it("refuses a method for signed-in callers without a valid token: UNAUTHENTICATED, the handler never runs", async () => {
    const before = reached.length;
    const expired = await issuer.sign("olga", { expiresInSeconds: -60 });
    for (const options of [{}, bearer("not-a-jwt"), bearer(expired)]) {
      assert.equal((await rejection(catalog.createTour({}, options))).code, Code.Unauthenticated);
    }
    assert.equal(reached.length, before);
  });

  it("refuses a token without the method's scopes: PERMISSION_DENIED naming the scope", async () => {
    const before = reached.length;
    const traveller = await issuer.sign("alice", { scopes: ["bookings:write", "reviews:write"] });
    const error = await rejection(catalog.updateTour({}, bearer(traveller)));
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.PermissionDenied);
    assert.match(error.rawMessage, /tours:write/);
    assert.equal(reached.length, before);
  });

  it("runs the handler for a token with the scopes, with the verified caller in its context", async () => {
    const operator = await issuer.sign("olga-id", { username: "olga", scopes: ["tours:write"] });
    await catalog.createTour({}, bearer(operator));
    const last = reached.at(-1);
    assert.equal(last?.method, "CreateTour");
    assert.equal(last?.context.caller?.userId, "olga-id");
    assert.deepEqual(last?.context.caller?.scopes, new Set(["tours:write"]));
  });

  it("will not serve a method for signed-in callers without a verifier to check them", () => {
    const unguarded = new GrpcServer({
      logger: silent,
      metrics: new GrpcMetrics(),
      defaultDeadlineMs: 5_000,
    });
    assert.throws(
      () => unguarded.add(CatalogService, handlers),
      /CatalogService\.CreateTour is for signed-in callers: give the server a verifier/,
    );
  });

  it("reads scopes only on methods for signed-in callers", () => {
    assert.deepEqual(methodAccess(CatalogService.method.createTour), {
      audience: "signed-in",
      scopes: ["tours:write"],
    });
    assert.deepEqual(methodAccess(CatalogService.method.getTour), { audience: "public" });
    assert.deepEqual(methodAccess(CatalogService.method.reserveSeats), { audience: "internal" });
  });
});
