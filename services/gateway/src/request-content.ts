/**
 * What the edge refuses about a request's content before forwarding it: a body that is not a message of the
 * method's input (random bytes, invalid UTF-8, malformed JSON), and strings no service can store or pass on
 * (the platform's textContentViolations). Both are the client's fault: INVALID_ARGUMENT on every protocol.
 */
import type { JsonReadOptions, JsonWriteOptions } from "@bufbuild/protobuf";
import { isFieldError } from "@bufbuild/protobuf/reflect";
import {
  Code,
  ConnectError,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import { BadRequestSchema } from "@tourmesh/gen/google/rpc/error_details_pb.js";
import {
  type GrpcMetrics,
  InvalidArgumentError,
  type Logger,
  textContentViolations,
} from "@tourmesh/platform";
import { edgeRequestKey } from "./edge-request.js";
import { codeName } from "./observe.js";

/**
 * JSON as RFC 8259 has it: UTF-8, so that bytes that are not UTF-8 fail to decode instead of turning silently
 * into U+FFFD. connect-node's JSON serialization takes its text decoder from these options.
 */
export const strictJsonOptions: Partial<JsonReadOptions & JsonWriteOptions> & {
  textDecoder: { decode(input: Uint8Array): string };
} = {
  textDecoder: new TextDecoder("utf-8", { fatal: true }),
};

/**
 * Undecodable request bodies answered INVALID_ARGUMENT with a message that names the expected message type.
 *
 * connect-node decodes a request before any interceptor runs, and answers a binary body that does not decode
 * INTERNAL ("parse binary: ..."), as gRPC's status code guide has libraries do; no option changes that code.
 * What it does offer is the request gate, which sees each call's context before the body is read: the gate
 * listens on the call's abort signal, which connect-node aborts with the failure just before it writes the
 * failure out (Connect, gRPC and gRPC-Web alike). An INTERNAL failure of a call whose message never reached
 * the interceptors (`interceptor` marks the ones that did) came from decoding the client's bytes, and is
 * answered as the client's fault; a decoder's complaint about one field becomes a field violation. Such calls
 * never reach `observe`, so they are counted and logged here. `interceptor` must be the adapter's first.
 */
export function undecodableRequests({ logger, metrics }: { logger: Logger; metrics: GrpcMetrics }): {
  requestGate: (context: HandlerContext) => void;
  interceptor: Interceptor;
} {
  const decoded = new WeakSet<ContextValues>();
  const refused = (context: HandlerContext, failure: ConnectError, seconds: number) => {
    const { service, method, values } = context;
    if (failure.code === Code.Internal) {
      const rawMessage = `the request body is not a valid ${method.input.typeName}: ${failure.rawMessage}`;
      // ConnectError's fields are read-only to its users; connect-node reads them after this listener.
      Object.assign(failure, {
        code: Code.InvalidArgument,
        rawMessage,
        message: `[invalid_argument] ${rawMessage}`,
      });
    }
    const field = fieldAtFault(failure);
    if (field) failure.details.push({ desc: BadRequestSchema, value: { fieldViolations: [field] } });
    metrics.serverHandled(service.typeName, method.name, failure.code as number, seconds);
    const edge = values.get(edgeRequestKey);
    logger.info(
      {
        procedure: `/${service.typeName}/${method.name}`,
        code: codeName(failure.code),
        duration_ms: Math.round(seconds * 1000),
        request_id: edge.requestId,
        client_ip: edge.clientIp,
        message: failure.rawMessage,
      },
      "refused before decoding",
    );
  };
  return {
    requestGate(context) {
      const started = performance.now();
      const { signal } = context;
      signal.addEventListener(
        "abort",
        () => {
          const failure: unknown = signal.reason;
          if (decoded.has(context.values) || !(failure instanceof ConnectError)) return;
          try {
            refused(context, failure, (performance.now() - started) / 1000);
          } catch (error) {
            // An exception in an abort listener would be uncaught and end the process.
            logger.error({ err: error }, "mapping a failure before decoding failed");
          }
        },
        { once: true },
      );
    },
    interceptor: (next) => (request) => {
      decoded.add(request.contextValues);
      return next(request);
    },
  };
}

/**
 * The field whose value did not decode, when the decoder said (protobuf-es does for JSON, e.g. a string
 * holding a lone surrogate or a number where a string belongs), named by its proto name.
 */
function fieldAtFault(failure: ConnectError): { field: string; description: string } | undefined {
  const decodeError = failure.cause instanceof Error ? failure.cause.cause : undefined;
  if (!isFieldError(decodeError)) return undefined;
  return { field: decodeError.field().name, description: decodeError.message };
}

/** Refuses strings that no service can store or pass on unchanged, with a field violation for each. */
export function textContent(): Interceptor {
  return (next) => (request) => {
    if (!request.stream) {
      const violations = textContentViolations(request.method.input, request.message);
      if (violations.length > 0) throw new InvalidArgumentError(violations);
    }
    return next(request);
  };
}
