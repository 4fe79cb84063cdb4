/**
 * The OpenAPI 3.1 document of a Connect JSON API, built from the contracts: each method that its
 * `(tourmesh.options.v1.access)` option does not keep internal becomes POST /<package>.<Service>/<Method>
 * (and GET, per Connect's GET protocol, when the method declares `idempotency_level = NO_SIDE_EFFECTS`), with
 * the method's example request, its security from the declared audience, and Connect's error body.
 */
import {
  type DescExtension,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  type FileRegistry,
  fromJsonString,
  getOption,
  hasOption,
  type JsonObject,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type {
  Oas3_1Components,
  Oas3_1Definition,
  Oas3_1Schema,
  Oas3Operation,
  Oas3Parameter,
  Oas3Paths,
  Oas3Response,
  Oas3Responses,
  Oas3Tag,
  OasRef,
} from "@redocly/openapi-core";
import { commentOf, type Schema, SchemaCollector, schemaRef } from "./json-schema.js";

export interface DocumentOptions {
  title: string;
  version: string;
  /** The SPDX identifier of the API's license, e.g. "Apache-2.0". */
  license: string;
  /** Base URLs of the gateway, e.g. "http://localhost:8080". */
  servers: string[];
  /** Services in this package or below it are ours: each of their methods must declare an audience. */
  packagePrefix: string;
}

const accessOption = "tourmesh.options.v1.access";
const exampleOption = "tourmesh.options.v1.example_request";
const bearer = "bearer";

type Audience = "AUDIENCE_PUBLIC" | "AUDIENCE_SIGNED_IN" | "AUDIENCE_INTERNAL";

/** Connect's error codes, as its JSON error body spells them, with the HTTP status each answers with. */
const connectCodes: ReadonlyArray<readonly [code: string, status: number]> = [
  ["canceled", 499],
  ["unknown", 500],
  ["invalid_argument", 400],
  ["deadline_exceeded", 504],
  ["not_found", 404],
  ["already_exists", 409],
  ["permission_denied", 403],
  ["resource_exhausted", 429],
  ["failed_precondition", 400],
  ["aborted", 409],
  ["out_of_range", 400],
  ["unimplemented", 501],
  ["internal", 500],
  ["unavailable", 503],
  ["data_loss", 500],
  ["unauthenticated", 401],
];

function extension(registry: FileRegistry, typeName: string): DescExtension {
  const found = registry.getExtension(typeName);
  if (found === undefined) throw new Error(`the option ${typeName} is not among the files given`);
  return found;
}

function detailMessage(errorDetails: DescFile, name: string): DescMessage {
  const found = errorDetails.messages.find((desc) => desc.name === name);
  if (found === undefined) throw new Error(`${errorDetails.name} has no message ${name}`);
  return found;
}

/** Who may call a method: its audience, and the scopes a signed-in caller's token must carry. */
export interface DeclaredAccess {
  audience: Audience;
  scopes: string[];
}

function accessOf(method: DescMethod, access: DescExtension): DeclaredAccess {
  const declared = hasOption(method, access) ? getOption(method, access) : undefined;
  const json =
    declared === undefined || access.message === undefined
      ? {}
      : (toJson(access.message, declared as never) as JsonObject);
  const { audience, scopes = [] } = json;
  const scopeList = Array.isArray(scopes) ? scopes.map(String) : [];
  if (audience === "AUDIENCE_PUBLIC" || audience === "AUDIENCE_SIGNED_IN" || audience === "AUDIENCE_INTERNAL")
    return { audience, scopes: scopeList };
  throw new Error(
    `${method.parent.typeName}.${method.name} declares no audience: set (${accessOption}) in its proto`,
  );
}

/** The method's example request in canonical JSON; throws when it is missing or does not fit the input type. */
function exampleOf(method: DescMethod, example: DescExtension, registry: FileRegistry): JsonObject {
  const name = `${method.parent.typeName}.${method.name}`;
  const text = hasOption(method, example) ? (getOption(method, example) as string) : "";
  if (text === "") throw new Error(`${name} is exposed but has no (${exampleOption})`);
  try {
    return toJson(method.input, fromJsonString(method.input, text, { registry }), { registry }) as JsonObject;
  } catch (error) {
    throw new Error(`${name}: its (${exampleOption}) is not a ${method.input.typeName}: ${String(error)}`);
  }
}

/** First sentence of a comment, for a one-line summary. */
function summaryOf(comment: string | undefined, fallback: string): string {
  const sentence = comment?.replaceAll("\n", " ").match(/^.*?[.!?](?=\s|$)/)?.[0];
  return sentence ?? fallback;
}

/** A reference to a shared response; Redocly's types leave out that OpenAPI allows one in place of a response. */
const errorResponseRef = (name: string): Oas3Response<Oas3_1Schema> =>
  ({ $ref: `#/components/responses/${name}` }) as Oas3Response<Oas3_1Schema>;
const parameterRef = (name: string): OasRef => ({ $ref: `#/components/parameters/${name}` });

function operation(
  method: DescMethod,
  { audience, scopes }: DeclaredAccess,
  example: JsonObject,
  schemas: SchemaCollector,
  verb: "post" | "get",
): Oas3Operation<Oas3_1Schema> {
  const comment = commentOf(method);
  const input = schemas.message(method.input);
  const responses: Oas3Responses<Oas3_1Schema> = {
    "200": {
      description: `The ${method.output.name}.`,
      content: { "application/json": { schema: schemas.message(method.output) } },
    },
    "400": errorResponseRef("InvalidArgument"),
    ...(audience === "AUDIENCE_SIGNED_IN" ? { "401": errorResponseRef("Unauthenticated") } : {}),
    ...(scopes.length > 0 ? { "403": errorResponseRef("PermissionDenied") } : {}),
    "429": errorResponseRef("ResourceExhausted"),
    default: errorResponseRef("Error"),
  };
  const summary = summaryOf(comment, method.name);
  const common = {
    operationId: `${method.parent.typeName}.${method.name}${verb === "get" ? ".get" : ""}`,
    tags: [method.parent.typeName],
    summary,
    ...(comment === undefined || comment === summary ? {} : { description: comment }),
    ...(method.deprecated || method.parent.deprecated ? { deprecated: true } : {}),
    // OpenAPI 3.1 lets a security requirement of any scheme list the roles it needs: here, the token's scopes.
    security: audience === "AUDIENCE_SIGNED_IN" ? [{ [bearer]: scopes }] : [],
    responses,
  };
  if (verb === "post") {
    return {
      ...common,
      parameters: [parameterRef("ConnectProtocolVersion"), parameterRef("ConnectTimeoutMs")],
      requestBody: {
        required: true,
        content: { "application/json": { schema: input, example } },
      },
    };
  }
  return {
    ...common,
    parameters: [
      parameterRef("GetEncoding"),
      {
        name: "message",
        in: "query",
        required: true,
        description: `The ${method.input.name} as JSON, URL-encoded.`,
        content: { "application/json": { schema: input, example } },
      },
      parameterRef("GetConnectVersion"),
      parameterRef("ConnectTimeoutMs"),
    ],
  };
}

/** The methods the API reference covers, by service: every method of ours that is not internal. */
export function exposedMethods(
  files: readonly DescFile[],
  registry: FileRegistry,
  packagePrefix: string,
): Array<{ service: DescService; methods: Array<{ method: DescMethod; access: DeclaredAccess }> }> {
  const ours = (file: DescFile) =>
    file.proto.package === packagePrefix || file.proto.package.startsWith(`${packagePrefix}.`);
  const services = files.filter(ours).flatMap((file) => file.services);
  if (services.length === 0) return [];
  const access = extension(registry, accessOption);
  return services
    .map((service) => ({
      service,
      methods: service.methods
        .map((method) => ({ method, access: accessOf(method, access) }))
        .filter(({ access }) => access.audience !== "AUDIENCE_INTERNAL"),
    }))
    .filter(({ methods }) => methods.length > 0);
}

/** An error body as Connect writes it, with a detail encoded exactly as the server encodes one. */
function errorExample(
  code: string,
  text: string,
  detail?: { desc: DescMessage; json: JsonObject },
): Record<string, unknown> {
  if (detail === undefined) return { code, message: text };
  const value = fromJsonString(detail.desc, JSON.stringify(detail.json));
  return {
    code,
    message: text,
    details: [
      {
        type: detail.desc.typeName,
        value: base64Encode(toBinary(detail.desc, value), "std_raw"),
        debug: toJson(detail.desc, value),
      },
    ],
  };
}

function errorResponses(errorDetails: DescFile, schemas: SchemaCollector): Oas3_1Components["responses"] {
  const detailSchemas: Schema[] = errorDetails.messages.map((desc) => schemas.message(desc));
  schemas.schemas["connect.ErrorDetail"] = {
    type: "object",
    title: "ErrorDetail",
    description:
      "A google.rpc error detail (or another message) that explains the error, e.g. the fields of a request " +
      "that are invalid (google.rpc.BadRequest) or when to retry (google.rpc.RetryInfo).",
    required: ["type", "value"],
    properties: {
      type: { type: "string", description: 'The detail\'s full type name, e.g. "google.rpc.BadRequest".' },
      value: {
        type: "string",
        description: "The detail in the protobuf binary encoding, base64 without padding.",
      },
      debug: {
        description: "The same detail as JSON, for reading: clients decode `value`.",
        anyOf: detailSchemas,
      },
    },
  };
  schemas.schemas["connect.Error"] = {
    type: "object",
    title: "Error",
    description: "The body of every Connect error response; its HTTP status follows from `code`.",
    required: ["code"],
    properties: {
      code: {
        type: "string",
        enum: connectCodes.map(([code]) => code),
        description: connectCodes.map(([code, status]) => `- \`${code}\`: HTTP ${status}`).join("\n"),
      },
      message: { type: "string", description: "What went wrong, for a developer." },
      details: { type: "array", items: schemaRef("connect.ErrorDetail") },
    },
  };
  const body = (example: Record<string, unknown>) => ({
    "application/json": { schema: schemaRef("connect.Error"), example },
  });
  const badRequest = detailMessage(errorDetails, "BadRequest");
  const retryInfo = detailMessage(errorDetails, "RetryInfo");
  return {
    Error: {
      description:
        "Any other error, e.g. `not_found` (404), `failed_precondition` (400), `unavailable` (503).",
      content: body(
        errorExample("not_found", "tour tour_nowhere does not exist", {
          desc: badRequest,
          json: { fieldViolations: [{ field: "tour_id", description: "tour tour_nowhere does not exist" }] },
        }),
      ),
    },
    InvalidArgument: {
      description:
        "`invalid_argument`: the request is malformed; a google.rpc.BadRequest detail names each field at " +
        "fault. `failed_precondition` and `out_of_range` answer with 400 as well.",
      content: body(
        errorExample("invalid_argument", "travelers: must be between 1 and 50", {
          desc: badRequest,
          json: { fieldViolations: [{ field: "travelers", description: "must be between 1 and 50" }] },
        }),
      ),
    },
    Unauthenticated: {
      description: "`unauthenticated`: no valid bearer token.",
      content: body(errorExample("unauthenticated", "a valid access token is required")),
    },
    PermissionDenied: {
      description:
        "`permission_denied`: the bearer token lacks a scope the method requires (the scopes of the user's " +
        "role, in the token's `scope` claim), or the resource is another user's.",
      content: body(
        errorExample(
          "permission_denied",
          "the access token lacks the scope tours:write this method requires",
        ),
      ),
    },
    ResourceExhausted: {
      description:
        "`resource_exhausted`: over the rate limit of the client address or the user; a google.rpc.RetryInfo " +
        "detail and the Retry-After header say when to retry.",
      headers: {
        "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer" } },
      },
      content: body(
        errorExample("resource_exhausted", "too many requests from this client address; retry in 1500 ms", {
          desc: retryInfo,
          json: { retryDelay: "1.500s" },
        }),
      ),
    },
  };
}

