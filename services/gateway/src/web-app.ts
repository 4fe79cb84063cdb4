/**
 * The travellers' web app (web/, built by `npm run build:web`), served from the gateway's own origin so that
 * its calls need no CORS. Every GET or HEAD that is not an RPC (a procedure path `/<package>.<Service>/<Method>`)
 * is the app's:
 *
 *   /assets/*          Vite names each file by its content hash: cached for a year, immutable
 *   /, /index.html     not cached (`no-cache`): a new build is seen at once, and names its new assets
 *   other files        from the build's public/ folder (the icon), `no-cache`
 *   /a/path            an app route (no dot in its last segment): index.html, which routes in the browser
 *   /a/missing.js      404
 *
 * The build folder is read when the gateway starts (a new build is served after a restart); a gzip copy of
 * a file, which the build writes beside it, is sent to browsers that accept gzip. Every answer carries a strict
 * Content-Security-Policy: scripts, styles and calls from this origin only, nothing inline, no framing.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import sirv from "sirv";
import type { NodeRequest, NodeResponse } from "./listener.js";

export interface WebAppOptions {
  /** The built app: a folder holding index.html and assets/. */
  dir: string;
  /** Where browsers send their spans (OTLP/HTTP); absent, the app exports none. */
  otlpTracesUrl?: string | undefined;
}

/** Answers a request when it is the web app's, and says whether it did. */
export type WebAppHandler = (request: NodeRequest, response: NodeResponse) => boolean;

const IMMUTABLE = "public, max-age=31536000, immutable";
const procedurePath = /^\/[^/]+\.[^/]+\/[^/]+$/;
const lastSegmentHasDot = /\.[^/]*$/;

export function contentSecurityPolicy(otlpTracesUrl?: string): string {
  const connect = otlpTracesUrl ? `'self' ${new URL(otlpTracesUrl).origin}` : "'self'";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src ${connect}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const pathOf = (request: NodeRequest) => new URL(request.url ?? "/", "http://gateway").pathname;

const isAppRequest = (request: NodeRequest) =>
  (request.method === "GET" || request.method === "HEAD") && !procedurePath.test(pathOf(request));

const acceptsGzip = (request: NodeRequest) =>
  /\bgzip\b/.test(String(request.headers["accept-encoding"] ?? ""));

function sendText(response: NodeResponse, status: number, text: string): void {
  response.statusCode = status;
  response.setHeader("content-type", "text/plain; charset=utf-8");
  response.setHeader("cache-control", "no-cache");
  response.end(text);
}

const escapeAttribute = (value: string) =>
  value.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

export function webApp({ dir, otlpTracesUrl }: WebAppOptions): WebAppHandler {
  const indexFile = join(dir, "index.html");
  if (!existsSync(indexFile)) {
    const notBuilt =
      `The web app is not built: ${dir} holds no index.html.\n` +
      "Build it with `npm run build:web` (or set WEB_APP_DIR to where it was built), then restart the gateway.\n";
    return (request, response) => {
      if (!isAppRequest(request)) return false;
      sendText(response, 404, notBuilt);
      return true;
    };
  }

  const meta = otlpTracesUrl
    ? `<meta name="otlp-traces-url" content="${escapeAttribute(otlpTracesUrl)}" />\n  </head>`
    : "</head>";
  const index = Buffer.from(readFileSync(indexFile, "utf8").replace("</head>", meta));
  const gzippedIndex = gzipSync(index, { level: 9 });
  const indexTag = `"${createHash("sha256").update(index).digest("base64url").slice(0, 27)}"`;
  const securityHeaders = {
    "content-security-policy": contentSecurityPolicy(otlpTracesUrl),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
  };

  const sendIndex = (request: NodeRequest, response: NodeResponse) => {
    response.setHeader("content-type", "text/html; charset=utf-8");
    response.setHeader("cache-control", "no-cache");
    response.setHeader("etag", indexTag);
    response.setHeader("vary", "Accept-Encoding");
    if (request.headers["if-none-match"] === indexTag) {
      response.statusCode = 304;
      response.end();
      return;
    }
    const gzip = acceptsGzip(request);
    if (gzip) response.setHeader("content-encoding", "gzip");
    const body = gzip ? gzippedIndex : index;
    response.setHeader("content-length", body.length);
    if (request.method === "HEAD") response.end();
    else response.end(body);
  };

  const files = sirv(dir, {
    etag: true,
    gzip: true,
    // No implicit `.html` or `/index.html`: index.html is answered above, with the page's settings in it.
    extensions: [],
    setHeaders: (response, pathname) =>
      response.setHeader("cache-control", pathname.startsWith("/assets/") ? IMMUTABLE : "no-cache"),
  });

  return (request, response) => {
    if (!isAppRequest(request)) return false;
    for (const [name, value] of Object.entries(securityHeaders)) response.setHeader(name, value);
    const path = pathOf(request);
    if (path === "/" || path === "/index.html") {
      sendIndex(request, response);
      return true;
    }
    // sirv is typed for node:http; it uses only what HTTP/2's compatibility API offers as well.
    files(request as IncomingMessage, response as ServerResponse, () => {
      if (lastSegmentHasDot.test(path)) sendText(response, 404, "Not found\n");
      else sendIndex(request, response);
    });
    return true;
  };
}
