import { Code, type Interceptor } from "@connectrpc/connect";
import { BulkheadRejectedError, bulkhead } from "cockatiel";
import { refusedForNow } from "./guard.js";

/** When a refused client is told to try again. */
const RETRY_AFTER_MS = 1_000;

/**
 * Load shedding at the edge: at most `maxInFlight` calls are forwarded at once, and a call beyond that is
 * refused at once with UNAVAILABLE and a RetryInfo. Without a bound, a load above what the services can
 * serve makes every call slower until all of them miss their deadlines: the services then work only for
 * callers that have given up, and nobody is served. With it, the calls let in are served in time and the
 * rest learn at once that they should come back. Size it by Little's law: the rate the services sustain
 * times the latency acceptable at that rate. `governs` says which procedures it applies to (health and
 * reflection stay outside, so probes still answer under overload).
 */
export function admission(maxInFlight: number, governs: (procedure: string) => boolean): Interceptor {
  const slots = bulkhead(maxInFlight);
  return (next) => async (request) => {
    if (!governs(`/${request.service.typeName}/${request.method.name}`)) return next(request);
    try {
      return await slots.execute(() => next(request));
    } catch (error) {
      if (!(error instanceof BulkheadRejectedError)) throw error;
      throw refusedForNow(
        `the gateway is at capacity (${maxInFlight} calls in flight); retry in ${RETRY_AFTER_MS} ms`,
        Code.Unavailable,
        RETRY_AFTER_MS,
      );
    }
  };
}
