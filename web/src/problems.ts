import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, RetryInfoSchema } from "@tourmesh/gen/google/rpc/error_details_pb.js";

/** What went wrong with a call, in the terms the page shows it. */
export type Problem =
  /** Bad input: a description per request field (e.g. `promo_code`), shown beside the field. */
  | { kind: "fields"; violations: ReadonlyMap<string, string>; message: string }
  /** Too many requests: when to try again. */
  | { kind: "rate-limited"; retryAfterSeconds: number }
  /** The gateway could not be reached, or could not reach a service: worth a retry. */
  | { kind: "network" }
  /** No session, or it expired: sign in again. */
  | { kind: "signed-out" }
  /** Anything else: the server's message. */
  | { kind: "refused"; message: string };

/** The Retry-After answer when a refusal carries no RetryInfo. */
const DEFAULT_RETRY_SECONDS = 1;

export function problemOf(error: unknown): Problem {
  const failure = ConnectError.from(error);
  // fetch() itself failed (offline, connection refused): connect-web reports it with the TypeError as cause.
  if (failure.cause instanceof TypeError || failure.code === Code.Unavailable) return { kind: "network" };
  if (failure.code === Code.Unauthenticated) return { kind: "signed-out" };
  if (failure.code === Code.ResourceExhausted) {
    const delay = failure.findDetails(RetryInfoSchema)[0]?.retryDelay;
    const seconds =
      delay === undefined ? DEFAULT_RETRY_SECONDS : Math.ceil(Number(delay.seconds) + delay.nanos / 1e9);
    return { kind: "rate-limited", retryAfterSeconds: Math.max(1, seconds) };
  }
  const violations = new Map<string, string>();
  for (const detail of failure.findDetails(BadRequestSchema)) {
    for (const violation of detail.fieldViolations) violations.set(violation.field, violation.description);
  }
  if (violations.size > 0) return { kind: "fields", violations, message: failure.rawMessage };
  return { kind: "refused", message: failure.rawMessage };
}

/** A field's violation, if the problem has one for it. */
export function violationOf(problem: Problem | undefined, field: string): string | undefined {
  return problem?.kind === "fields" ? problem.violations.get(field) : undefined;
}
