/**
 * Who may call a method, as its contract declares it: the `(tourmesh.options.v1.access)` option every method
 * of a tourmesh service carries. The gateway and every service's gRPC server read it from here, so that the
 * edge and the service enforce one declaration.
 */
import { type DescMethod, getOption, hasOption } from "@bufbuild/protobuf";
import { Audience, access } from "@tourmesh/gen/tourmesh/options/v1/access_pb.js";
import type { Caller } from "./auth.js";
import { PermissionDeniedError } from "./errors.js";

/**
 * `public`: anyone; `signed-in`: callers with a valid access token that carries every one of `scopes`;
 * `internal`: the system's own services only (never exposed by the gateway).
 */
export type MethodAccess =
  | { audience: "public" }
  | { audience: "signed-in"; scopes: readonly string[] }
  | { audience: "internal" };

const methodName = (method: DescMethod) => `${method.parent.typeName}.${method.name}`;

/** The method's declared access; throws when it declares none, or scopes on a method not for signed-in callers. */
export function methodAccess(method: DescMethod): MethodAccess {
  const declared = hasOption(method, access) ? getOption(method, access) : undefined;
  const audience = declared?.audience ?? Audience.UNSPECIFIED;
  const scopes = declared?.scopes ?? [];
  if (scopes.length > 0 && audience !== Audience.SIGNED_IN) {
    throw new Error(
      `${methodName(method)} declares scopes, which only a method for signed-in callers can have`,
    );
  }
  switch (audience) {
    case Audience.PUBLIC:
      return { audience: "public" };
    case Audience.SIGNED_IN:
      return { audience: "signed-in", scopes };
    case Audience.INTERNAL:
      return { audience: "internal" };
    default:
      throw new Error(
        `${methodName(method)} declares no audience: set (tourmesh.options.v1.access) in its proto`,
      );
  }
}

/** Refuses (PERMISSION_DENIED) a caller whose token lacks any of `scopes`. */
export function requireScopes(caller: Caller, scopes: readonly string[]): void {
  const missing = scopes.filter((scope) => !caller.scopes.has(scope));
  if (missing.length > 0) {
    throw new PermissionDeniedError(
      `the access token lacks the scope ${missing.join(" ")} this method requires`,
    );
  }
}
