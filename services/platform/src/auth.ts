import type { Metadata } from "@grpc/grpc-js";
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from "jose";
import { UnauthenticatedError } from "./errors.js";

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
 * Verifies access tokens against identity's JWKS. Keys are fetched once and cached; a token signed with a
 * key id the cache does not know triggers a refetch (rate-limited by jose), so a key rotation needs no
 * restart. Signature, issuer, audience and expiry are all checked; any failure is UNAUTHENTICATED.
 */
export class TokenVerifier {
  private readonly keys: JWTVerifyGetKey;

  constructor(private readonly options: TokenVerifierOptions) {
    this.keys = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: 5_000,
      timeoutDuration: 2_000,
    });
  }

  async verify(token: string): Promise<Caller> {
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
      return { userId, username };
    } catch {
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

/** The token of an `authorization: Bearer <token>` header value. */
export function bearerToken(header: unknown): string {
  const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match?.[1]) throw new UnauthenticatedError("a valid access token is required");
  return match[1];
}
