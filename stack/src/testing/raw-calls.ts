/**
 * Unary calls with request bytes given as they are, on each protocol the system serves: the Connect protocol
 * (JSON or binary) and gRPC-Web over HTTP/1.1, and gRPC over h2c. A typed client can only send what its
 * message types can encode; these send anything, as a hostile or broken client would, and report the answer
 * as HTTP status plus gRPC status code name.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import * as grpc from "@grpc/grpc-js";
import { BadRequestSchema } from "@tourmesh/gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "@tourmesh/gen/google/rpc/status_pb.js";

export type WireProtocol = "connect-json" | "connect-proto" | "grpc-web" | "grpc";

export interface RawAnswer {
  /** The HTTP status; 200 for gRPC, which carries its status in trailers. */
  httpStatus: number;
  /** The gRPC status name, e.g. "OK", "INVALID_ARGUMENT". */
  code: string;
  message: string;
  /** The fields named by the answer's google.rpc.BadRequest detail, if it has one. */
  fieldViolations: string[];
  /** The response message bytes of a successful call (binary protocols) or its JSON text. */
  body?: Uint8Array;
}

const BAD_REQUEST = BadRequestSchema.typeName;

function violatedFields(badRequests: Uint8Array[]): string[] {
  return badRequests.flatMap((bytes) =>
    fromBinary(BadRequestSchema, bytes).fieldViolations.map((violation) => violation.field),
  );
}

/** The BadRequest fields of a binary google.rpc.Status (gRPC's grpc-status-details-bin). */
function fieldsOfStatus(statusBytes: Uint8Array | undefined): string[] {
  if (statusBytes === undefined) return [];
  const details = fromBinary(StatusSchema, statusBytes).details;
  return violatedFields(
    details.filter((detail) => detail.typeUrl.endsWith(`/${BAD_REQUEST}`)).map((detail) => detail.value),
  );
}

/** "INVALID_ARGUMENT" for 3: the name every gRPC implementation and this repository's logs use. */
export function codeName(code: number): string {
  return grpc.status[code] ?? `CODE_${code}`;
}

/** A gRPC length-prefixed message: flag byte (0: not compressed), 4-byte big-endian length, the bytes. */
function envelope(bytes: Uint8Array): Uint8Array {
  const framed = new Uint8Array(5 + bytes.byteLength);
  new DataView(framed.buffer).setUint32(1, bytes.byteLength);
  framed.set(bytes, 5);
  return framed;
}

/** The status of a gRPC-Web answer: its headers (trailers-only) or the trailer frame (flag 0x80) of its body. */
function grpcWebStatus(
  headers: Headers,
  body: Uint8Array,
): { code: number; message: string; fieldViolations: string[] } {
  const fromHeaders = headers.get("grpc-status");
  if (fromHeaders !== null) {
    const details = headers.get("grpc-status-details-bin");
    return {
      code: Number(fromHeaders),
      message: decodeURIComponent(headers.get("grpc-message") ?? ""),
      fieldViolations: fieldsOfStatus(details === null ? undefined : base64Decode(details)),
    };
  }
  let offset = 0;
  while (offset + 5 <= body.byteLength) {
    const flag = body[offset] ?? 0;
    const length = new DataView(body.buffer, body.byteOffset + offset + 1, 4).getUint32(0);
    const frame = body.subarray(offset + 5, offset + 5 + length);
    if (flag & 0x80) {
      const trailers = new Map(
        new TextDecoder()
          .decode(frame)
          .split("\r\n")
          .filter((line) => line.includes(":"))
          .map((line) => [
            line.slice(0, line.indexOf(":")).trim().toLowerCase(),
            line.slice(line.indexOf(":") + 1).trim(),
          ]),
      );
      const details = trailers.get("grpc-status-details-bin");
      return {
        code: Number(trailers.get("grpc-status") ?? grpc.status.UNKNOWN),
        message: decodeURIComponent(trailers.get("grpc-message") ?? ""),
        fieldViolations: fieldsOfStatus(details === undefined ? undefined : base64Decode(details)),
      };
    }
    offset += 5 + length;
  }
  return { code: grpc.status.UNKNOWN, message: "no grpc-status in the gRPC-Web answer", fieldViolations: [] };
}

