import { SeverityNumber } from "@opentelemetry/api-logs";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";

/** What a log line is made of, as pino's `logMethod` hook sees it: the logger's bindings and the call's arguments. */
export type LogRecordSink = (level: number, bindings: Record<string, unknown>, args: unknown[]) => void;

export interface LogExport {
  /** Hands one log line to the exporter (see createLogger). */
  sink: LogRecordSink;
  /** Sends what is still batched, then stops. */
  shutdown(): Promise<void>;
}

/** pino's numeric levels and OpenTelemetry's severities. */
const severities: Record<number, { number: SeverityNumber; text: string }> = {
  10: { number: SeverityNumber.TRACE, text: "trace" },
  20: { number: SeverityNumber.DEBUG, text: "debug" },
  30: { number: SeverityNumber.INFO, text: "info" },
  40: { number: SeverityNumber.WARN, text: "warn" },
  50: { number: SeverityNumber.ERROR, text: "error" },
  60: { number: SeverityNumber.FATAL, text: "fatal" },
};

type AttributeValue = string | number | boolean;

/** A field as an OTLP attribute: primitives as they are, an error as its message and stack, the rest as JSON. */
function attribute(value: unknown): AttributeValue | undefined {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (value instanceof Error)
    return `${value.name}: ${value.message}${value.stack ? `\n${value.stack}` : ""}`;
  if (value === null || value === undefined || typeof value === "function") return undefined;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * Exports the process's log lines over OTLP/HTTP to `<endpoint>/v1/logs` beside writing them to stdout, when
 * an endpoint is configured (undefined otherwise): each record carries the service (resource service.name),
 * its level, its message, its fields as attributes and the trace and span of the call it was written in, so
 * that a log store finds every service's lines of one trace. Loaded only then, like the trace exporter.
 */
export async function startLogExport(
  serviceName: string,
  otlpEndpoint: string | undefined,
): Promise<LogExport | undefined> {
  if (!otlpEndpoint) return undefined;
  const [{ LoggerProvider, BatchLogRecordProcessor }, { OTLPLogExporter }] = await Promise.all([
    import("@opentelemetry/sdk-logs"),
    import("@opentelemetry/exporter-logs-otlp-http"),
  ]);
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    processors: [
      new BatchLogRecordProcessor({
        exporter: new OTLPLogExporter({ url: `${otlpEndpoint.replace(/\/$/, "")}/v1/logs` }),
      }),
    ],
  });
  const logger = provider.getLogger("tourmesh");
  return {
    sink(level, bindings, args) {
      const [first, second] = args;
      const fields: Record<string, unknown> = { ...bindings };
      let message: unknown = first;
      if (first instanceof Error) {
        fields.err = first;
        message = second ?? first.message;
      } else if (first !== null && typeof first === "object") {
        Object.assign(fields, first);
        message = second;
      }
      const attributes: Record<string, AttributeValue> = {};
      for (const [key, value] of Object.entries(fields)) {
        const converted = attribute(value);
        if (converted !== undefined) attributes[key] = converted;
      }
      const severity = severities[level] ?? { number: SeverityNumber.UNSPECIFIED, text: String(level) };
      // The record takes the active context's span: the call the line was written in.
      logger.emit({
        severityNumber: severity.number,
        severityText: severity.text,
        body: typeof message === "string" ? message : (attribute(message) ?? ""),
        attributes,
      });
    },
    shutdown: () => provider.shutdown(),
  };
}
