import type {
  DescMessage,
  DescMethod,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { context } from "@opentelemetry/api";
import { ServerReflection } from "@tourmesh/gen/grpc/reflection/v1/reflection_pb.js";
import { Health } from "@tourmesh/gen/health/v1/health_pb.js";
import { HealthImplementation } from "grpc-health-check";
import { type MethodAccess, methodAccess, requireScopes } from "./access.js";
import type { Caller, TokenVerifier } from "./auth.js";
import { type CallContext, runInCallContext } from "./call-context.js";
import {
  createMessage,
  EncodedMessage,
  grpcMethodDefinition,
  reflectionPackageDefinition,
  toBuffer,
  type UnaryMethods,
} from "./descriptors.js";
import { InvalidArgumentError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { GrpcMetrics } from "./metrics.js";
import { endRpcSpan, type RpcSpan, startServerSpan } from "./rpc-tracing.js";
import { encodeStatusDetails, STATUS_DETAILS_KEY, toConnectError } from "./status.js";
import { textContentViolations } from "./validation.js";

/**
 * A typed async handler per method of a service. A handler answers with its output message, or with that
 * message already encoded (an EncodedMessage, e.g. from a cache), which is sent as it is.
 */
export type ServiceHandlers<S extends DescService> = {
  [M in keyof UnaryMethods<S>]: (
    request: MessageShape<UnaryMethods<S>[M]["input"]>,
    context: CallContext,
  ) => Promise<MessageInitShape<UnaryMethods<S>[M]["output"]> | EncodedMessage<UnaryMethods<S>[M]["output"]>>;
};

export interface GrpcServerOptions {
  logger: Logger;
  metrics: GrpcMetrics;
  /** Deadline given to calls that arrive without one. */
  defaultDeadlineMs: number;
  /** Verifies the access tokens of calls to methods for signed-in callers; a service with such methods needs it. */
  verifier?: TokenVerifier;
}

/** Health service name that stays SERVING while the process lives, even while draining: for liveness probes. */
export const LIVENESS_SERVICE = "liveness";

/** How far before a caller's deadline a cancellation still counts as that deadline passing. */
const DEADLINE_CLOCK_SLACK_MS = 5;

/**
 * A grpc-js server that serves protobuf-es services with typed async handlers, and on every call: refuses a
 * request that does not decode or holds a string no service can take (see refusalOf), gives a default
 * deadline, answers DEADLINE_EXCEEDED when it passes, maps thrown errors to gRPC statuses with google.rpc
 * details, records metrics and writes one log line. It always serves grpc.health.v1 and reflection, and
 * drains on shutdown.
 *
 * Every call is held to its method's declared access (see access.ts) before its handler runs: a method for
 * signed-in callers needs a valid token (UNAUTHENTICATED otherwise) carrying the method's scopes
 * (PERMISSION_DENIED otherwise), and its handler finds the caller in `context.caller`. The gateway checks the
 * same declaration at the edge; checking it here too means no path inside the system skips it.
 */
export class GrpcServer {
  readonly server = new grpc.Server();
  private readonly health = new HealthImplementation({ "": "NOT_SERVING", [LIVENESS_SERVICE]: "SERVING" });
  private readonly services: DescService[] = [];

  constructor(private readonly options: GrpcServerOptions) {
    this.health.addToServer(this.server);
  }

  /**
   * Serves `service` with `handlers`; a service is NOT_SERVING until `start` has bound the port. Calls to a
   * method the contract marks deprecated (itself or its service) are counted in `deprecated_calls_total`.
   */
  add<S extends DescService>(service: S, handlers: ServiceHandlers<S>): this {
    const definition: Record<string, ReturnType<typeof grpcMethodDefinition>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    const handlerByName = handlers as unknown as Record<
      string,
      (request: unknown, context: CallContext) => Promise<unknown>
    >;
    for (const method of service.methods) {
      const handler = handlerByName[method.localName];
      if (handler === undefined) throw new Error(`${service.typeName}: no handler for ${method.name}`);
      if (methodAccess(method).audience === "signed-in" && this.options.verifier === undefined) {
        throw new Error(
          `${service.typeName}.${method.name} is for signed-in callers: give the server a verifier`,
        );
      }
      definition[method.localName] = servedMethodDefinition(method);
      const deprecated = service.deprecated || method.deprecated;
      const counted: typeof handler = deprecated
        ? (request, context) => {
            this.options.metrics.deprecatedCalled(service.typeName, method.name);
            return handler(request, context);
          }
        : handler;
      implementation[method.localName] = this.wrap(service.typeName, method, counted);
    }
    this.server.addService(definition as grpc.ServiceDefinition, implementation);
    this.services.push(service);
    this.health.setStatus(service.typeName, "NOT_SERVING");
    return this;
  }

  /** Binds the port (0 picks a free one), turns health to SERVING and returns the bound port. */
  async start(port: number, host = "0.0.0.0"): Promise<number> {
    new ReflectionService(
      reflectionPackageDefinition([...this.services, Health, ServerReflection]),
    ).addToServer(this.server);
    const boundPort = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    this.setServing("SERVING");
    return boundPort;
  }

  /**
   * Stops taking calls: health turns NOT_SERVING first and the server keeps answering for `delayMs`, so that
   * probes and load balancers stop sending before the listener closes; then in-flight calls get up to
   * `graceMs` to finish before the rest are cut off.
   */
  async drain({ delayMs, graceMs }: { delayMs: number; graceMs: number }): Promise<void> {
    this.setServing("NOT_SERVING");
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const finished = new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    if ((await Promise.race([finished, timedOut])) === "timeout") {
      this.options.logger.warn(
        { grace_ms: graceMs },
        "calls still in flight after the grace period; cutting off",
      );
      this.server.forceShutdown();
    }
    clearTimeout(timer);
  }

  private setServing(status: "SERVING" | "NOT_SERVING"): void {
    this.health.setStatus("", status);
    for (const service of this.services) this.health.setStatus(service.typeName, status);
  }

  private wrap(
    serviceName: string,
    method: DescMethod,
    run: (request: unknown, context: CallContext) => Promise<unknown>,
  ): grpc.handleUnaryCall<unknown, unknown> {
    const route: Route = {
      serviceName,
      methodName: method.name,
      path: `/${serviceName}/${method.name}`,
      input: method.input,
      output: method.output,
      access: methodAccess(method),
      run,
      options: this.options,
    };
    return (call, callback) => new ServedCall(route, call, callback).serve();
  }
}

/** Request bytes that are not a message of the method's input: what the deserializer hands the call instead. */
class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/**
 * The method's definition with a deserializer that never throws: grpc-js answers a throwing one INTERNAL, but
 * bytes that do not decode are the caller's fault, which the call answers INVALID_ARGUMENT (see ServedCall).
 * Its serializer sends an EncodedMessage's bytes as they are.
 */
function servedMethodDefinition(method: DescMethod): ReturnType<typeof grpcMethodDefinition> {
  const definition = grpcMethodDefinition(method);
  return {
    ...definition,
    responseSerialize(message) {
      return message instanceof EncodedMessage
        ? toBuffer(message.bytes)
        : definition.responseSerialize(message);
    },
    requestDeserialize(bytes) {
      try {
        return definition.requestDeserialize(bytes);
      } catch (error) {
        return new UndecodableRequest(error instanceof Error ? error.message : String(error)) as never;
      }
    },
  };
}

/**
 * Why a request is refused before its handler runs, if it is: bytes that are not a message of the method's
 * input, or strings that no service can store or pass on (see textContentViolations). Every method of every
 * service gets this check, so no handler needs one of its own for string content.
 */
function refusalOf(input: DescMessage, request: unknown): InvalidArgumentError | undefined {
  if (request instanceof UndecodableRequest) {
    return new InvalidArgumentError([], `the request is not a valid ${input.typeName}: ${request.reason}`);
  }
  const violations = textContentViolations(input, request as MessageShape<DescMessage>);
  return violations.length > 0 ? new InvalidArgumentError(violations) : undefined;
}

/** What every call of one method shares. */
interface Route {
  serviceName: string;
  methodName: string;
  path: string;
  input: DescMessage;
  output: DescMessage;
  access: MethodAccess;
  run: (request: unknown, context: CallContext) => Promise<unknown>;
  options: GrpcServerOptions;
}

/**
 * One call being served, and the context its handler sees. Its state lives in fields rather than in closures
 * made per call, since this runs on every call.
 */
class ServedCall implements CallContext {
  readonly method: string;
  readonly deadline: Date;
  readonly metadata: grpc.Metadata;
  caller: Caller | undefined;
  private readonly started = performance.now();
  private readonly trace: RpcSpan;
  private readonly deadlineTimer: NodeJS.Timeout | undefined;
  private abort: AbortController | undefined;
  private abortReason: ConnectError | undefined;
  private answered = false;
  /** The feature flags the handler evaluated, by key, with their variants; made only when one is. */
  private flags: Record<string, string> | undefined;

  constructor(
    private readonly route: Route,
    private readonly call: grpc.ServerUnaryCall<unknown, unknown>,
    private readonly callback: grpc.sendUnaryData<unknown>,
  ) {
    this.method = route.path;
    this.metadata = call.metadata;
    this.trace = startServerSpan(route.serviceName, route.methodName, call.metadata);
    const callerDeadline = call.getDeadline();
    if (callerDeadline instanceof Date) this.deadline = callerDeadline;
    else if (Number.isFinite(callerDeadline)) this.deadline = new Date(callerDeadline);
    else {
      // grpc-js enforces a caller's deadline itself (it answers DEADLINE_EXCEEDED, then emits 'cancelled');
      // only the default given here needs a timer of ours.
      const { defaultDeadlineMs } = route.options;
      this.deadline = new Date(Date.now() + defaultDeadlineMs);
      this.deadlineTimer = setTimeout(this.onDeadline, defaultDeadlineMs);
    }
    call.once("cancelled", this.onCancelled);
  }

  // Most handlers never look at the signal: the controller is made only when one does.
  get signal(): AbortSignal {
    this.abort ??= new AbortController();
    if (this.abortReason) this.abort.abort(this.abortReason);
    return this.abort.signal;
  }

  flagEvaluated(key: string, variant: string): void {
    this.flags ??= {};
    this.flags[key] = variant;
  }

  serve(): void {
    const refusal = refusalOf(this.route.input, this.call.request);
    if (refusal) {
      this.answer(refusal);
      return;
    }
    context.with(this.trace.context, () =>
      runInCallContext(this, this.run, this.call.request).then(this.onResponse, this.onError),
    );
  }

  private readonly run = async (request: unknown): Promise<unknown> => {
    const { access, options } = this.route;
    if (access.audience === "signed-in" && options.verifier) {
      this.caller = await options.verifier.authenticate(this.metadata);
      requireScopes(this.caller, access.scopes);
    }
    return this.route.run(request, this);
  };

  private readonly onResponse = (response: unknown) => {
    if (!(response instanceof EncodedMessage)) {
      this.answer(undefined, createMessage(this.route.output, response as never));
    } else if (response.schema.typeName !== this.route.output.typeName) {
      this.answer(
        new Error(
          `${this.method} answered a ${response.schema.typeName}, not a ${this.route.output.typeName}`,
        ),
      );
    } else {
      this.answer(undefined, response);
    }
  };

  private readonly onError = (error: unknown) => this.answer(error);

  private readonly onDeadline = () => this.stop(new ConnectError("deadline exceeded", Code.DeadlineExceeded));

  private readonly onCancelled = () =>
    this.stop(
      // grpc-js times the caller's deadline on the event loop's clock, which can run a little behind.
      Date.now() >= this.deadline.getTime() - DEADLINE_CLOCK_SLACK_MS
        ? new ConnectError("deadline exceeded", Code.DeadlineExceeded)
        : new ConnectError("the caller cancelled the call", Code.Canceled),
    );

  private stop(reason: ConnectError): void {
    this.abortReason = reason;
    this.abort?.abort(reason);
    this.answer(reason);
  }

  private answer(error: unknown, response?: unknown): void {
    if (this.answered) return;
    this.answered = true;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.call.removeListener("cancelled", this.onCancelled);
    const { serviceName, methodName, path, options } = this.route;
    const { logger, metrics } = options;
    const connectError = error === undefined ? undefined : toConnectError(error);
    const code = connectError ? (connectError.code as number as grpc.status) : grpc.status.OK;
    const elapsedMs = performance.now() - this.started;
    metrics.serverHandled(serviceName, methodName, code, elapsedMs / 1000);
    const fields = {
      method: path,
      code: grpc.status[code],
      duration_ms: Math.round(elapsedMs),
      ...(this.flags && { feature_flags: this.flags }),
    };
    endRpcSpan(this.trace.span, "server", code, connectError?.rawMessage);
    if (connectError === undefined) {
      logger.info(fields, "handled");
      this.callback(null, response);
      return;
    }
    if (connectError.code === Code.Internal) logger.error({ ...fields, err: error }, "handler failed");
    else logger.info({ ...fields, message: connectError.rawMessage }, "handled");
    const trailers = new grpc.Metadata();
    const details = encodeStatusDetails(connectError);
    if (details) trailers.set(STATUS_DETAILS_KEY, details);
    this.callback({ code, details: connectError.rawMessage, metadata: trailers });
  }
}
