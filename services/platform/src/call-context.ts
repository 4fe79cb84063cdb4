import { AsyncLocalStorage } from "node:async_hooks";
import type { Metadata } from "@grpc/grpc-js";
import type { Caller } from "./auth.js";

/** What a handler knows about the call it serves. */
export interface CallContext {
  /** Full method path, e.g. "/tourmesh.catalog.v1.CatalogService/GetTour". */
  readonly method: string;
  /** When the call must be answered: the caller's deadline, or the default when it sent none. */
  readonly deadline: Date;
  /** Aborted when the deadline passes or the caller goes away; pass it on to slow work. */
  readonly signal: AbortSignal;
  /** The request headers. */
  readonly metadata: Metadata;
  /**
   * The verified caller, for a method whose contract is for signed-in callers (the server has checked the
   * token and the method's scopes before the handler runs); undefined for any other method.
   */
  readonly caller: Caller | undefined;
  /** Notes a feature flag evaluated while serving the call: its variant goes on the call's log line. */
  flagEvaluated(key: string, variant: string): void;
}

const storage = new AsyncLocalStorage<CallContext>();

/** Runs `work(...args)` with `context` as the current call, so that calls it makes downstream inherit its deadline. */
export function runInCallContext<Args extends unknown[], T>(
  context: CallContext,
  work: (...args: Args) => T,
  ...args: Args
): T {
  return storage.run(context, work, ...args);
}

/** The call being served by the current async flow, if any. */
export function currentCallContext(): CallContext | undefined {
  return storage.getStore();
}

/** The verified caller of a call to a method for signed-in callers; throws for any other method. */
export function signedInCaller(context: CallContext): Caller {
  if (context.caller === undefined) {
    throw new Error(`${context.method} is not a method for signed-in callers: it has no verified caller`);
  }
  return context.caller;
}
