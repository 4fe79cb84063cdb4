import { fileURLToPath } from "node:url";
import {
  baseConfigSchema,
  type ConfigDefaults,
  tokenVerifierDefaults,
  tokenVerifierFields,
} from "@tourmesh/platform";
import { z } from "zod";

const address = z.string().regex(/^[^\s:]+:\d+$/, "must be host:port");
const positiveMs = z.coerce.number().int().min(1);
const perSecond = z.coerce.number().min(0);
const count = z.coerce.number().int().min(1);

/**
 * The gateway's settings. It takes no DEFAULT_DEADLINE_MS from the base: at the edge the deadline is
 * GATEWAY_DEFAULT_DEADLINE_MS for a call without one, and a client's own deadline is capped at
 * GATEWAY_MAX_DEADLINE_MS.
 */
export const gatewayConfigSchema = baseConfigSchema.omit({ DEFAULT_DEADLINE_MS: true }).extend({
  CATALOG_ADDR: address,
  BOOKING_ADDR: address,
  REVIEW_ADDR: address,
  NOTIFICATION_ADDR: address,
  IDENTITY_ADDR: address,
  ...tokenVerifierFields,
  GATEWAY_DEFAULT_DEADLINE_MS: positiveMs,
  GATEWAY_MAX_DEADLINE_MS: positiveMs,
  /** Token buckets: sustained requests per second and burst, per client address and per signed-in user. 0 turns a limit off. */
  RATE_LIMIT_PER_IP_RPS: perSecond,
  RATE_LIMIT_PER_IP_BURST: count,
  RATE_LIMIT_PER_USER_RPS: perSecond,
  RATE_LIMIT_PER_USER_BURST: count,
  /** How many clients (and, separately, users) the limiter remembers at most: its memory bound (~200 bytes each). */
  RATE_LIMIT_MAX_TRACKED: count,
  /**
   * How many proxies in front of the gateway append to X-Forwarded-For and are trusted to (0: none; the
   * socket's peer is the client). With 1, the last entry is the client address that proxy saw.
   */
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0),
  /** Comma-separated browser origins allowed to call the gateway, or `*` for any. */
  CORS_ALLOWED_ORIGINS: z
    .string()
    .transform((value) => value.split(",").map((origin) => origin.trim()))
    .pipe(z.array(z.union([z.literal("*"), z.url()])).min(1)),
  /** Request bodies above this size are refused (RESOURCE_EXHAUSTED): no public request needs more. */
  GATEWAY_MAX_REQUEST_BYTES: count,
  /** Calls forwarded at once; more are refused with UNAVAILABLE at once (load shedding, see admission.ts). */
  GATEWAY_MAX_IN_FLIGHT: count,
  /** The built web app served at / (see web-app.ts); when it holds no build, / says how to make one. */
  WEB_APP_DIR: z.string().min(1),
  /** Where browsers send the web app's spans (OTLP/HTTP, e.g. https://otel.example.com/v1/traces); unset, none. */
  WEB_OTLP_TRACES_URL: z.url().optional(),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

export const gatewayDefaults = {
  PORT: 8080,
  METRICS_PORT: 9450,
  CATALOG_ADDR: "127.0.0.1:50051",
  BOOKING_ADDR: "127.0.0.1:50052",
  NOTIFICATION_ADDR: "127.0.0.1:50054",
  REVIEW_ADDR: "127.0.0.1:50055",
  IDENTITY_ADDR: "127.0.0.1:50056",
  ...tokenVerifierDefaults,
  GATEWAY_DEFAULT_DEADLINE_MS: 5_000,
  GATEWAY_MAX_DEADLINE_MS: 15_000,
  RATE_LIMIT_PER_IP_RPS: 100,
  RATE_LIMIT_PER_IP_BURST: 200,
  RATE_LIMIT_PER_USER_RPS: 20,
  RATE_LIMIT_PER_USER_BURST: 40,
  RATE_LIMIT_MAX_TRACKED: 50_000,
  TRUSTED_PROXY_HOPS: 0,
  CORS_ALLOWED_ORIGINS: "*",
  GATEWAY_MAX_REQUEST_BYTES: 1_048_576,
  GATEWAY_MAX_IN_FLIGHT: 96,
  WEB_APP_DIR: fileURLToPath(new URL("../../../web/dist", import.meta.url)),
} satisfies ConfigDefaults<typeof gatewayConfigSchema>;