export interface RawCaller {
  /** Sends `body` as the request of `procedure` (e.g. "/tourmesh.catalog.v1.CatalogService/GetTour"). */
  call(
    protocol: WireProtocol,
    procedure: string,
    body: Uint8Array,
    options?: { headers?: Record<string, string>; timeoutMs?: number },
  ): Promise<RawAnswer>;
  close(): void;
}

/** Raw calls to `address` (host:port), which serves the protocols asked of it. */
export function rawCaller(address: string): RawCaller {
  let channel: grpc.Client | undefined;
  const identity = (bytes: Buffer) => bytes;

  async function overHttp(
    protocol: Exclude<WireProtocol, "grpc">,
    procedure: string,
    body: Uint8Array,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<RawAnswer> {
    const contentType = {
      "connect-json": "application/json",
      "connect-proto": "application/proto",
      "grpc-web": "application/grpc-web+proto",
    }[protocol];
    const response = await fetch(`http://${address}${procedure}`, {
      method: "POST",
      headers: {
        "content-type": contentType,
        ...(protocol === "grpc-web" ? { "x-grpc-web": "1" } : { "connect-protocol-version": "1" }),
        ...headers,
      },
      body: protocol === "grpc-web" ? envelope(body) : body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const answer = new Uint8Array(await response.arrayBuffer());
    if (protocol === "grpc-web") {
      const { code, message, fieldViolations } = grpcWebStatus(response.headers, answer);
      return { httpStatus: response.status, code: codeName(code), message, fieldViolations, body: answer };
    }
    if (response.ok) {
      return { httpStatus: response.status, code: "OK", message: "", fieldViolations: [], body: answer };
    }
    let error: { code?: string; message?: string; details?: Array<{ type?: string; value?: string }> } = {};
    try {
      error = JSON.parse(new TextDecoder().decode(answer)) as typeof error;
    } catch {
      // Not a Connect error body (e.g. a bare 404, 415, 431 from the HTTP layer): the HTTP status tells.
    }
    return {
      httpStatus: response.status,
      code: error.code ? error.code.toUpperCase() : `HTTP_${response.status}`,
      message: error.message ?? "",
      fieldViolations: violatedFields(
        (error.details ?? [])
          .filter((detail) => detail.type === BAD_REQUEST && detail.value !== undefined)
          .map((detail) => base64Decode(detail.value ?? "")),
      ),
    };
  }

  function overGrpc(
    procedure: string,
    body: Uint8Array,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<RawAnswer> {
    channel ??= new grpc.Client(address, grpc.credentials.createInsecure());
    const client = channel;
    const metadata = new grpc.Metadata();
    for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
    return new Promise((resolve) =>
      client.makeUnaryRequest(
        procedure,
        identity,
        identity,
        Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        metadata,
        { deadline: Date.now() + timeoutMs },
        (error, response) =>
          resolve(
            error
              ? {
                  httpStatus: 200,
                  code: codeName(error.code),
                  message: error.details,
                  fieldViolations: fieldsOfStatus(
                    error.metadata.get("grpc-status-details-bin")[0] as Buffer | undefined,
                  ),
                }
              : {
                  httpStatus: 200,
                  code: "OK",
                  message: "",
                  fieldViolations: [],
                  ...(response ? { body: response } : {}),
                },
          ),
      ),
    );
  }

  return {
    call(protocol, procedure, body, { headers = {}, timeoutMs = 10_000 } = {}) {
      return protocol === "grpc"
        ? overGrpc(procedure, body, headers, timeoutMs)
        : overHttp(protocol, procedure, body, headers, timeoutMs);
    },
    close: () => channel?.close(),
  };
}
