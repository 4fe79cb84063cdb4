import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ServerReflection } from "@tourmesh/gen/grpc/reflection/v1/reflection_pb.js";
import { Health } from "@tourmesh/gen/health/v1/health_pb.js";
import {
  createClient,
  type DrainableServer,
  type FeatureFlags,
  type GrpcMetrics,
  type Logger,
  TokenVerifier,
  tokenVerifierOptions,
} from "@tourmesh/platform";
import { admission } from "./admission.js";
import { apiDocs } from "./api-docs.js";
import type { GatewayConfig } from "./config.js";
import {
  clientAddress,
  corsHeaders,
  type EdgeRequest,
  edgeRequestKey,
  REQUEST_ID_HEADER,
  requestIdOf,
} from "./edge-request.js";
import { type ForwardingClient, routeExposedServices } from "./forwarding.js";
import { guard } from "./guard.js";
import { GatewayHealth } from "./health.js";
import { createDualProtocolServer, type NodeRequest, type NodeResponse } from "./listener.js";
import { observe } from "./observe.js";
import { isOfrepRequest, ofrepHandler } from "./ofrep.js";
import { accessByProcedure, exposedServices } from "./public-api.js";
import { RateLimiter } from "./rate-limit.js";
import { reflectionImplementation } from "./reflection.js";
import { strictJsonOptions, textContent, undecodableRequests } from "./request-content.js";
import { webApp } from "./web-app.js";

/**
 * The edge: one port that speaks Connect (JSON and binary), gRPC-Web and gRPC, over HTTP/1.1 and h2c alike
 * (see listener.ts).
 * Every exposed call is rate-limited, authenticated when it must be, given a capped deadline, traced, logged,
 * counted and forwarded over gRPC to the internal service that owns it. The API reference is at /docs
 * (api-docs.ts); the browser's feature flags over OFREP (ofrep.ts); any other GET is the web app's
 * (web-app.ts). The platform's lifecycle starts it and drains it; the drain ends by closing the clients to the
 * internal services.
 */
export function createGateway(
  config: GatewayConfig,
  logger: Logger,
  metrics: GrpcMetrics,
  flags: FeatureFlags,
): DrainableServer {
  const clients: Array<{ close(): void }> = [];
  const clientOf = (exposed: (typeof exposedServices)[number]): ForwardingClient => {
    const client = createClient(exposed.service, config[exposed.peer], {
      metrics,
      retries: !config.MESH_MODE,
      defaultTimeoutMs: config.GATEWAY_DEFAULT_DEADLINE_MS,
    });
    clients.push(client);
    return client as unknown as ForwardingClient;
  };

  const health = new GatewayHealth(exposedServices.map(({ service }) => service.typeName));
  const reflected = [...exposedServices.map(({ service }) => service), Health, ServerReflection];
  const access = new Map(accessByProcedure(exposedServices));
  access.set(`/${ServerReflection.typeName}/${ServerReflection.method.serverReflectionInfo.name}`, {
    audience: "public",
  });

  const serveApiDocs = apiDocs();
  const serveWebApp = webApp({ dir: config.WEB_APP_DIR, otlpTracesUrl: config.WEB_OTLP_TRACES_URL });
  const verifier = new TokenVerifier({ ...tokenVerifierOptions(config), registry: metrics.registry });
  const perClient = new RateLimiter(
    { ratePerSecond: config.RATE_LIMIT_PER_IP_RPS, burst: config.RATE_LIMIT_PER_IP_BURST },
    config.RATE_LIMIT_MAX_TRACKED,
  );
  const serveOfrep = ofrepHandler({
    flags,
    verifier,
    perClient,
    maxBodyBytes: config.GATEWAY_MAX_REQUEST_BYTES,
    logger,
  });

  const edgeRequests = new WeakMap<NodeRequest, EdgeRequest>();
  const undecodable = undecodableRequests({ logger, metrics });
  const handleRpc = connectNodeAdapter({
    readMaxBytes: config.GATEWAY_MAX_REQUEST_BYTES,
    jsonOptions: strictJsonOptions,
    requestGate: undecodable.requestGate,
    // Every request reaches the adapter through handleRequest below, which records its EdgeRequest first.
    contextValues: (request) => {
      const edge = edgeRequests.get(request);
      if (edge === undefined) throw new Error("a request reached the RPC handler without passing the edge");
      return createContextValues().set(edgeRequestKey, edge);
    },
    interceptors: [
      undecodable.interceptor,
      observe({ logger, metrics, quiet: new Set([Health.typeName, ServerReflection.typeName]) }),
      admission(config.GATEWAY_MAX_IN_FLIGHT, (procedure) => access.has(procedure)),
      guard({
        access,
        verifier,
        perClient,
        perUser: new RateLimiter(
          { ratePerSecond: config.RATE_LIMIT_PER_USER_RPS, burst: config.RATE_LIMIT_PER_USER_BURST },
          config.RATE_LIMIT_MAX_TRACKED,
        ),
      }),
      textContent(),
    ],
    routes(router) {
      routeExposedServices(router, exposedServices, clientOf, {
        defaultMs: config.GATEWAY_DEFAULT_DEADLINE_MS,
        maxMs: config.GATEWAY_MAX_DEADLINE_MS,
      });
      router.service(Health, health.implementation());
      router.service(ServerReflection, reflectionImplementation(reflected));
    },
  });

  const handleRequest = (request: NodeRequest, response: NodeResponse) => {
    const edge: EdgeRequest = {
      requestId: requestIdOf(request.headers[REQUEST_ID_HEADER]),
      clientIp: clientAddress(
        request.socket.remoteAddress,
        request.headers["x-forwarded-for"],
        config.TRUSTED_PROXY_HOPS,
      ),
    };
    edgeRequests.set(request, edge);
    response.setHeader(REQUEST_ID_HEADER, edge.requestId);
    const preflight =
      request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined;
    const origin = request.headers.origin;
    for (const [name, value] of Object.entries(corsHeaders(origin, config.CORS_ALLOWED_ORIGINS, preflight))) {
      response.setHeader(name, value);
    }
    if (preflight) {
      response.statusCode = 204;
      response.end();
      return;
    }
    if (isOfrepRequest(request.url)) {
      void serveOfrep(request, response, edge.clientIp);
      return;
    }
    if (serveApiDocs(request, response)) return;
    if (serveWebApp(request, response)) return;
    handleRpc(request, response);
  };

  const server = createDualProtocolServer(handleRequest);
  return {
    start: (port) => server.listen(port),
    async drain({ delayMs, graceMs }) {
      health.drain();
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (!(await server.close(graceMs))) {
        logger.warn({ grace_ms: graceMs }, "calls still in flight after the grace period; cutting off");
      }
      for (const client of clients) client.close();
    },
  };
}
