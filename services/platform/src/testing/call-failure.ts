import { type Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@tourmesh/gen/google/rpc/error_details_pb.js";

export interface CallFailure {
  code: Code;
  message: string;
  /** The fields named by the google.rpc.BadRequest detail, sorted; empty without one. */
  fields: string[];
}

/** How a client call failed: its status code, message and field violations. Throws if the call succeeded. */
export async function callFailure(call: Promise<unknown>): Promise<CallFailure> {
  let outcome: unknown;
  try {
    outcome = await call;
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    const fields = error
      .findDetails(BadRequestSchema)
      .flatMap((detail) => detail.fieldViolations.map((violation) => violation.field));
    return { code: error.code, message: error.rawMessage, fields: fields.sort() };
  }
  throw new Error(`expected the call to fail, but it answered ${JSON.stringify(outcome, bigintAsString)}`);
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
