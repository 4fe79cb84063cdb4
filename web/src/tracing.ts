import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { type ExportResult, ExportResultCode, W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  WebTracerProvider,
} from "@opentelemetry/sdk-trace-web";

/**
 * Where the gateway told the page to send its spans (OTLP over HTTP), from the `otlp-traces-url` meta tag it
 * writes into index.html when WEB_OTLP_TRACES_URL is set; absent, spans are made (so that every call carries
 * a trace context) but never leave the page.
 */
const tracesUrl = document.querySelector<HTMLMetaElement>('meta[name="otlp-traces-url"]')?.content;

/** The OTLP exporter, loaded only once a batch of spans is due: a page that exports nothing never downloads it. */
class OtlpOnDemand implements SpanExporter {
  private exporter: Promise<SpanExporter> | undefined;
  constructor(private readonly url: string) {}

  private load(): Promise<SpanExporter> {
    this.exporter ??= import("@opentelemetry/exporter-trace-otlp-http").then(
      ({ OTLPTraceExporter }) => new OTLPTraceExporter({ url: this.url }),
    );
    return this.exporter;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.load().then(
      (exporter) => exporter.export(spans, done),
      (error: Error) => done({ code: ExportResultCode.FAILED, error }),
    );
  }

  async shutdown(): Promise<void> {
    await (await this.exporter)?.shutdown();
  }
}

const provider = new WebTracerProvider({
  resource: resourceFromAttributes({ "service.name": "tourmesh-web" }),
  spanProcessors: tracesUrl ? [new BatchSpanProcessor(new OtlpOnDemand(tracesUrl))] : [],
});
const tracer = provider.getTracer("tourmesh-web");
const propagator = new W3CTraceContextPropagator();

/**
 * A client span per call, its W3C `traceparent` sent with the request: the gateway continues that trace, and
 * so every service the call reaches, so one trace id runs from the browser to the database.
 */
export const traceCalls: Interceptor = (next) => async (request) => {
  const span = tracer.startSpan(`${request.service.typeName}/${request.method.name}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      "rpc.system": "grpc",
      "rpc.service": request.service.typeName,
      "rpc.method": request.method.name,
    },
  });
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), request.header, {
    set: (headers, name, value) => headers.set(name, value),
  });
  try {
    const response = await next(request);
    span.setAttribute("rpc.grpc.status_code", 0);
    return response;
  } catch (error) {
    const failure = ConnectError.from(error);
    span.setAttribute("rpc.grpc.status_code", failure.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: failure.rawMessage });
    throw error;
  } finally {
    span.end();
  }
};
