/**
 * What the gateway learns about a request before any RPC handling: who is asking (address), which request
 * this is (request id), and what a browser may do with the answer (CORS). Plain functions over header
 * values; the HTTP wiring is in gateway.ts.
 */
import { randomUUID } from "node:crypto";
import { cors as connectCors, createContextKey } from "@connectrpc/connect";

export interface EdgeRequest {
  /** From the client's `x-request-id` when it is sane, otherwise made here; returned and forwarded. */
  requestId: string;
  /** The client address, for per-address rate limits and logs. */
  clientIp: string;
  /** The signed-in user, once the token has been verified. */
  userId?: string;
}

export const edgeRequestKey = createContextKey<EdgeRequest>(
  { requestId: "", clientIp: "" },
  { description: "the gateway's view of the HTTP request" },
);

export const REQUEST_ID_HEADER = "x-request-id";

/** A client's request id is kept when it is 1-128 visible ASCII characters; anything else is replaced. */
export function requestIdOf(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && /^[\x21-\x7e]{1,128}$/.test(value) ? value : randomUUID();
}

function withoutIpv4Mapping(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice("::ffff:".length) : address;
}

/**
 * The client's address. With no trusted proxy it is the socket's peer. Behind `trustedHops` proxies that
 * each append the address they saw to X-Forwarded-For, it is the entry the outermost trusted proxy appended:
 * entries further left were written by the client itself and prove nothing.
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedHops: number,
): string {
  const peer = withoutIpv4Mapping(socketAddress ?? "unknown");
  if (trustedHops === 0 || forwardedFor === undefined) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor)
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  const entry = hops[Math.max(0, hops.length - trustedHops)];
  return entry === undefined ? peer : withoutIpv4Mapping(entry);
}

/**
 * Headers a browser may send besides Connect's own: the token, a request id, trace context, and the entity
 * tag OFREP's bulk evaluation is polled with.
 */
const allowedRequestHeaders = [
  ...connectCors.allowedHeaders,
  "Authorization",
  "X-Request-Id",
  "Traceparent",
  "If-None-Match",
];
/** Headers a browser script may read besides Connect's own. */
const exposedResponseHeaders = [...connectCors.exposedHeaders, "X-Request-Id", "Retry-After", "ETag"];

/**
 * CORS response headers for a request from `origin`: none for a non-browser request or a foreign origin (the
 * browser then withholds the answer from the script). A preflight also learns what it may send. No
 * credentials mode: the gateway reads bearer tokens, never cookies.
 */
export function corsHeaders(
  origin: string | undefined,
  allowedOrigins: readonly string[],
  preflight: boolean,
): Record<string, string> {
  if (origin === undefined) return {};
  const anyOrigin = allowedOrigins.includes("*");
  if (!anyOrigin && !allowedOrigins.includes(origin)) return {};
  const headers: Record<string, string> = anyOrigin
    ? { "access-control-allow-origin": "*" }
    : { "access-control-allow-origin": origin, vary: "Origin" };
  if (!preflight) return { ...headers, "access-control-expose-headers": exposedResponseHeaders.join(", ") };
  return {
    ...headers,
    "access-control-allow-methods": connectCors.allowedMethods.join(", "),
    "access-control-allow-headers": allowedRequestHeaders.join(", "),
    "access-control-max-age": "7200",
  };
}
