/**
 * The deadlines the app itself puts on gRPC calls. The mesh's route timeouts are a backstop for these and must
 * never cut a call before the app's own deadline would: the app then answers DEADLINE_EXCEEDED itself, with
 * its own logs and metrics, instead of the proxy failing the call first.
 *
 * These numbers must match the defaults in services/platform (DEFAULT_DEADLINE_MS, the client's default
 * timeout and deadline margin), services/gateway (GATEWAY_DEFAULT_DEADLINE_MS, GATEWAY_MAX_DEADLINE_MS) and
 * services/booking (BOOKING_CHARGE_TIMEOUT_MS). cross-checks.ts checks every outbound route's
 * `timeout.linkerd.io/request` against them.
 */
export const appDeadlines = {
  /** The gateway gives a call that arrives without a deadline this much time. */
  gatewayDefaultMs: 5_000,
  /** The gateway caps any deadline a client asks for at this. */
  gatewayMaxMs: 15_000,
  /** A service gives an incoming call without a deadline this much (DEFAULT_DEADLINE_MS). */
  serviceDefaultMs: 5_000,
  /** Each hop passes on its remaining budget minus this margin. */
  hopMarginMs: 50,
  /** Calls whose caller always sets a shorter deadline than the budget it was given, by full method path. */
  callerDeadlinesMs: {
    "/tourmesh.payment.v1.PaymentService/Charge": 2_000,
  } as Readonly<Record<string, number>>,
} as const;

/**
 * The settings that carry these deadlines into the services (each service reads the ones it knows). A
 * manifest may set them lower than the numbers above, never higher: the route timeouts are derived from
 * the numbers above. cross-checks.ts enforces that.
 */
export const deadlineSettings: Readonly<Record<string, number>> = {
  GATEWAY_DEFAULT_DEADLINE_MS: appDeadlines.gatewayDefaultMs,
  GATEWAY_MAX_DEADLINE_MS: appDeadlines.gatewayMaxMs,
  DEFAULT_DEADLINE_MS: appDeadlines.serviceDefaultMs,
  BOOKING_CHARGE_TIMEOUT_MS: appDeadlines.callerDeadlinesMs[
    "/tourmesh.payment.v1.PaymentService/Charge"
  ] as number,
};

/**
 * The longest deadline any caller can give a call to `methodPath` ("/package.Service/Method"): the caller's
 * own fixed deadline where it sets one, else the most a budget relayed from the gateway (or a call's default)
 * can leave.
 */
export function longestAppDeadlineMs(methodPath: string): number {
  return (
    appDeadlines.callerDeadlinesMs[methodPath] ??
    Math.max(appDeadlines.gatewayMaxMs, appDeadlines.gatewayDefaultMs, appDeadlines.serviceDefaultMs)
  );
}
