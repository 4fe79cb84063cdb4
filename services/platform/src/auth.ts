import type { Metadata } from "@grpc/grpc-js";
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from "jose";
import { LRUCache } from "lru-cache";
import { UnauthenticatedError, UnavailableError } from "./errors.js";

/** The user a request acts for, as proved by a verified access token. */
export interface Caller {
  /** The token's `sub`: a stable user id. */
  userId: string;
  /** The user's display name (`preferred_username`). */
  username: string;
}

export interface TokenVerifierOptions {
  /** Where identity publishes its public keys, e.g. http://127.0.0.1:9456/.well-known/jwks.json. */
  jwksUrl: string;
  issuer: string;
  audience: string;
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

  constructor(private readonly options: TokenVerifierOptions) {
    this.keys = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: 5_000,
      timeoutDuration: 2_000,
    });
  }

  async verify(token: string): Promise<Caller> {
    const known = this.verified.get(token);
    if (known) return known;
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
      const caller = { userId, username };
      const validForMs = (payload.exp as number) * 1_000 - Date.now();
      if (validForMs > 0)
        this.verified.set(token, caller, { ttl: Math.min(VERIFIED_TOKEN_TTL_MS, validForMs) });
      return caller;
    } catch (error) {
      if (keySetUnavailable(error)) {
        throw new UnavailableError("the keys that verify access tokens cannot be fetched; retry later");
      }
      // Why a token failed (expired, tampered, wrong issuer) is logged by nobody and told to nobody: the
      // answer is the same so that a forger learns nothing.
      throw new UnauthenticatedError("a valid access token is required");
    }
  }

  /** The caller of a gRPC call, from its `authorization: Bearer <token>` header. */
  async authenticate(metadata: Metadata): Promise<Caller> {
    return this.verify(bearerToken(metadata.get("authorization")[0]));
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

/** The token of an `authorization: Bearer <token>` header value. */
export function bearerToken(header: unknown): string {
  const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match?.[1]) throw new UnauthenticatedError("a valid access token is required");
  return match[1];
}
