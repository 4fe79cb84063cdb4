import type { Metadata } from "@grpc/grpc-js";
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from "jose";
import { LRUCache } from "lru-cache";
import { Counter, Histogram, type Registry } from "prom-client";
import { UnauthenticatedError, UnavailableError } from "./errors.js";

/** The user a request acts for, as proved by a verified access token. */
export interface Caller {
  /** The token's `sub`: a stable user id. */
  userId: string;
  /** The user's display name (`preferred_username`). */
  username: string;
  /** What the token lets the user do: its `scope` claim, space-separated (RFC 9068); empty without one. */
  scopes: ReadonlySet<string>;
}

/** The scopes of a token's `scope` claim. */
export function scopesOf(claim: unknown): ReadonlySet<string> {
  return new Set(typeof claim === "string" ? claim.split(" ").filter((scope) => scope.length > 0) : []);
}

/** Why a caller was not authenticated: the only label of auth_failures_total, a closed set. */
export type AuthFailureReason =
  /** No `authorization: Bearer <token>` header. */
  | "missing_token"
  /** Not a JWS/JWT this service accepts (garbled, or an algorithm it does not allow). */
  | "invalid_token"
  | "expired"
  | "bad_signature"
  /** Issuer, audience or a required claim is wrong or missing, or the token is not yet valid. */
  | "bad_claims"
  /** Signed with a key id the issuer's JWKS does not hold. */
  | "unknown_key"
  /** The issuer's JWKS could not be fetched: the token could not be checked at all. */
  | "keys_unavailable"
  /** Identity's sign-in: unknown user or wrong password (one reason, as the answer is one). */
  | "wrong_credentials";

const reasonByJoseCode: Record<string, AuthFailureReason> = {
  [errors.JWTExpired.code]: "expired",
  [errors.JWSSignatureVerificationFailed.code]: "bad_signature",
  [errors.JWTClaimValidationFailed.code]: "bad_claims",
  [errors.JWKSNoMatchingKey.code]: "unknown_key",
  [errors.JWKSMultipleMatchingKeys.code]: "unknown_key",
  [errors.JWKSTimeout.code]: "keys_unavailable",
  [errors.JWKSInvalid.code]: "keys_unavailable",
  // jose's generic error is what it throws for a JWKS answer other than 200.
  [errors.JOSEError.code]: "keys_unavailable",
};

/** jose's errors name what was wrong with the token; anything else came from fetching the JWKS. */
function failureReason(error: unknown): AuthFailureReason {
  if (!(error instanceof errors.JOSEError)) return "keys_unavailable";
  return reasonByJoseCode[error.code] ?? "invalid_token";
}

/**
 * Authentication's metrics on a service's registry: failures by reason, and how long verifying a token's
 * signature and claims takes (a token the verifier remembers is not verified again, so not timed). One per
 * registry, shared by whatever authenticates in the service; the latency histogram exists once a verifier does.
 */
export class AuthMetrics {
  private static readonly byRegistry = new WeakMap<Registry, AuthMetrics>();
  private readonly failures: Counter<"reason">;
  private verifyDuration: Histogram | undefined;

