import type { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import {
  type AuthMetrics,
  type HttpRoute,
  ResourceExhaustedError,
  type ServiceHandlers,
  UnauthenticatedError,
} from "@tourmesh/platform";
import { issueAccessToken, type TokenSettings } from "./access-tokens.js";
import { authenticate, checkSignIn } from "./sign-in.js";
import type { SignInFailures } from "./sign-in-failures.js";
import { throttleKey } from "./sign-in-throttle.js";
import { publicJwks, type SigningKey } from "./signing-keys.js";
import type { UserStore } from "./user-store.js";

export interface IdentityDependencies {
  users: UserStore;
  /** Failed sign-ins per username, for throttling (see sign-in-throttle.ts). */
  failures: SignInFailures;
  /** Signs every new token. */
  signingKey: SigningKey;
  tokens: TokenSettings;
  /** A hash of a random password, checked for unknown users so that they take as long as known ones. */
  dummyHash: string;
  /** Where refused sign-ins are counted (auth_failures_total{reason="wrong_credentials"}). */
  authMetrics: AuthMetrics;
}

/**
 * IdentityService over gRPC: checks the request, refuses a name locked by failed attempts, checks the
 * credentials (counting a failure, clearing the count on success), signs a token.
 */
export function identityHandlers(deps: IdentityDependencies): ServiceHandlers<typeof IdentityService> {
  return {
    async signIn(request) {
      checkSignIn(request);
      const key = throttleKey(request.username);
      const lockedForMs = await deps.failures.lockedForMs(key);
      if (lockedForMs > 0) {
        throw new ResourceExhaustedError(
          `too many failed sign-ins for this username; retry in ${Math.ceil(lockedForMs / 1000)} s`,
          lockedForMs,
        );
      }
      const found = await deps.users.findByUsername(request.username);
      const user = await authenticate(found, request.password, deps.dummyHash).catch(
        async (error: unknown) => {
          if (error instanceof UnauthenticatedError) {
            deps.authMetrics.failed("wrong_credentials");
            await deps.failures.recordFailure(key);
          }
          throw error;
        },
      );
      await deps.failures.clear(key);
      const { token, expiresIn } = await issueAccessToken(deps.signingKey, user, deps.tokens);
      return { accessToken: token, expiresIn, tokenType: "Bearer" };
    },
  };
}

/**
 * GET /.well-known/jwks.json: the public keys. Cached briefly: verifiers that honour the header see a new key
 * within a minute, and the platform TokenVerifier refetches at once when a token names a key it lacks.
 */
export function jwksRoute(keys: readonly SigningKey[]): HttpRoute {
  const body = JSON.stringify(publicJwks(keys));
  return (_request, response) => {
    response
      .writeHead(200, { "content-type": "application/jwk-set+json", "cache-control": "public, max-age=60" })
      .end(body);
  };
}
