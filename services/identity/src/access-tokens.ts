import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { type Role, roleScopes } from "./roles.js";
import type { SigningKey } from "./signing-keys.js";

export interface TokenSettings {
  /** `iss`: who issued the token; verifiers require it. */
  issuer: string;
  /** `aud`: who the token is for; verifiers require it. */
  audience: string;
  /** Lifetime. Short, because an access token cannot be revoked before it expires. */
  ttlSeconds: number;
}

export interface AccessToken {
  token: string;
  expiresIn: number;
}

/**
 * Signs an access token for a user (RFC 9068 shape): `sub` is the stable user id, `preferred_username` the
 * display name, `scope` the scopes of the user's role (space-separated), `jti` a unique id per token; the
 * header names the signing key (`kid`).
 */
export async function issueAccessToken(
  key: SigningKey,
  user: { userId: string; username: string; role: Role },
  settings: TokenSettings,
  nowMs = Date.now(),
): Promise<AccessToken> {
  const issuedAt = Math.floor(nowMs / 1000);
  const token = await new SignJWT({
    preferred_username: user.username,
    scope: roleScopes[user.role].join(" "),
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "at+jwt" })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject(user.userId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + settings.ttlSeconds)
    .setJti(randomUUID())
    .sign(key.privateKey);
  return { token, expiresIn: settings.ttlSeconds };
}
