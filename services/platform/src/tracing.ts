import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";

/**
 * Starts the OpenTelemetry tracer provider: W3C trace context in and out of every call and a span for every
 * gRPC call (see rpc-tracing.ts), exported over OTLP/HTTP when an endpoint is configured, sampled by
 * parent, else at `sampleRatio` of new traces. Without an endpoint nothing is recorded, since nobody would
 * collect it: trace and span ids are still made and passed on, so every log line still carries them.
 */
export async function startTracing(
  serviceName: string,
  otlpEndpoint: string | undefined,
  sampleRatio = 1,
): Promise<() => Promise<void>> {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    sampler: otlpEndpoint
      ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampleRatio) })
      : new AlwaysOffSampler(),
    spanProcessors: otlpEndpoint ? [new BatchSpanProcessor(await otlpExporter(otlpEndpoint))] : [],
  });
  provider.register();
  return () => provider.shutdown();
}

/**
 * The exporter is loaded only when there is somewhere to export to: it brings in OpenTelemetry's OTLP
 * encoding and its logs and metrics SDKs, heap that a service exporting nothing would hold for nothing.
 */
async function otlpExporter(otlpEndpoint: string) {
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
  return new OTLPTraceExporter({ url: `${otlpEndpoint.replace(/\/$/, "")}/v1/traces` });
}
