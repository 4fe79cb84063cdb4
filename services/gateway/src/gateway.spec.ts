/**
 * The gateway as a process in front of real catalog and identity processes (real Postgres), and of a
 * BookingService test double: a platform GrpcServer in this process whose handlers verify the forwarded
 * token themselves, as the real booking service does, and record what reached them (the token, the request
 * id, the deadline). The double exists only to observe gateway-side behaviour on the signed-in routes.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import {
  type CallOptions,
  Code,
  ConnectError,
  createClient as createConnectClient,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { BadRequestSchema, RetryInfoSchema } from "@tourmesh/gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "@tourmesh/gen/health/v1/health_pb.js";
import { BookingService } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { PaymentService } from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import {
  type CallContext,
  type Caller,
  createClient as createGrpcClient,
  createLogger,
  GrpcMetrics,
  GrpcServer,
  signedInCaller,
  TokenVerifier,
} from "@tourmesh/platform";
import { rejection } from "@tourmesh/platform/testing";
import { type ServiceProcess, type Stack, startStack } from "@tourmesh/stack";
import { decodeJwt, SignJWT } from "jose";

const ISSUER = "https://identity.tourmesh";
const AUDIENCE = "tourmesh";
const DEMO_PASSWORD = "tourmesh-demo";
const run = promisify(execFile);

let lastAddress = 0;
/** A client address of its own per scenario (the gateway trusts one proxy hop), so rate limits never cross. */
const freshAddress = () => `198.51.100.${++lastAddress}`;

function callOptions(address: string, token?: string, extra: CallOptions = {}): CallOptions {
  return {
    ...extra,
    headers: {
      "x-forwarded-for": address,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(extra.headers as Record<string, string> | undefined),
    },
  };
}

interface HttpAnswer {
  httpVersion: string;
  status: number;
  headers: Headers;
  body: string;
}

async function curl(args: string[]): Promise<HttpAnswer> {
  const { stdout } = await run("curl", ["-sS", "-i", "--max-time", "10", ...args]);
  const end = stdout.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = stdout.slice(0, end).split("\r\n");
  const [httpVersion = "", status = ""] = statusLine.split(" ");
  const headers = new Headers(
    lines.map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]),
  );
  return { httpVersion, status: Number(status), headers, body: stdout.slice(end + 4) };
}

interface BookingCall {
  method: string;
  caller: Caller;
  authorization: string;
  requestId: string;
  /** The deadline the call arrived with, as milliseconds left. */
  remainingMs: number;
}

/** The BookingService test double (see the file comment). `slow-<ms>` booking ids take that long. */
async function startBookingDouble(jwksUrl: string) {
  const metrics = new GrpcMetrics();
  const verifier = new TokenVerifier({
    jwksUrl,
    issuer: ISSUER,
    audience: AUDIENCE,
    registry: metrics.registry,
  });
  const calls: BookingCall[] = [];
  const server = new GrpcServer({
    logger: createLogger("booking-double", "silent"),
    metrics,
    defaultDeadlineMs: 5_000,
    verifier,
  });
  const serve = async (method: string, context: CallContext) => {
    const remainingMs = context.deadline.getTime() - Date.now();
    const caller = signedInCaller(context);
    const header = (name: string) => String(context.metadata.get(name)[0] ?? "");
    calls.push({
      method,
      caller,
      authorization: header("authorization"),
      requestId: header("x-request-id"),
      remainingMs,
    });
  };
  server.add(BookingService, {
    async quotePrice(request, context) {
      await serve("QuotePrice", context);
      return { quote: { tourId: request.tourId, travelers: request.travelers } };
    },
    async createBooking(request, context) {
      await serve("CreateBooking", context);
      return { booking: { bookingId: `booking_${request.idempotencyKey}`, tourId: request.tourId } };
    },
    async getBooking(request, context) {
      await serve("GetBooking", context);
      const delayMs = Number(/^slow-(\d+)$/.exec(request.bookingId)?.[1] ?? 0);
      await sleep(delayMs, undefined, { signal: context.signal }).catch(() => {});
      return { booking: { bookingId: request.bookingId } };
    },
    async listBookings(_request, context) {
      await serve("ListBookings", context);
      return { bookings: [] };
    },
    async cancelBooking(request, context) {
      await serve("CancelBooking", context);
      return { booking: { bookingId: request.bookingId } };
    },
  });
  const port = await server.start(0, "127.0.0.1");
  return { port, calls, stop: () => server.server.forceShutdown() };
}

