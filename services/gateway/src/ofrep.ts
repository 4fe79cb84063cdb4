/**
 * The OpenFeature Remote Evaluation Protocol (OFREP, https://github.com/open-feature/protocol) over the same
 * flag definitions the services evaluate in process, so that one file drives the browser's flags too:
 *
 *   POST /ofrep/v1/evaluate/flags         every enabled flag, for the web provider (ETag / If-None-Match)
 *   POST /ofrep/v1/evaluate/flags/{key}   one flag
 *
 * The body's `context` is the evaluation context, except who the user is: `targetingKey` and `username` come
 * only from a verified bearer token (a client cannot claim another user's rollouts or dark launches), and
 * `service` is `web`. A bad token is 401, as on the RPC paths; requests count against the client address's
 * rate limit.
 */
import { createHash } from "node:crypto";
import type {
  BulkEvaluationFailureResponse,
  BulkEvaluationSuccessResponse,
  EvaluationFailureResponse,
  EvaluationRequest,
  EvaluationResponse,
  EvaluationSuccessResponse,
} from "@openfeature/ofrep-core";
import {
  type Caller,
  callerContext,
  type FeatureFlags,
  type FlagEvaluation,
  type Logger,
  type TokenVerifier,
} from "@tourmesh/platform";
import type { NodeRequest, NodeResponse } from "./listener.js";
import type { RateLimiter } from "./rate-limit.js";

export const OFREP_PREFIX = "/ofrep/v1/evaluate/flags";

/** What the evaluations are for: the `service` of their context. */
const EVALUATED_FOR = "web";
/** Context attributes only a verified token sets. */
const verifiedAttributes = ["targetingKey", "username"];

