/**
 * The API reference with try-it-out, served from the gateway's own origin so that what is tried there is a real
 * call to this gateway, with no CORS. Swagger UI (the npm package swagger-ui-dist, served from here: no CDN)
 * shows the OpenAPI document that `npm run generate` makes from the contracts:
 *
 *   /docs                  the page
 *   /docs/openapi.json     the document, its one server being this gateway
 *   /docs/swagger-ui.css, /docs/swagger-ui-bundle.js, /docs/favicon.png   Swagger UI itself
 *   /docs/try-it-out.js    starts Swagger UI; a SignIn tried on the page signs the page in
 *
 * Files are read on first request, so that a gateway whose reference nobody opens never holds them. Every answer
 * carries a Content-Security-Policy as strict as the web app's but for images, where Swagger UI's stylesheet
 * draws its icons as `data:` URIs.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import swaggerUiDir from "swagger-ui-dist/absolute-path.js";
import type { NodeRequest, NodeResponse } from "./listener.js";

/** Answers a request when it is the API reference's, and says whether it did. */
export type ApiDocsHandler = (request: NodeRequest, response: NodeResponse) => boolean;

export const API_DOCS_PATH = "/docs";

const SIGN_IN_GUIDE = [
  "",
  "",
  "**Trying it here.** Each method's *Try it out* sends its request to this gateway. Public methods need",
  "nothing more. For a signed-in method, first try `IdentityService/SignIn`: its example signs in the demo",
  "traveller alice (seeded by the local stack only; elsewhere use an account of yours). A successful SignIn",
  "signs this page in, so that every signed-in method tried after it carries `Authorization: Bearer",
  "<accessToken>`; *Authorize* shows the token, takes one from elsewhere, and signs the page out. The",
  "token lives as long as the tab (`expiresIn` seconds at most).",
].join("\n");

export const apiDocsContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>tourmesh API reference</title>
    <link rel="icon" href="${API_DOCS_PATH}/favicon.png" type="image/png" />
    <link rel="stylesheet" href="${API_DOCS_PATH}/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${API_DOCS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${API_DOCS_PATH}/try-it-out.js"></script>
  </body>
</html>
`;

interface Asset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
  tag: string;
}

function asset(type: string, body: Buffer): Asset {
  const tag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
  return { type, body, gzipped: gzipSync(body, { level: 9 }), tag };
}

/** The generated document, served with this gateway as its server and with how to sign in on the page. */
export function servedDocument(generated: string): string {
  const document = JSON.parse(generated) as { info: { description?: string }; servers?: unknown };
  document.info.description = `${document.info.description ?? ""}${SIGN_IN_GUIDE}`;
  document.servers = [{ url: "/", description: "this gateway" }];
  return JSON.stringify(document);
}

export interface ApiDocsOptions {
  /** The OpenAPI document made by `npm run generate`. */
  documentFile?: string;
}

export function apiDocs({
  documentFile = fileURLToPath(new URL("../../../gen/openapi/tourmesh.openapi.json", import.meta.url)),
}: ApiDocsOptions = {}): ApiDocsHandler {
  const sources: Record<string, () => Asset> = {
    [API_DOCS_PATH]: () => asset("text/html; charset=utf-8", Buffer.from(page)),
    [`${API_DOCS_PATH}/openapi.json`]: () =>
      asset("application/json", Buffer.from(servedDocument(readFileSync(documentFile, "utf8")))),
    [`${API_DOCS_PATH}/swagger-ui.css`]: () =>
      asset("text/css; charset=utf-8", readFileSync(join(swaggerUiDir(), "swagger-ui.css"))),
    [`${API_DOCS_PATH}/swagger-ui-bundle.js`]: () =>
      asset("text/javascript; charset=utf-8", readFileSync(join(swaggerUiDir(), "swagger-ui-bundle.js"))),
    [`${API_DOCS_PATH}/favicon.png`]: () =>
      asset("image/png", readFileSync(join(swaggerUiDir(), "favicon-32x32.png"))),
    [`${API_DOCS_PATH}/try-it-out.js`]: () =>
      asset(
        "text/javascript; charset=utf-8",
        readFileSync(fileURLToPath(new URL("./api-docs/try-it-out.js", import.meta.url))),
      ),
  };
  const loaded = new Map<string, Asset>();

  return (request, response) => {
    if (request.method !== "GET" && request.method !== "HEAD") return false;
    const path = new URL(request.url ?? "/", "http://gateway").pathname.replace(/(.)\/$/, "$1");
    const source = sources[path];
    if (source === undefined) return false;
    let served = loaded.get(path);
    if (served === undefined) {
      served = source();
      loaded.set(path, served);
    }
    response.setHeader("content-security-policy", apiDocsContentSecurityPolicy);
    response.setHeader("x-content-type-options", "nosniff");
    response.setHeader("referrer-policy", "no-referrer");
    response.setHeader("cross-origin-opener-policy", "same-origin");
    response.setHeader("content-type", served.type);
    response.setHeader("cache-control", "no-cache");
    response.setHeader("etag", served.tag);
    response.setHeader("vary", "Accept-Encoding");
    if (request.headers["if-none-match"] === served.tag) {
      response.statusCode = 304;
      response.end();
      return true;
    }
    const gzip = /\bgzip\b/.test(String(request.headers["accept-encoding"] ?? ""));
    if (gzip) response.setHeader("content-encoding", "gzip");
    const body = gzip ? served.gzipped : served.body;
    response.setHeader("content-length", body.length);
    if (request.method === "HEAD") response.end();
    else response.end(body);
    return true;
  };
}
