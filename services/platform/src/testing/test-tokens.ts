import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { BookingService } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { NotificationService } from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";
import { ReviewService } from "@tourmesh/gen/tourmesh/review/v1/review_pb.js";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { methodAccess } from "../access.js";

/** Every scope a method of `services` requires. */
export function scopesDeclaredBy(services: readonly DescService[]): string[] {
  const scopes = new Set<string>();
  for (const method of services.flatMap((service) => service.methods)) {
    const declared = methodAccess(method);
    if (declared.audience === "signed-in") for (const scope of declared.scopes) scopes.add(scope);
  }
  return [...scopes].sort();
}

/** What a test token carries unless the test narrows it: every scope the services' contracts require. */
const EVERY_SCOPE = scopesDeclaredBy([BookingService, CatalogService, NotificationService, ReviewService]);

export interface TestTokenIssuer {
  /** Where the issuer's public keys are served, for a service's JWKS_URL. */
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** JWKS_URL, JWT_ISSUER and JWT_AUDIENCE for a service that should trust this issuer. */
  env: Record<"JWKS_URL" | "JWT_ISSUER" | "JWT_AUDIENCE", string>;
  /**
   * An access token for `userId`, with every scope the contracts require unless `scopes` names fewer; the
   * other options forge the claims a test wants to see refused.
   */
  sign(
    userId: string,
    options?: {
      username?: string;
      scopes?: readonly string[];
      expiresInSeconds?: number;
      issuer?: string;
      audience?: string;
    },
  ): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A stand-in for identity in tests: a fresh ES256 key pair, its JWKS served over HTTP on a free port, and
 * tokens signed with it carrying identity's claims (iss, aud, sub, preferred_username, scope, iat, exp, kid).
 */
export async function startTestTokenIssuer({
  issuer = "https://identity.tourmesh",
  audience = "tourmesh",
} = {}): Promise<TestTokenIssuer> {
  const keyId = `test-${Date.now().toString(36)}`;
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: keyId, alg: "ES256", use: "sig" }],
  });
  const server = createServer((request, response) => {
    if (request.method === "GET" && request.url === "/.well-known/jwks.json") {
      response.writeHead(200, { "content-type": "application/json" }).end(jwks);
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return {
    jwksUrl,
    issuer,
    audience,
    env: { JWKS_URL: jwksUrl, JWT_ISSUER: issuer, JWT_AUDIENCE: audience },
    sign(userId, options = {}) {
      return new SignJWT({
        preferred_username: options.username ?? userId,
        scope: (options.scopes ?? EVERY_SCOPE).join(" "),
      })
        .setProtectedHeader({ alg: "ES256", kid: keyId, typ: "JWT" })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? audience)
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? 600))
        .sign(privateKey);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
