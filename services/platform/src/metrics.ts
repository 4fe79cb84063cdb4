import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { status as Status } from "@grpc/grpc-js";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Per-method gRPC metrics, named as in go-grpc-prometheus so that existing dashboards work. */
export class GrpcMetrics {
  readonly registry = new Registry();
  private readonly handled: Counter<"grpc_service" | "grpc_method" | "grpc_code">;
  private readonly handling: Histogram<"grpc_service" | "grpc_method">;
  private readonly clientHandledTotal: Counter<"grpc_service" | "grpc_method" | "grpc_code">;
  private readonly clientHandlingSeconds: Histogram<"grpc_service" | "grpc_method">;
  private readonly deprecatedCalls: Counter<"grpc_service" | "grpc_method">;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.handled = new Counter({
      name: "grpc_server_handled_total",
      help: "RPCs completed on the server, by status code.",
      labelNames: ["grpc_service", "grpc_method", "grpc_code"],
      registers,
    });
    this.handling = new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Time the server took to answer an RPC.",
      labelNames: ["grpc_service", "grpc_method"],
      buckets: latencyBuckets,
      registers,
    });
    this.clientHandledTotal = new Counter({
      name: "grpc_client_handled_total",
      help: "RPCs this service made that completed, by status code.",
      labelNames: ["grpc_service", "grpc_method", "grpc_code"],
      registers,
    });
    this.clientHandlingSeconds = new Histogram({
      name: "grpc_client_handling_seconds",
      help: "Time RPCs this service made took to complete.",
      labelNames: ["grpc_service", "grpc_method"],
      buckets: latencyBuckets,
      registers,
    });
    this.deprecatedCalls = new Counter({
      name: "deprecated_calls_total",
      help: "Calls this service received to a method its contract marks deprecated (or of a deprecated service): who still has to move.",
      labelNames: ["grpc_service", "grpc_method"],
      registers,
    });
  }

  /** Counts one call received to a deprecated method. */
  deprecatedCalled(service: string, method: string): void {
    this.deprecatedCalls.labels(service, method).inc();
  }

  /** Records one answered call. `service` is the full service name, `method` the method name. */
  serverHandled(service: string, method: string, code: Status, seconds: number): void {
    this.children(this.handled, this.handling, service, method, code).record(seconds);
  }

  clientHandled(service: string, method: string, code: Status, seconds: number): void {
    this.children(this.clientHandledTotal, this.clientHandlingSeconds, service, method, code).record(seconds);
  }

  /** Label children are looked up once per method and code, not hashed from label objects on every call. */
  private readonly recorders = new Map<string, { record(seconds: number): void }>();

  private children(
    counter: Counter<"grpc_service" | "grpc_method" | "grpc_code">,
    histogram: Histogram<"grpc_service" | "grpc_method">,
    service: string,
    method: string,
    code: Status,
  ) {
    const key = `${counter === this.handled ? "server" : "client"}/${service}/${method}/${code}`;
    let recorder = this.recorders.get(key);
    if (recorder === undefined) {
      const count = counter.labels(service, method, Status[code]);
      const time = histogram.labels(service, method);
      recorder = {
        record(seconds) {
          count.inc();
          time.observe(seconds);
        },
      };
      this.recorders.set(key, recorder);
    }
    return recorder;
  }
}

export type HttpRoute = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

/** The service's plain-HTTP side: GET /metrics for Prometheus, plus any routes the service adds. */
export function startMetricsServer(
  registry: Registry,
  port: number,
  routes: Record<string, HttpRoute> = {},
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    const route = path === "/metrics" ? serveMetrics : routes[path];
    if (request.method !== "GET" || route === undefined) {
      response.writeHead(404).end();
      return;
    }
    Promise.resolve(route(request, response)).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  async function serveMetrics(_request: IncomingMessage, response: ServerResponse) {
    const body = await registry.metrics();
    response.writeHead(200, { "content-type": registry.contentType }).end(body);
  }
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => resolve(server));
  });
}
