import type { DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { currentCallContext } from "./call-context.js";
import { createMessage, grpcMethodDefinition, type UnaryMethods } from "./descriptors.js";
import type { GrpcMetrics } from "./metrics.js";
import { endRpcSpan, startClientSpan } from "./rpc-tracing.js";
import { decodeStatus, STATUS_DETAILS_KEY } from "./status.js";

export interface CallOptions {
  /** Time this call may take. The effective deadline is the earliest of this, the default and the budget
   *  left to the call being served (minus a margin). */
  timeoutMs?: number;
  /** Extra request headers, e.g. the caller's authorization. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A typed promise client: one async function per unary method of the service. */
export type ServiceClient<S extends DescService> = {
  [M in keyof UnaryMethods<S>]: (
    request: MessageInitShape<UnaryMethods<S>[M]["input"]>,
    options?: CallOptions,
  ) => Promise<MessageShape<UnaryMethods<S>[M]["output"]>>;
} & { close(): void };

export interface ClientOptions {
  metrics?: GrpcMetrics;
  /** Retry methods the contract marks idempotent on UNAVAILABLE. Off in the mesh, where Linkerd retries. */
  retries: boolean;
  /** Deadline of a call made outside any served call and without timeoutMs. */
  defaultTimeoutMs?: number;
  /** Kept back from the caller's remaining budget so this service has time to answer after its own call. */
  deadlineMarginMs?: number;
}

/** Retry at most this many times in all; grpc-js caps maxAttempts at 5. */
const RETRY_MAX_ATTEMPTS = 3;

function isIdempotent(method: DescMethod): boolean {
  return (
    method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS ||
    method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT
  );
}

/**
 * A gRPC service config that retries the methods the contract declares idempotent, only on UNAVAILABLE (the
 * request surely did not run), with jittered exponential backoff, and throttles retries when most calls fail
 * so that retries never pile onto an outage.
 */
export function retryServiceConfig(service: DescService): object {
  const idempotent = service.methods.filter(isIdempotent);
  return {
    methodConfig:
      idempotent.length === 0
        ? []
        : [
            {
              name: idempotent.map((method) => ({ service: service.typeName, method: method.name })),
              retryPolicy: {
                maxAttempts: RETRY_MAX_ATTEMPTS,
                initialBackoff: "0.05s",
                maxBackoff: "0.5s",
                backoffMultiplier: 2,
                retryableStatusCodes: ["UNAVAILABLE"],
              },
            },
          ],
    retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
  };
}

export function createClient<S extends DescService>(
  service: S,
  address: string,
  options: ClientOptions,
): ServiceClient<S> {
  const { metrics, retries, defaultTimeoutMs = 5_000, deadlineMarginMs = 50 } = options;
  const channel = new grpc.Client(address, grpc.credentials.createInsecure(), {
    "grpc.enable_retries": retries ? 1 : 0,
    "grpc.service_config": JSON.stringify(retries ? retryServiceConfig(service) : { methodConfig: [] }),
    "grpc.keepalive_time_ms": 30_000,
  });

  const client: Record<string, unknown> = { close: () => channel.close() };
  for (const method of service.methods.filter((candidate) => candidate.methodKind === "unary")) {
    const definition = grpcMethodDefinition(method);
    client[method.localName] = (
      request: MessageInitShape<typeof method.input>,
      callOptions: CallOptions = {},
    ) => {
      const started = performance.now();
      const deadline = callDeadline(callOptions.timeoutMs ?? defaultTimeoutMs, deadlineMarginMs);
      const record = (code: grpc.status) =>
        metrics?.clientHandled(service.typeName, method.name, code, (performance.now() - started) / 1000);
      if (deadline <= Date.now()) {
        record(grpc.status.DEADLINE_EXCEEDED);
        return Promise.reject(
          new ConnectError("no time left in the caller's deadline", Code.DeadlineExceeded),
        );
      }
      const metadata = new grpc.Metadata();
      for (const [key, value] of Object.entries(callOptions.headers ?? {})) metadata.set(key, value);
      const span = startClientSpan(service.typeName, method.name, metadata);
      const signal = callOptions.signal ?? currentCallContext()?.signal;
      return new Promise((resolve, reject) => {
        const call = channel.makeUnaryRequest(
          definition.path,
          definition.requestSerialize,
          definition.responseDeserialize,
          createMessage(method.input, request),
          metadata,
          { deadline },
          (error, response) => {
            signal?.removeEventListener("abort", cancel);
            if (error) {
              record(error.code);
              endRpcSpan(span, "client", error.code, error.details);
              const details = error.metadata?.get(STATUS_DETAILS_KEY)[0];
              reject(
                decodeStatus(error.code, error.details, typeof details === "string" ? undefined : details),
              );
              return;
            }
            record(grpc.status.OK);
            endRpcSpan(span, "client", grpc.status.OK);
            resolve(response);
          },
        );
        const cancel = () => call.cancel();
        signal?.addEventListener("abort", cancel, { once: true });
      });
    };
  }
  return client as ServiceClient<S>;
}

/** The earliest of the call's own timeout and what is left of the served call's deadline, minus a margin. */
function callDeadline(timeoutMs: number, marginMs: number): number {
  const own = Date.now() + timeoutMs;
  const served = currentCallContext()?.deadline.getTime();
  return served === undefined ? own : Math.min(own, served - marginMs);
}