  static of(registry: Registry): AuthMetrics {
    let metrics = AuthMetrics.byRegistry.get(registry);
    if (metrics === undefined) {
      metrics = new AuthMetrics(registry);
      AuthMetrics.byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  private constructor(private readonly registry: Registry) {
    this.failures = new Counter({
      name: "auth_failures_total",
      help: "Callers refused as unauthenticated, by reason.",
      labelNames: ["reason"],
      registers: [registry],
    });
  }

  failed(reason: AuthFailureReason): void {
    this.failures.inc({ reason });
  }

  /** The histogram of token verification times. */
  verifications(): Histogram {
    this.verifyDuration ??= new Histogram({
      name: "jwt_verify_duration_seconds",
      help: "Time taken to verify an access token not verified before (JWKS fetch included, when one was needed).",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5],
      registers: [this.registry],
    });
    return this.verifyDuration;
  }
}

export interface TokenVerifierOptions {
  /** Where identity publishes its public keys, e.g. http://127.0.0.1:9456/.well-known/jwks.json. */
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** The service's registry: failures and verification times are recorded there (see AuthMetrics). */
  registry: Registry;
}

/** Clock skew tolerated between the token issuer and this service. */
const CLOCK_TOLERANCE_SECONDS = 5;
/**
 * A verified token is remembered for at most this long (and never past its expiry): long enough that a
 * user's calls skip the signature check, short enough that a key taken out of the JWKS soon stops working.
 */
const VERIFIED_TOKEN_TTL_MS = 60_000;
const VERIFIED_TOKENS_KEPT = 5_000;

/**
 * Verifies access tokens against identity's JWKS. Keys are fetched once and cached; a token signed with a
 * key id the cache does not know triggers a refetch (rate-limited by jose), so a key rotation needs no
 * restart. Signature, issuer, audience and expiry are all checked; any failure is UNAUTHENTICATED, except a key
 * set that cannot be fetched (unreachable, timing out, not 200, not a key set), which is UNAVAILABLE: the token
 * may well be good, and the caller should retry rather than sign in again. A token
 * that passed is remembered for a while (see VERIFIED_TOKEN_TTL_MS): the signature check is the costliest
 * part of most calls, and a client sends the same token with every call until it expires.
 */
export class TokenVerifier {
  private readonly keys: JWTVerifyGetKey;
  private readonly verified = new LRUCache<string, Caller>({ max: VERIFIED_TOKENS_KEPT });
  private readonly metrics: AuthMetrics;
  private readonly verifications: Histogram;

  constructor(private readonly options: TokenVerifierOptions) {
    this.metrics = AuthMetrics.of(options.registry);
    this.verifications = this.metrics.verifications();
    this.keys = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: 5_000,
      timeoutDuration: 2_000,
    });
  }

  async verify(token: string): Promise<Caller> {
    const known = this.verified.get(token);
    if (known) return known;
    const started = performance.now();
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ["ES256", "EdDSA", "RS256"],
        requiredClaims: ["sub", "exp", "iat"],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      const userId = payload.sub as string;
      const username = typeof payload.preferred_username === "string" ? payload.preferred_username : userId;
      const caller = { userId, username, scopes: scopesOf(payload.scope) };
      const validForMs = (payload.exp as number) * 1_000 - Date.now();
      if (validForMs > 0)
        this.verified.set(token, caller, { ttl: Math.min(VERIFIED_TOKEN_TTL_MS, validForMs) });
      return caller;
    } catch (error) {
      // Why a token failed (expired, tampered, wrong issuer) is told to nobody, so that a forger learns
      // nothing: the answer is the same, and only the failures' count by reason is kept.
      this.metrics.failed(failureReason(error));
      if (keySetUnavailable(error)) {
        throw new UnavailableError("the keys that verify access tokens cannot be fetched; retry later");
      }
      throw new UnauthenticatedError("a valid access token is required");
    } finally {
      this.verifications.observe((performance.now() - started) / 1000);
    }
  }

  /** The caller named by an `authorization` header value: `Bearer <token>`. */
  verifyBearer(header: unknown): Promise<Caller> {
    const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match?.[1]) {
      this.metrics.failed("missing_token");
      return Promise.reject(new UnauthenticatedError("a valid access token is required"));
    }
    return this.verify(match[1]);
  }

  /** The caller of a gRPC call, from its `authorization: Bearer <token>` header. */
  authenticate(metadata: Metadata): Promise<Caller> {
    return this.verifyBearer(metadata.get("authorization")[0]);
  }
}

/**
 * Whether verifying failed for want of the key set rather than because of the token. jose reports a token's
 * faults as subclasses of JOSEError; fetching the key set fails with the network's own error (refused, reset),
 * JWKSTimeout, JWKSInvalid, or a plain JOSEError (not 200, not JSON).
 */
function keySetUnavailable(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    error.code === errors.JOSEError.code
  );
}
