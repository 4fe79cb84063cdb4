import { trace } from "@opentelemetry/api";
import { type DestinationStream, type Logger, pino } from "pino";
import type { LogRecordSink } from "./log-export.js";

export type { Logger };

/**
 * JSON logs to stdout; each line carries the service name and the trace and span of the current call.
 * Writes are asynchronous so that lines written under load go out in batches instead of one syscall each;
 * pino flushes what is buffered when the process exits. Tests may pass another destination to read the lines.
 * With `exportTo` (startLogExport's sink, when an OTLP endpoint is set) every line written is also handed
 * to it, in the context of the call, so that it carries that call's trace.
 */
export function createLogger(
  service: string,
  level: string,
  destination?: DestinationStream,
  exportTo?: LogRecordSink,
): Logger {
  return pino(
    {
      level,
      ...(exportTo && {
        hooks: {
          logMethod(args, method, numericLevel) {
            const { service: _service, ...bindings } = this.bindings();
            exportTo(numericLevel, bindings, args);
            return method.apply(this, args);
          },
        },
      }),
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
