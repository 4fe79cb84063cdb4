/**
 * The whole stack on free ports and fresh databases, its gateway serving the built web app (built first when
 * web/dist has none): what the browser spec and the screenshots run against. Booking retries a charge
 * quickly, so that a booking kept while payment is down settles within seconds once payment is back.
 */
import { type StackOptions, startStack } from "@tourmesh/stack";
import { ensureWebApp, webAppDir } from "../build.js";

export async function startWebStack(logs: StackOptions["logs"] = "keep") {
  await ensureWebApp();
  return startStack({
    prefix: "web",
    logs,
    // The whole stack on a busy machine: identity's password hashing alone can take tens of seconds.
    readyTimeoutMs: 180_000,
    env: {
      gateway: { WEB_APP_DIR: webAppDir },
      booking: {
        BOOKING_RETRY_BASE_MS: "200",
        BOOKING_RETRY_MAX_MS: "1000",
        BOOKING_RETRY_SWEEP_MS: "1000",
        BOOKING_BREAKER_HALF_OPEN_MS: "500",
        BOOKING_PAYMENT_MAX_ATTEMPTS: "1000",
      },
    },
  });
}
