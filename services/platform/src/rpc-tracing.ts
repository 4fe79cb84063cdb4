import type * as grpc from "@grpc/grpc-js";
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";

/**
 * A span for every gRPC call the platform serves or makes, with the W3C trace context carried in the call's
 * metadata (`traceparent`, `tracestate`), following the OpenTelemetry RPC conventions. Written here, on the
 * platform's own server and client, rather than by @opentelemetry/instrumentation-grpc, which patches
 * grpc-js at require time: that costs more server CPU per call than these spans, and needs a require hook
 * that bundling would have to work around.
 */
const tracer = trace.getTracer("tourmesh-grpc");

const metadataGetter: TextMapGetter<grpc.Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => {
    const [value] = metadata.get(key);
    return typeof value === "string" ? value : undefined;
  },
};

const metadataSetter: TextMapSetter<grpc.Metadata> = {
  set: (metadata, key, value) => metadata.set(key, value),
};

/** Codes that make a server span an error; the others are the caller's mistake (OpenTelemetry's RPC rules). */
const serverErrorCodes = new Set([2, 4, 12, 13, 14, 15]);

export interface RpcSpan {
  span: Span;
  /** The context to run the call in: the caller's trace with this span active. */
  context: Context;
}

const attributes = (serviceName: string, methodName: string) => ({
  "rpc.system": "grpc",
  "rpc.service": serviceName,
  "rpc.method": methodName,
});

/** A SERVER span that continues the trace the caller sent in `metadata`. */
export function startServerSpan(serviceName: string, methodName: string, metadata: grpc.Metadata): RpcSpan {
  const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
  const span = tracer.startSpan(
    `${serviceName}/${methodName}`,
    { kind: SpanKind.SERVER, attributes: attributes(serviceName, methodName) },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** A CLIENT span in the current trace, whose context goes out in `metadata`. */
export function startClientSpan(serviceName: string, methodName: string, metadata: grpc.Metadata): Span {
  const parent = context.active();
  const span = tracer.startSpan(
    `${serviceName}/${methodName}`,
    { kind: SpanKind.CLIENT, attributes: attributes(serviceName, methodName) },
    parent,
  );
  propagation.inject(trace.setSpan(parent, span), metadata, metadataSetter);
  return span;
}

/** Ends a call's span with its status code; `message` is the status message of a failed call. */
export function endRpcSpan(span: Span, kind: "server" | "client", code: number, message?: string): void {
  if (span.isRecording()) {
    span.setAttribute("rpc.grpc.status_code", code);
    if (code !== 0 && (kind === "client" || serverErrorCodes.has(code)))
      span.setStatus({ code: SpanStatusCode.ERROR, ...(message === undefined ? {} : { message }) });
  }
  span.end();
}
