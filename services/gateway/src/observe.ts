import { createRegistry, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import { file_google_rpc_error_details, RetryInfoSchema } from "@tourmesh/gen/google/rpc/error_details_pb.js";
import { type GrpcMetrics, type Logger, toConnectError } from "@tourmesh/platform";
import { edgeRequestKey } from "./edge-request.js";

const tracer = trace.getTracer("tourmesh-gateway");

const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/** The gRPC name of a code, as the platform's logs and metrics spell it: "INVALID_ARGUMENT". */
export function codeName(code: Code | 0): string {
  return code === 0 ? "OK" : Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

const errorDetailTypes = createRegistry(file_google_rpc_error_details);

/**
 * An internal service's error passes through with its code, message and details. Details of the standard
 * google.rpc types are decoded, so that Connect's JSON errors show them readably (`debug`) to curl users, and
 * a RetryInfo is also told as a Retry-After header in whole seconds, as the gateway's own refusals are.
 * Anything else thrown here (the verifier's UnauthenticatedError, a bug) is mapped as the platform maps it:
 * a bug becomes INTERNAL without leaking its message.
 */
function edgeError(error: unknown): ConnectError {
  if (!(error instanceof ConnectError)) return toConnectError(error);
  error.details = error.details.map((detail) => {
    if ("desc" in detail) return detail;
    const desc = errorDetailTypes.getMessage(detail.type);
    if (desc === undefined) return detail;
    try {
      return { desc, value: fromBinary(desc, detail.value) };
    } catch {
      return detail;
    }
  });
  const retryDelay = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
  if (retryDelay && !error.metadata.has("retry-after")) {
    error.metadata.set("retry-after", String(Math.ceil(Number(retryDelay.seconds) + retryDelay.nanos / 1e9)));
  }
  return error;
}

export interface ObserveOptions {
  logger: Logger;
  metrics: GrpcMetrics;
  /** Services not worth a span or a log line: health probes and reflection, as in the platform's servers. */
  quiet: ReadonlySet<string>;
}

/**
 * Per call: a server span that continues the caller's W3C trace context (so the platform client's spans,
 * and the traceparent it sends to the internal services, belong to the same trace), the
 * platform's per-method metrics, and one log line with procedure, code, duration, request id and trace id.
 */
export function observe({ logger, metrics, quiet }: ObserveOptions): Interceptor {
  return (next) => async (request) => {
    const { service, method } = request;
    if (quiet.has(service.typeName)) return next(request);
    const procedure = `/${service.typeName}/${method.name}`;
    const parent = propagation.extract(ROOT_CONTEXT, request.header, headerGetter);
    const span = tracer.startSpan(
      `${service.typeName}/${method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: { "rpc.system": "grpc", "rpc.service": service.typeName, "rpc.method": method.name },
      },
      parent,
    );
    const started = performance.now();
    return context.with(trace.setSpan(parent, span), async () => {
      let failure: ConnectError | undefined;
      let bug: unknown;
      try {
        return await next(request);
      } catch (error) {
        failure = edgeError(error);
        if (failure.code === Code.Internal && !(error instanceof ConnectError)) bug = error;
        throw failure;
      } finally {
        const code = failure?.code ?? 0;
        const seconds = (performance.now() - started) / 1000;
        metrics.serverHandled(service.typeName, method.name, code as number, seconds);
        span.setAttribute("rpc.grpc.status_code", code);
        if (failure) span.setStatus({ code: SpanStatusCode.ERROR, message: failure.rawMessage });
        const edge = request.contextValues.get(edgeRequestKey);
        const fields = {
          procedure,
          code: codeName(code),
          duration_ms: Math.round(seconds * 1000),
          request_id: edge.requestId,
          client_ip: edge.clientIp,
          ...(edge.userId ? { user_id: edge.userId } : {}),
        };
        if (bug !== undefined) logger.error({ ...fields, err: bug }, "gateway failed");
        else if (failure) logger.info({ ...fields, message: failure.rawMessage }, "handled");
        else logger.info(fields, "handled");
        span.end();
      }
    });
  };
}