export interface OfrepOptions {
  flags: FeatureFlags;
  verifier: TokenVerifier;
  perClient: RateLimiter;
  maxBodyBytes: number;
  logger: Logger;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

class BadRequest extends Error {}

/** Whether the request is for OFREP (the path's start), so that the gateway hands it here. */
export const isOfrepRequest = (url: string | undefined) =>
  url === OFREP_PREFIX ||
  url?.startsWith(`${OFREP_PREFIX}/`) === true ||
  url?.startsWith(`${OFREP_PREFIX}?`) === true;

async function readBody(request: NodeRequest, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new BadRequest(`the body is larger than ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

type Context = NonNullable<EvaluationRequest["context"]>;

/** The body's context (JSON: every value fits a context), without what only a token may say. */
function requestContext(text: string): Context {
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequest("the body is not JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new BadRequest("the body is not an object");
  const context = (body as { context?: unknown }).context ?? {};
  if (typeof context !== "object" || context === null || Array.isArray(context))
    throw new BadRequest("context is not an object");
  return Object.fromEntries(
    Object.entries(context).filter(([name]) => !verifiedAttributes.includes(name)),
  ) as Context;
}

function evaluationContext(context: Context, caller: Caller | undefined): Context {
  const country = typeof context.country === "string" ? context.country.toUpperCase() : undefined;
  return {
    ...context,
    ...(country ? { country } : {}),
    ...(caller ? callerContext(caller, country) : {}),
    service: EVALUATED_FOR,
  };
}

function success(evaluation: FlagEvaluation): EvaluationSuccessResponse {
  const { key, value, variant, reason, metadata } = evaluation;
  return {
    key,
    reason: reason as EvaluationSuccessResponse["reason"],
    ...(variant === undefined ? {} : { variant }),
    ...(value === undefined ? {} : { value }),
    metadata,
  };
}

function failure(evaluation: FlagEvaluation): EvaluationFailureResponse {
  return {
    key: evaluation.key,
    errorCode: (evaluation.errorCode ?? "GENERAL") as EvaluationFailureResponse["errorCode"],
    ...(evaluation.errorMessage ? { errorDetails: evaluation.errorMessage } : {}),
  };
}

const asResponse = (evaluation: FlagEvaluation): EvaluationResponse =>
  evaluation.reason === "ERROR" ? failure(evaluation) : success(evaluation);

/** A strong entity tag of a bulk answer: equal answers, equal tags. */
const entityTag = (body: string) => `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;

/** Serves OFREP requests (see isOfrepRequest). */
export function ofrepHandler({ flags, verifier, perClient, maxBodyBytes, logger }: OfrepOptions) {
  const { definitions, observer } = flags;

  /** `evaluated` collects the variants for the request's log line. */
  async function answer(
    request: NodeRequest,
    clientIp: string,
    evaluated: Record<string, string>,
  ): Promise<Answer> {
    const evaluate = (key: string, context: Context) => {
      const evaluation = definitions.evaluate(key, context);
      if (evaluation) {
        observer.observe(evaluation);
        evaluated[key] = evaluation.variant ?? "";
      }
      return evaluation;
    };
    if (request.method !== "POST") return { status: 405, headers: { allow: "POST" } };
    const wait = perClient.take(clientIp);
    if (wait > 0) return { status: 429, headers: { "retry-after": String(Math.ceil(wait / 1000)) } };
    const authorization = request.headers.authorization;
    let caller: Caller | undefined;
    if (authorization !== undefined) {
      try {
        caller = await verifier.verifyBearer(authorization);
      } catch {
        return { status: 401, headers: { "www-authenticate": "Bearer" } };
      }
    }
    const path = new URL(request.url ?? "", "http://gateway").pathname;
    const key = path === OFREP_PREFIX ? undefined : decodeURIComponent(path.slice(OFREP_PREFIX.length + 1));
    let context: Context;
    try {
      context = evaluationContext(requestContext(await readBody(request, maxBodyBytes)), caller);
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      const problem: BulkEvaluationFailureResponse = {
        errorCode: "INVALID_CONTEXT" as BulkEvaluationFailureResponse["errorCode"],
        errorDetails: error.message,
      };
      return {
        status: 400,
        body: key === undefined ? problem : { key, ...problem },
      };
    }

    if (key === undefined) {
      const answers = definitions.keys().flatMap((flagKey) => {
        const evaluation = evaluate(flagKey, context);
        // Like flagd, a disabled flag is left out: the client uses its code default.
        return evaluation && evaluation.reason !== "DISABLED" ? [asResponse(evaluation)] : [];
      });
      const body: BulkEvaluationSuccessResponse = { flags: answers };
      const etag = entityTag(JSON.stringify(body));
      if (request.headers["if-none-match"] === etag) return { status: 304, headers: { etag } };
      return { status: 200, body, headers: { etag } };
    }
    const evaluation = evaluate(key, context);
    if (evaluation === undefined) {
      return {
        status: 404,
        body: { key, errorCode: "FLAG_NOT_FOUND", errorDetails: `flag ${key} is not defined` },
      };
    }
    return evaluation.reason === "ERROR"
      ? { status: 400, body: failure(evaluation) }
      : { status: 200, body: success(evaluation) };
  }

  return async (request: NodeRequest, response: NodeResponse, clientIp: string): Promise<void> => {
    const started = performance.now();
    const evaluated: Record<string, string> = {};
    let outcome: Answer;
    try {
      outcome = await answer(request, clientIp, evaluated);
    } catch (error) {
      logger.error({ err: error, path: request.url }, "remote flag evaluation failed");
      outcome = { status: 500, body: { errorDetails: "internal error" } };
    }
    response.statusCode = outcome.status;
    for (const [name, value] of Object.entries(outcome.headers ?? {})) response.setHeader(name, value);
    if (outcome.body === undefined) response.end();
    else {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify(outcome.body));
    }
    logger.info(
      {
        method: request.url,
        http_status: outcome.status,
        duration_ms: Math.round(performance.now() - started),
        feature_flags: evaluated,
      },
      "remote flag evaluation",
    );
  };
}
