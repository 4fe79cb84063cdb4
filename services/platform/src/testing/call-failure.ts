import { type Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@tourmesh/gen/google/rpc/error_details_pb.js";

export interface CallFailure {
  code: Code;
  message: string;
  /** The fields named by the google.rpc.BadRequest detail, sorted; empty without one. */
  fields: string[];
}

/** The error a client call failed with. Throws if the call succeeded or failed with anything else. */
export async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  let outcome: unknown;
  try {
    outcome = await call;
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    return error;
  }
  throw new Error(`expected the call to fail, but it answered ${JSON.stringify(outcome, bigintAsString)}`);
}

/** How a client call failed: its status code, message and field violations. Throws if the call succeeded. */
export async function callFailure(call: Promise<unknown>): Promise<CallFailure> {
  const error = await rejection(call);
  const fields = error
    .findDetails(BadRequestSchema)
    .flatMap((detail) => detail.fieldViolations.map((violation) => violation.field));
  return { code: error.code, message: error.rawMessage, fields: fields.sort() };
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
