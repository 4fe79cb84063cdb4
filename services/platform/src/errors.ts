/**
 * Errors that domain code throws. They name what went wrong in the domain's terms and carry no transport
 * detail; the server maps each to its gRPC status (see status.ts).
 */

/** One bad field of a request, as in google.rpc.BadRequest.FieldViolation. */
export interface FieldViolation {
  /** Path of the field, e.g. "travelers" or "amount.currency_code". */
  field: string;
  description: string;
}

/** Bad input: one violation per bad field, or none with a `message` when no single field is at fault. */
export class InvalidArgumentError extends Error {
  override name = "InvalidArgumentError";
  constructor(
    readonly violations: readonly FieldViolation[],
    message = violations.map((violation) => `${violation.field}: ${violation.description}`).join("; "),
  ) {
    super(message);
  }
}

export class NotFoundError extends Error {
  override name = "NotFoundError";
  /** `field` names the request field that pointed at the missing thing, when there is one. */
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class AlreadyExistsError extends Error {
  override name = "AlreadyExistsError";
}

/**
 * The request is valid but the system is not in a state to carry it out (e.g. no free seats). `field` names
 * the request field the state does not admit, when there is one.
 */
export class FailedPreconditionError extends Error {
  override name = "FailedPreconditionError";
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The request was based on a state that has changed since (e.g. a stale etag): re-read, then retry. */
export class AbortedError extends Error {
  override name = "AbortedError";
}

export class UnauthenticatedError extends Error {
  override name = "UnauthenticatedError";
}

export class PermissionDeniedError extends Error {
  override name = "PermissionDeniedError";
}

/** A dependency this service needs is down; the caller may retry later. */
export class UnavailableError extends Error {
  override name = "UnavailableError";
}

/** The caller has used up an allowance (e.g. sign-in attempts) and may try again after `retryAfterMs`. */
export class ResourceExhaustedError extends Error {
  override name = "ResourceExhaustedError";
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}
