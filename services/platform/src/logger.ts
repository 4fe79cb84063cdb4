import { trace } from "@opentelemetry/api";
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

/**
 * JSON logs to stdout; each line carries the service name and the trace and span of the current call.
 * Writes are asynchronous so that lines written under load go out in batches instead of one syscall each;
 * pino flushes what is buffered when the process exits. Tests may pass another destination to read the lines.
 */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const span = trace.getActiveSpan();
        if (!span) return {};
        const { traceId, spanId } = span.spanContext();
        return { trace_id: traceId, span_id: spanId };
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