describe("gateway", () => {
  const signingKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  let stack: Stack;
  let catalog: ServiceProcess;
  let gateway: ServiceProcess;
  let booking: Awaited<ReturnType<typeof startBookingDouble>>;
  let gatewayEnv: Record<string, string>;
  let baseUrl: string;
  let aliceToken: string;
  let bobToken: string;

  const transports = () => ({
    connectJson: createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    connectBinary: createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
    grpcWeb: createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
    grpc: createGrpcTransport({ baseUrl }),
  });
  let transport: ReturnType<typeof transports>;

  /** A token signed with identity's own key: valid unless an override breaks it. */
  function mint(
    claims: { issuer?: string; audience?: string; expiresAt?: number; subject?: string } = {},
    key = signingKey,
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ preferred_username: "alice", scope: "bookings:read bookings:write" })
      .setProtectedHeader({ alg: "ES256", kid: "key-a" })
      .setIssuer(claims.issuer ?? ISSUER)
      .setAudience(claims.audience ?? AUDIENCE)
      .setSubject(claims.subject ?? String(decodeJwt(aliceToken).sub))
      .setIssuedAt(now - 60)
      .setExpirationTime(claims.expiresAt ?? now + 300)
      .sign(key);
  }

  /** The gateway's auth_failures_total, by reason. */
  async function authFailures(): Promise<Record<string, number>> {
    const metrics = await (await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`)).text();
    return Object.fromEntries(
      [...metrics.matchAll(/^auth_failures_total\{reason="(\w+)"\} (\S+)$/gm)].map(([, reason, value]) => [
        reason,
        Number(value),
      ]),
    );
  }

  /** A gateway in front of this file's stack (stopped with it), with `env` on top of the file's settings. */
  function startGateway(env: Record<string, string> = {}) {
    return stack.launch("gateway", { ...gatewayEnv, ...env });
  }

  before(async () => {
    const privateJwk = { ...signingKey.export({ format: "jwk" }), kid: "key-a" };
    stack = await startStack({
      services: ["catalog", "identity"],
      prefix: "gateway",
      env: { identity: { JWT_SIGNING_KEYS: JSON.stringify([privateJwk]) } },
    });
    catalog = stack.process("catalog");
    booking = await startBookingDouble(stack.environmentOf("gateway").JWKS_URL ?? "");
    gatewayEnv = {
      BOOKING_ADDR: `127.0.0.1:${booking.port}`,
      TRUSTED_PROXY_HOPS: "1",
      RATE_LIMIT_PER_IP_RPS: "1",
      RATE_LIMIT_PER_IP_BURST: "40",
      RATE_LIMIT_PER_USER_RPS: "1",
      RATE_LIMIT_PER_USER_BURST: "20",
      CORS_ALLOWED_ORIGINS: "https://app.tourmesh.example",
    };
    gateway = await startGateway();
    baseUrl = `http://127.0.0.1:${gateway.port}`;
    transport = transports();
    const identityClient = createConnectClient(IdentityService, transport.connectBinary);
    const signIn = (username: string) =>
      identityClient
        .signIn({ username, password: DEMO_PASSWORD }, callOptions(freshAddress()))
        .then((response) => response.accessToken);
    [aliceToken, bobToken] = await Promise.all([signIn("alice"), signIn("bob")]);
  });

  after(async () => {
    await stack?.stop();
    booking?.stop();
  });

  it("serves Connect JSON to plain curl over HTTP/1.1 and h2c: sign in, then list the Paris tours", async () => {
    const address = freshAddress();
    const signIn = await curl([
      "--http1.1",
      "-H",
      "content-type: application/json",
      "-H",
      `x-forwarded-for: ${address}`,
      "--data-binary",
      JSON.stringify({ username: "alice", password: DEMO_PASSWORD }),
      `${baseUrl}/tourmesh.identity.v1.IdentityService/SignIn`,
    ]);
    assert.equal(signIn.httpVersion, "HTTP/1.1");
    assert.equal(signIn.status, 200);
    const { accessToken, tokenType, expiresIn } = JSON.parse(signIn.body);
    assert.equal(tokenType, "Bearer");
    assert.equal(expiresIn, 900);
    assert.equal(decodeJwt(accessToken).preferred_username, "alice");
    assert.match(signIn.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);

    for (const http of ["--http1.1", "--http2-prior-knowledge"]) {
      const listed = await curl([
        http,
        "-H",
        "content-type: application/json",
        "-H",
        `x-forwarded-for: ${address}`,
        "-H",
        `authorization: Bearer ${accessToken}`,
        "--data-binary",
        JSON.stringify({ destination: "Paris" }),
        `${baseUrl}/tourmesh.catalog.v1.CatalogService/ListTours`,
      ]);
      assert.equal(listed.httpVersion, http === "--http1.1" ? "HTTP/1.1" : "HTTP/2");
      assert.equal(listed.status, 200);
      const { tours } = JSON.parse(listed.body) as { tours: Array<{ tourId: string; destination: string }> };
      assert.equal(tours.length, 6);
      assert.ok(tours.every((tour) => tour.destination === "Paris" && tour.tourId.startsWith("tour_paris_")));
    }
  });

  it("speaks gRPC over h2c to buf curl, with server reflection and no .proto files", async () => {
    const buf = "node_modules/.bin/buf";
    const grpcFlags = ["curl", "--protocol", "grpc", "--http2-prior-knowledge"];
    const { stdout: services } = await run(buf, [...grpcFlags, "--list-services", baseUrl]);
    assert.deepEqual(services.trim().split("\n"), [
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "tourmesh.booking.v1.BookingService",
      "tourmesh.catalog.v1.CatalogService",
      "tourmesh.catalog.v2.CatalogService",
      "tourmesh.identity.v1.IdentityService",
      "tourmesh.notification.v1.NotificationService",
      "tourmesh.review.v1.ReviewService",
    ]);
    const { stdout } = await run(buf, [
      ...grpcFlags,
      "-H",
      `x-forwarded-for: ${freshAddress()}`,
      "-d",
      JSON.stringify({ tourId: "tour_rome_colosseum" }),
      `${baseUrl}/tourmesh.catalog.v1.CatalogService/GetTour`,
    ]);
    assert.equal(JSON.parse(stdout).tour.destination, "Rome");
  });

  it("speaks gRPC-Web, Connect binary over HTTP/2 and gRPC to any client", async () => {
    const address = freshAddress();
    for (const [name, chosen] of Object.entries(transport)) {
      const client = createConnectClient(CatalogService, chosen);
      const { tours } = await client.listTours({ destination: "Lisbon", pageSize: 2 }, callOptions(address));
      assert.deepEqual(
        tours.map((tour) => tour.destination),
        ["Lisbon", "Lisbon"],
        name,
      );
    }
    // And to a grpc-js client, such as every internal service uses.
    const grpcJs = createGrpcClient(CatalogService, `127.0.0.1:${gateway.port}`, { retries: false });
    try {
      const { tour } = await grpcJs.getTour(
        { tourId: "tour_berlin_wall" },
        { headers: { "x-forwarded-for": address } },
      );
      assert.equal(tour?.destination, "Berlin");
    } finally {
      grpcJs.close();
    }
  });

  it("answers grpc.health.v1 Check for Kubernetes probes", async () => {
    const health = createConnectClient(Health, transport.grpc);
    for (const service of [
      "",
      "liveness",
      "tourmesh.catalog.v1.CatalogService",
      "tourmesh.booking.v1.BookingService",
    ]) {
      assert.equal(
        (await health.check({ service })).status,
        HealthCheckResponse_ServingStatus.SERVING,
        service,
      );
    }
    assert.equal(
      (await rejection(health.check({ service: "tourmesh.payment.v1.PaymentService" }))).code,
      Code.NotFound,
    );
  });

  it("lets only a valid token reach booking, and forwards it for the service to verify again", async () => {
    const address = freshAddress();
    const client = createConnectClient(BookingService, transport.connectJson);
    const before = booking.calls.length;
    const { booking: created } = await client.createBooking(
      { idempotencyKey: "k1", tourId: "tour_paris_louvre", travelers: 2 },
      callOptions(address, aliceToken),
    );
    assert.equal(created?.bookingId, "booking_k1");
    const reached = booking.calls.at(-1);
    assert.equal(reached?.method, "CreateBooking");
    assert.equal(reached?.authorization, `Bearer ${aliceToken}`);
    assert.deepEqual(reached?.caller, {
      userId: decodeJwt(aliceToken).sub,
      username: "alice",
      scopes: new Set(["bookings:read", "bookings:write", "reviews:write", "notifications:read"]),
    });
    assert.ok(
      await client.listBookings({}, callOptions(address, await mint())),
      "a minted token is valid as is",
    );

    const now = Math.floor(Date.now() / 1000);
    const [header, payload, signature] = aliceToken.split(".");
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...decodeJwt(aliceToken), sub: decodeJwt(bobToken).sub }),
    ).toString("base64url");
    const otherKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const refused: Record<string, CallOptions> = {
      "no token": callOptions(address),
      "not a bearer token": callOptions(address, undefined, {
        headers: { authorization: `Basic ${randomBytes(8).toString("base64")}` },
      }),
      "not a JWT": callOptions(address, "not-a-jwt"),
      expired: callOptions(address, await mint({ expiresAt: now - 30 })),
      "tampered payload": callOptions(address, `${header}.${forgedPayload}.${signature}`),
      "tampered signature": callOptions(address, `${header}.${payload}.${signature?.slice(0, -4)}AAAA`),
      "signed by another key under identity's kid": callOptions(address, await mint({}, otherKey)),
      "wrong issuer": callOptions(address, await mint({ issuer: "https://evil.example" })),
      "wrong audience": callOptions(address, await mint({ audience: "another-app" })),
    };
    const reachedBefore = booking.calls.length;
    const failuresBefore = await authFailures();
    for (const [what, options] of Object.entries(refused)) {
      const error = await rejection(client.listBookings({}, options));
      assert.equal(error.code, Code.Unauthenticated, what);
      assert.equal(error.rawMessage, "a valid access token is required", what);
    }
    assert.equal(booking.calls.length, reachedBefore, "no refused call reached the booking service");
    assert.ok(booking.calls.length > before);
    const failuresAfter = await authFailures();
    const counted = (reason: string) => (failuresAfter[reason] ?? 0) - (failuresBefore[reason] ?? 0);
    assert.deepEqual(
      Object.fromEntries(
        ["missing_token", "invalid_token", "expired", "bad_signature", "bad_claims"].map((reason) => [
          reason,
          counted(reason),
        ]),
      ),
      { missing_token: 2, invalid_token: 1, expired: 1, bad_signature: 3, bad_claims: 2 },
      "the gateway counts each refusal by its reason",
    );
  });

  it("passes an internal service's error through with its code, message and field violations", async () => {
    const address = freshAddress();
    const answer = await curl([
      "--http1.1",
      "-H",
      "content-type: application/json",
      "-H",
      `x-forwarded-for: ${address}`,
      "--data-binary",
      JSON.stringify({ destination: "Paris", pageSize: 1000 }),
      `${baseUrl}/tourmesh.catalog.v1.CatalogService/ListTours`,
    ]);
    assert.equal(answer.status, 400);
    const error = JSON.parse(answer.body);
    assert.equal(error.code, "invalid_argument");
    assert.equal(error.message, "page_size: must be between 0 and 100");
    assert.equal(error.details[0].type, "google.rpc.BadRequest");
    assert.deepEqual(error.details[0].debug, {
      fieldViolations: [{ field: "page_size", description: "must be between 0 and 100" }],
    });
    const decoded = fromBinary(BadRequestSchema, Buffer.from(error.details[0].value, "base64"));
    assert.equal(decoded.fieldViolations[0]?.field, "page_size");

    const grpc = createConnectClient(CatalogService, transport.grpc);
    const notFound = await rejection(grpc.getTour({ tourId: "tour_atlantis" }, callOptions(address)));
    assert.equal(notFound.code, Code.NotFound);
    assert.equal(notFound.rawMessage, "tour tour_atlantis does not exist");
    assert.deepEqual(
      notFound.findDetails(BadRequestSchema)[0]?.fieldViolations.map((violation) => violation.field),
      ["tour_id"],
    );
  });

  it("tells a client that identity refuses for now when to retry: RetryInfo, and Retry-After for curl", async () => {
    const address = freshAddress();
    const identity = createConnectClient(IdentityService, transport.connectBinary);
    const signIn = () =>
      rejection(
        identity.signIn({ username: "nobody-in-particular", password: "guess" }, callOptions(address)),
      );
    // Six failures in a row lock the name for a second (identity's throttling).
    for (let failure = 0; failure < 6; failure++) assert.equal((await signIn()).code, Code.Unauthenticated);
    const answer = await curl([
      "--http1.1",
      "-H",
      "content-type: application/json",
      "-H",
      `x-forwarded-for: ${address}`,
      "--data-binary",
      JSON.stringify({ username: "nobody-in-particular", password: "guess" }),
      `${baseUrl}/tourmesh.identity.v1.IdentityService/SignIn`,
    ]);
    assert.equal(answer.status, 429);
    assert.equal(answer.headers.get("retry-after"), "1");
    const error = JSON.parse(answer.body);
    assert.equal(error.code, "resource_exhausted");
    assert.equal(error.details[0].type, "google.rpc.RetryInfo");
  });

  it("refuses a request body above GATEWAY_MAX_REQUEST_BYTES before it goes anywhere", async () => {
    const client = createConnectClient(CatalogService, transport.connectBinary);
    const huge = await rejection(
      client.listTours({ destination: "x".repeat(2 * 1024 * 1024) }, callOptions(freshAddress())),
    );
    assert.equal(huge.code, Code.ResourceExhausted);
  });

  it("does not route internal methods: ReserveSeats, ReleaseSeats and PaymentService", async () => {
    const address = freshAddress();
    const catalogClient = createConnectClient(CatalogService, transport.connectJson);
    const seatsBefore = (await catalogClient.getTour({ tourId: "tour_paris_louvre" }, callOptions(address)))
      .tour?.seatsAvailable;
    const reserve = await rejection(
      catalogClient.reserveSeats(
        { tourId: "tour_paris_louvre", seats: 5, reservationId: "edge-attempt" },
        callOptions(address, aliceToken),
      ),
    );
    assert.equal(reserve.code, Code.Unimplemented);
    const release = await rejection(
      catalogClient.releaseSeats({ reservationId: "edge-attempt" }, callOptions(address, aliceToken)),
    );
    assert.equal(release.code, Code.Unimplemented);
    const seatsAfter = (await catalogClient.getTour({ tourId: "tour_paris_louvre" }, callOptions(address)))
      .tour?.seatsAvailable;
    assert.equal(seatsAfter, seatsBefore, "no seat was taken");

    const payment = createConnectClient(PaymentService, transport.grpc);
    const charge = await rejection(
      payment.getPayment({ paymentId: "payment_1" }, callOptions(address, aliceToken)),
    );
    assert.equal(charge.code, Code.Unimplemented);
  });

  it("rate-limits each user and each client address, telling the client when to retry", async () => {
    const shared = freshAddress();
    const client = createConnectClient(BookingService, transport.connectBinary);
    // All at once, so that the bucket's refill (1/s) during the burst stays small even on a loaded machine.
    const bobAnswers = await Promise.all(
      Array.from({ length: 30 }, () =>
        client.listBookings({}, callOptions(shared, bobToken)).then(
          () => undefined,
          (error: unknown) => ConnectError.from(error),
        ),
      ),
    );
    const bobRefused = bobAnswers.filter((answer) => answer !== undefined);
    assert.ok(bobRefused.length >= 5, `only ${bobRefused.length} of 30 refused`);
    for (const error of bobRefused) {
      assert.equal(error.code, Code.ResourceExhausted);
      assert.match(error.rawMessage, /too many requests from this user/);
    }
    await client.listBookings({}, callOptions(shared, aliceToken)); // another user, same address: unaffected

    const flooding = freshAddress();
    const catalogClient = createConnectClient(CatalogService, transport.connectJson);
    let refusedOnce: () => void = () => {};
    const aRefusal = new Promise<void>((resolve) => {
      refusedOnce = resolve;
    });
    const flooded = Promise.all(
      Array.from({ length: 80 }, () =>
        catalogClient.getTour({ tourId: "tour_rome_colosseum" }, callOptions(flooding)).then(
          () => undefined,
          (error: unknown) => {
            refusedOnce();
            return ConnectError.from(error);
          },
        ),
      ),
    );
    // While the flood is still arriving, so that its bucket (1/s) has no time to refill: the calls let in may
    // take longer to answer than a token takes to come back.
    await aRefusal;
    const viaCurl = await curl([
      "--http1.1",
      "-H",
      "content-type: application/json",
      "-H",
      `x-forwarded-for: ${flooding}`,
      "--data-binary",
      "{}",
      `${baseUrl}/tourmesh.catalog.v1.CatalogService/ListTours`,
    ]);
    const flood = await flooded;
    const floodRefused = flood.filter((answer) => answer !== undefined);
    assert.ok(floodRefused.length >= 15, `only ${floodRefused.length} of 80 refused`);
    const [first] = floodRefused;
    assert.equal(first?.code, Code.ResourceExhausted);
    assert.match(first?.rawMessage ?? "", /too many requests from this client address/);
    const retryDelay = first?.findDetails(RetryInfoSchema)[0]?.retryDelay;
    const delayMs = Number(retryDelay?.seconds ?? 0n) * 1000 + (retryDelay?.nanos ?? 0) / 1e6;
    assert.ok(delayMs > 0 && delayMs <= 1000, `retry delay ${delayMs} ms`);
    assert.equal(first?.metadata.get("retry-after"), "1");
    assert.equal(viaCurl.status, 429);
    assert.equal(viaCurl.headers.get("retry-after"), "1");
    assert.equal(JSON.parse(viaCurl.body).code, "resource_exhausted");
    await catalogClient.getTour({ tourId: "tour_rome_colosseum" }, callOptions(freshAddress())); // unaffected
  });

  it("gives every forwarded call the client's deadline capped at 15 s, or 5 s when it set none", async () => {
    const address = freshAddress();
    const deadlineOf = async (transportName: "connectJson" | "grpc", timeoutMs: number | undefined) => {
      const client = createConnectClient(BookingService, transport[transportName]);
      await client.getBooking(
        { bookingId: "booking_1" },
        callOptions(address, aliceToken, timeoutMs === undefined ? {} : { timeoutMs }),
      );
      return booking.calls.at(-1)?.remainingMs ?? 0;
    };
    const none = await deadlineOf("connectJson", undefined);
    assert.ok(none > 4_000 && none <= 5_000, `no deadline → ${none} ms`);
    const long = await deadlineOf("grpc", 60_000);
    assert.ok(long > 14_000 && long <= 15_000, `60 s asked → ${long} ms`);
    const short = await deadlineOf("connectJson", 2_000);
    assert.ok(short > 1_000 && short <= 2_000, `2 s asked → ${short} ms`);

    const client = createConnectClient(BookingService, transport.grpc);
    const started = performance.now();
    const late = await rejection(
      client.getBooking({ bookingId: "slow-10000" }, callOptions(address, aliceToken, { timeoutMs: 500 })),
    );
    assert.equal(late.code, Code.DeadlineExceeded);
    assert.ok(performance.now() - started < 5_000, "the call ended at its deadline, not when the work did");
  });

  it("continues the caller's trace into the internal service, and logs each call with it", async () => {
    const traceId = randomBytes(16).toString("hex");
    const traceparent = `00-${traceId}-${randomBytes(8).toString("hex")}-01`;
    const client = createConnectClient(CatalogService, transport.connectJson);
    await client.getTour(
      { tourId: "tour_amsterdam_canals" },
      callOptions(freshAddress(), undefined, { headers: { traceparent, "x-request-id": "trace-test-1" } }),
    );
    // Both processes write their logs asynchronously: wait for each line.
    let catalogLine: Record<string, unknown> | undefined;
    let gatewayLine: Record<string, unknown> | undefined;
    for (let waited = 0; waited < 3_000 && !(catalogLine && gatewayLine); waited += 50) {
      catalogLine = catalog.logs.find((line) => line.trace_id === traceId);
      gatewayLine = gateway.logs.find((line) => line.trace_id === traceId);
      if (!(catalogLine && gatewayLine)) await sleep(50);
    }
    assert.equal(catalogLine?.method, "/tourmesh.catalog.v1.CatalogService/GetTour");
    assert.equal(gatewayLine?.procedure, "/tourmesh.catalog.v1.CatalogService/GetTour");
    assert.equal(gatewayLine?.code, "OK");
    assert.equal(gatewayLine?.request_id, "trace-test-1");
    assert.equal(typeof gatewayLine?.duration_ms, "number");

    const metrics = await (await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`)).text();
    assert.match(
      metrics,
      /grpc_server_handled_total\{grpc_service="tourmesh.catalog.v1.CatalogService",grpc_method="GetTour",grpc_code="OK"\} [1-9]/,
    );
    assert.match(metrics, /grpc_client_handled_total\{grpc_service="tourmesh.catalog.v1.CatalogService"/);
  });

  it("returns the client's request id, or a new one, and forwards it", async () => {
    const client = createConnectClient(BookingService, transport.grpcWeb);
    let responseId: string | null = null;
    await client.quotePrice(
      { tourId: "tour_paris_louvre", travelers: 1 },
      callOptions(freshAddress(), aliceToken, {
        headers: { "x-request-id": "req-from-client-7" },
        onHeader: (headers) => {
          responseId = headers.get("x-request-id");
        },
      }),
    );
    assert.equal(responseId, "req-from-client-7");
    assert.equal(booking.calls.at(-1)?.requestId, "req-from-client-7");

    await client.quotePrice(
      { tourId: "tour_paris_louvre", travelers: 1 },
      callOptions(freshAddress(), aliceToken, {
        onHeader: (headers) => {
          responseId = headers.get("x-request-id");
        },
      }),
    );
    assert.match(String(responseId), /^[0-9a-f-]{36}$/);
    assert.equal(booking.calls.at(-1)?.requestId, responseId);
  });

  it("lets an allowed browser origin call it (CORS) and no other", async () => {
    const url = `${baseUrl}/tourmesh.catalog.v1.CatalogService/ListTours`;
    const preflight = (origin: string) =>
      curl([
        "-X",
        "OPTIONS",
        "-H",
        `origin: ${origin}`,
        "-H",
        "access-control-request-method: POST",
        "-H",
        "access-control-request-headers: content-type, authorization",
        url,
      ]);
    const allowed = await preflight("https://app.tourmesh.example");
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.tourmesh.example");
    assert.match(allowed.headers.get("access-control-allow-headers") ?? "", /Authorization/);
    const foreign = await preflight("https://evil.example");
    assert.equal(foreign.headers.get("access-control-allow-origin"), null);

    const actual = await curl([
      "-H",
      "origin: https://app.tourmesh.example",
      "-H",
      "content-type: application/json",
      "-H",
      `x-forwarded-for: ${freshAddress()}`,
      "--data-binary",
      "{}",
      url,
    ]);
    assert.equal(actual.status, 200);
    assert.equal(actual.headers.get("access-control-allow-origin"), "https://app.tourmesh.example");
    assert.match(actual.headers.get("access-control-expose-headers") ?? "", /Grpc-Status.*X-Request-Id/);
  });

  it("drains on SIGTERM: health turns NOT_SERVING, a call in flight still finishes, the process exits 0", async () => {
    const draining = await startGateway({ SHUTDOWN_DELAY_MS: "1000" });
    const grpc = createGrpcTransport({ baseUrl: `http://127.0.0.1:${draining.port}` });
    const health = createConnectClient(Health, grpc);
    const client = createConnectClient(BookingService, grpc);
    assert.equal((await health.check({ service: "" })).status, HealthCheckResponse_ServingStatus.SERVING);

    const inFlight = client.getBooking({ bookingId: "slow-2500" }, callOptions(freshAddress(), aliceToken));
    await sleep(200);
    const exited = draining.stop("SIGTERM");
    await sleep(300);
    assert.equal((await health.check({ service: "" })).status, HealthCheckResponse_ServingStatus.NOT_SERVING);
    assert.equal(
      (await health.check({ service: "liveness" })).status,
      HealthCheckResponse_ServingStatus.SERVING,
    );
    assert.equal((await inFlight).booking?.bookingId, "slow-2500");
    assert.equal(await exited, 0);
  });
});
