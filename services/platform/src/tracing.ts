import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";

/**
 * Starts the OpenTelemetry tracer provider: W3C trace context in and out of every call, spans for every
 * gRPC call (see instrumentation.ts), exported over OTLP/HTTP only when an endpoint is configured. Without
 * one, spans are still made, so that every log line carries its trace and span id.
 */
export function startTracing(serviceName: string, otlpEndpoint: string | undefined): () => Promise<void> {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    spanProcessors: otlpEndpoint
      ? [
          new BatchSpanProcessor(
            new OTLPTraceExporter({ url: `${otlpEndpoint.replace(/\/$/, "")}/v1/traces` }),
          ),
        ]
      : [],
  });
  provider.register();
  return () => provider.shutdown();
}
