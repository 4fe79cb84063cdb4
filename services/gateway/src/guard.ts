import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { requireScopes, retryInfoDetail, type TokenVerifier } from "@tourmesh/platform";
import { edgeRequestKey } from "./edge-request.js";
import type { Access } from "./public-api.js";
import type { RateLimiter } from "./rate-limit.js";

export interface GuardOptions {
  /** Access per procedure path; a procedure not in it passes unguarded: health, and what is not routed. */
  access: ReadonlyMap<string, Access>;
  verifier: TokenVerifier;
  perClient: RateLimiter;
  perUser: RateLimiter;
}

/**
 * A refusal that tells the client when to retry, both as a google.rpc.RetryInfo detail (for gRPC and Connect
 * clients) and as a Retry-After header in whole seconds (for curl and HTTP tooling).
 */
export function refusedForNow(message: string, code: Code, retryAfterMs: number): ConnectError {
  return new ConnectError(message, code, { "retry-after": String(Math.ceil(retryAfterMs / 1000)) }, [
    retryInfoDetail(retryAfterMs),
  ]);
}

const rateLimited = (retryAfterMs: number, limited: "client address" | "user") =>
  refusedForNow(
    `too many requests from this ${limited}; retry in ${retryAfterMs} ms`,
    Code.ResourceExhausted,
    retryAfterMs,
  );

/**
 * The edge's checks, in order: the client address's rate limit (so that floods without a token are
 * throttled too), then for `signed-in` methods the bearer token (verified against identity's JWKS:
 * UNAUTHENTICATED otherwise), then the user's own rate limit, then the method's scopes (PERMISSION_DENIED when
 * the token lacks one). The token stays in the headers: the internal service verifies it and its scopes again.
 */
export function guard({ access, verifier, perClient, perUser }: GuardOptions): Interceptor {
  return (next) => async (request) => {
    const declared = access.get(`/${request.service.typeName}/${request.method.name}`);
    if (declared === undefined) return next(request);
    const edge = request.contextValues.get(edgeRequestKey);
    const clientWait = perClient.take(edge.clientIp);
    if (clientWait > 0) throw rateLimited(clientWait, "client address");
    if (declared.audience === "signed-in") {
      const caller = await verifier.verifyBearer(request.header.get("authorization"));
      edge.userId = caller.userId;
      const userWait = perUser.take(caller.userId);
      if (userWait > 0) throw rateLimited(userWait, "user");
      requireScopes(caller, declared.scopes);
    }
    return next(request);
  };
}
