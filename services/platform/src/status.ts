import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, RetryInfoSchema } from "@tourmesh/gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "@tourmesh/gen/google/rpc/status_pb.js";
import {
  AbortedError,
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
} from "./errors.js";

/** The trailer that carries a binary google.rpc.Status with its details, as in every gRPC implementation. */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

/** A google.rpc.BadRequest detail naming the request field an error is about, when it names one. */
function fieldDetails(field: string | undefined, description: string) {
  return field ? [{ desc: BadRequestSchema, value: { fieldViolations: [{ field, description }] } }] : [];
}

/** A google.rpc.RetryInfo detail: when the caller may try again. */
export function retryInfoDetail(retryAfterMs: number) {
  const wholeMs = Math.max(0, Math.ceil(retryAfterMs));
  return {
    desc: RetryInfoSchema,
    value: {
      retryDelay: { seconds: BigInt(Math.floor(wholeMs / 1000)), nanos: (wholeMs % 1000) * 1_000_000 },
    },
  };
}

/**
 * Maps anything a handler throws to the ConnectError the caller should see. Domain errors keep their meaning;
 * a downstream deadline or outage stays retryable; anything else becomes INTERNAL with a generic message, so
 * no stack trace or SQL leaks to a caller.
 */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof InvalidArgumentError) {
    const details =
      error.violations.length > 0
        ? [{ desc: BadRequestSchema, value: { fieldViolations: [...error.violations] } }]
        : [];
    return new ConnectError(error.message, Code.InvalidArgument, undefined, details);
  }
  if (error instanceof NotFoundError) {
    return new ConnectError(
      error.message,
      Code.NotFound,
      undefined,
      fieldDetails(error.field, error.message),
    );
  }
  if (error instanceof AlreadyExistsError) return new ConnectError(error.message, Code.AlreadyExists);
  if (error instanceof FailedPreconditionError) {
    return new ConnectError(
      error.message,
      Code.FailedPrecondition,
      undefined,
      fieldDetails(error.field, error.message),
    );
  }
  if (error instanceof AbortedError) return new ConnectError(error.message, Code.Aborted);
  if (error instanceof UnauthenticatedError) return new ConnectError(error.message, Code.Unauthenticated);
  if (error instanceof PermissionDeniedError) return new ConnectError(error.message, Code.PermissionDenied);
  if (error instanceof UnavailableError) return new ConnectError(error.message, Code.Unavailable);
  if (error instanceof ResourceExhaustedError) {
    return new ConnectError(error.message, Code.ResourceExhausted, undefined, [
      retryInfoDetail(error.retryAfterMs),
    ]);
  }
  if (error instanceof ConnectError) {
    // A failure of a call this service made: a deadline or outage passes through so the caller can react
    // (retry, back off); any other downstream status is this service's own internal failure.
    const passedThrough = [Code.DeadlineExceeded, Code.Canceled, Code.Unavailable, Code.ResourceExhausted];
    if (passedThrough.includes(error.code)) return new ConnectError(error.rawMessage, error.code);
  }
  return new ConnectError("internal error", Code.Internal);
}

/** Encodes a ConnectError's code, message and details as a binary google.rpc.Status. */
export function encodeStatusDetails(error: ConnectError): Buffer | undefined {
  if (error.details.length === 0) return undefined;
  const details = error.details.map((detail) =>
    "desc" in detail
      ? anyPack(detail.desc, create(detail.desc, detail.value))
      : {
          $typeName: "google.protobuf.Any" as const,
          typeUrl: `type.googleapis.com/${detail.type}`,
          value: detail.value,
        },
  );
  const status = create(StatusSchema, { code: error.code, message: error.rawMessage, details });
  const bytes = toBinary(StatusSchema, status);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Builds the ConnectError a client sees from a gRPC status and its optional binary google.rpc.Status. */
export function decodeStatus(
  code: number,
  message: string,
  statusDetails: Uint8Array | undefined,
): ConnectError {
  const error = new ConnectError(message, code as Code);
  if (statusDetails === undefined) return error;
  try {
    const status = fromBinary(StatusSchema, statusDetails);
    for (const detail of status.details) {
      error.details.push({
        type: detail.typeUrl.slice(detail.typeUrl.lastIndexOf("/") + 1),
        value: detail.value,
      });
    }
  } catch {
    // A peer sent details we cannot parse; the code and message still stand.
  }
  return error;
}