const parameters: Record<string, Oas3Parameter<Oas3_1Schema>> = {
  ConnectProtocolVersion: {
    name: "Connect-Protocol-Version",
    in: "header",
    description: "The Connect protocol version; clients send 1.",
    schema: { type: "string", enum: ["1"] },
  },
  ConnectTimeoutMs: {
    name: "Connect-Timeout-Ms",
    in: "header",
    description:
      "The call's deadline in milliseconds. The gateway caps it, and gives a default to a call without one.",
    schema: { type: "integer", minimum: 1, maximum: 9999999999 },
  },
  GetEncoding: {
    name: "encoding",
    in: "query",
    required: true,
    description: "The codec of `message`: json.",
    schema: { type: "string", enum: ["json"] },
  },
  GetConnectVersion: {
    name: "connect",
    in: "query",
    description: "The Connect protocol version; clients send v1.",
    schema: { type: "string", enum: ["v1"] },
  },
};

/**
 * The document of the services under `options.packagePrefix` among `files`. `errorDetails` is
 * google/rpc/error_details.proto, whose messages describe the errors' details.
 */
export function openApiDocument(
  files: readonly DescFile[],
  registry: FileRegistry,
  errorDetails: DescFile,
  options: DocumentOptions,
): Oas3_1Definition {
  const example = extension(registry, exampleOption);
  const schemas = new SchemaCollector();
  const paths: Oas3Paths<Oas3_1Schema> = {};
  const tags: Oas3Tag[] = [];
  for (const { service, methods } of exposedMethods(files, registry, options.packagePrefix)) {
    const description = commentOf(service);
    tags.push({ name: service.typeName, ...(description === undefined ? {} : { description }) });
    for (const { method, access } of methods) {
      if (method.methodKind !== "unary") {
        throw new Error(
          `${service.typeName}.${method.name} streams: the Connect JSON reference covers unary methods`,
        );
      }
      const request = exampleOf(method, example, registry);
      const sideEffectFree = method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
      paths[`/${service.typeName}/${method.name}`] = {
        post: operation(method, access, request, schemas, "post"),
        ...(sideEffectFree ? { get: operation(method, access, request, schemas, "get") } : {}),
      };
    }
  }
  const responses = errorResponses(errorDetails, schemas);
  return {
    openapi: "3.1.0",
    info: {
      title: options.title,
      version: options.version,
      license: { name: options.license, url: `https://spdx.org/licenses/${options.license}.html` },
      // CommonMark, as every description in OpenAPI: the path is code, or its <package> would be an HTML tag.
      description:
        "The public API as the gateway serves it over the Connect protocol with JSON: POST the request " +
        "message as JSON to `/<package>.<Service>/<Method>` (`Content-Type: application/json`); methods without " +
        "side effects can also be called with GET, the message URL-encoded in the query. The same methods " +
        "are served over gRPC and gRPC-Web on the same port. Generated from the protobuf contracts.",
    },
    servers: options.servers.map((url) => ({ url })),
    tags,
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas.schemas).sort(([a], [b]) => a.localeCompare(b))),
      responses,
      parameters,
      securitySchemes: {
        [bearer]: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "The accessToken of IdentityService.SignIn, as `Authorization: Bearer <token>`.",
        },
      },
    },
  };
}
