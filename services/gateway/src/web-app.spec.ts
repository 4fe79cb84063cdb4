import * as assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as connectHttp2, type IncomingHttpHeaders } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { createDualProtocolServer, type DualProtocolServer } from "./listener.js";
import { contentSecurityPolicy, type WebAppOptions, webApp } from "./web-app.js";

const INDEX = `<!doctype html><html><head><title>app</title><script type="module" src="/assets/index-Ab12Cd34.js"></script></head><body></body></html>`;
const SCRIPT = "console.log('app');".repeat(50);

/** A build folder laid out as Vite and web/build.ts write one. */
function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), "tourmesh-web-app-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), INDEX);
  writeFileSync(join(dir, "assets", "index-Ab12Cd34.js"), SCRIPT);
  writeFileSync(join(dir, "assets", "index-Ab12Cd34.js.gz"), gzipSync(SCRIPT));
  writeFileSync(join(dir, "favicon.svg"), "<svg></svg>");
  return dir;
}

/** The web app in front of a stand-in for the RPC handler, on a free port, as the gateway wires it. */
async function serve(options: WebAppOptions): Promise<{ url: string; server: DualProtocolServer }> {
  const handle = webApp(options);
  const server = createDualProtocolServer((request, response) => {
    if (handle(request, response)) return;
    response.statusCode = 418;
    response.end("rpc");
  });
  const port = await server.listen(0);
  return { url: `http://127.0.0.1:${port}`, server };
}

describe("the web app at the gateway", () => {
  const dir = fakeBuild();
  let url: string;
  let server: DualProtocolServer;
  before(async () => {
    ({ url, server } = await serve({ dir, otlpTracesUrl: "https://otel.example.com/v1/traces" }));
  });
  after(async () => {
    await server.close(1_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves index.html at / uncached, under a strict Content-Security-Policy, with the trace export URL", async () => {
    const response = await fetch(`${url}/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(response.headers.get("cache-control"), "no-cache");
    const policy = response.headers.get("content-security-policy") ?? "";
    assert.match(policy, /default-src 'none'/);
    assert.match(policy, /script-src 'self';/);
    assert.match(policy, /connect-src 'self' https:\/\/otel\.example\.com;/);
    assert.doesNotMatch(policy, /unsafe/);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    const html = await response.text();
    assert.match(
      html,
      /<meta name="otlp-traces-url" content="https:\/\/otel\.example\.com\/v1\/traces" \/>\s*<\/head>/,
    );
  });

  it("answers a repeated request for index.html with 304 when it has not changed", async () => {
    const first = await fetch(`${url}/`);
    const etag = first.headers.get("etag");
    assert.ok(etag);
    const again = await fetch(`${url}/`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
  });

  it("serves hashed assets as immutable, gzip-compressed to a browser that accepts it", async () => {
    const response = await fetch(`${url}/assets/index-Ab12Cd34.js`, {
      headers: { "accept-encoding": "gzip" },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(response.headers.get("content-encoding"), "gzip");
    assert.equal(response.headers.get("content-type"), "text/javascript");
    assert.equal(await response.text(), SCRIPT);
    const plain = await fetch(`${url}/assets/index-Ab12Cd34.js`, {
      headers: { "accept-encoding": "identity" },
    });
    assert.equal(plain.headers.get("content-encoding"), null);
    assert.equal(await plain.text(), SCRIPT);
  });

  it("serves other files of the build uncached", async () => {
    const response = await fetch(`${url}/favicon.svg`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "no-cache");
    assert.equal(response.headers.get("content-type"), "image/svg+xml");
  });

  it("answers an app route with index.html, and a missing file with 404", async () => {
    for (const route of ["/bookings", "/tours/tour_paris_louvre", "/sign-in?next=%2Fbookings"]) {
      const response = await fetch(`${url}${route}`);
      assert.equal(response.status, 200, route);
      assert.match(await response.text(), /<title>app<\/title>/, route);
    }
    for (const missing of ["/assets/index-Zz99Yy88.js", "/favicon.ico", "/robots.txt"]) {
      const response = await fetch(`${url}${missing}`);
      assert.equal(response.status, 404, missing);
    }
  });

  it("leaves RPCs to the gateway: any POST, and GETs of procedure paths (Connect GET)", async () => {
    const rpc = await fetch(`${url}/tourmesh.catalog.v1.CatalogService/ListTours?connect=v1&encoding=json`);
    assert.equal(rpc.status, 418);
    const post = await fetch(`${url}/`, { method: "POST", body: "{}" });
    assert.equal(post.status, 418);
  });

  it("serves HTTP/2 (h2c) clients too", async () => {
    const session = connectHttp2(url);
    try {
      const { headers, body } = await new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>(
        (resolve, reject) => {
          const stream = session.request({ ":path": "/assets/index-Ab12Cd34.js", "accept-encoding": "gzip" });
          const chunks: Buffer[] = [];
          let headers: IncomingHttpHeaders = {};
          stream.on("response", (received) => {
            headers = received;
          });
          stream.on("data", (chunk: Buffer) => chunks.push(chunk));
          stream.on("end", () => resolve({ headers, body: Buffer.concat(chunks) }));
          stream.on("error", reject);
        },
      );
      assert.equal(headers[":status"], 200);
      assert.equal(headers["content-encoding"], "gzip");
      assert.equal(gunzipSync(body).toString(), SCRIPT);
    } finally {
      session.close();
    }
  });
});

describe("the web app at a gateway without a build", () => {
  it("still starts, and answers / with 404 saying how to build the app", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tourmesh-web-app-empty-"));
    const { url, server } = await serve({ dir });
    try {
      const response = await fetch(`${url}/`);
      assert.equal(response.status, 404);
      assert.match(await response.text(), /npm run build:web/);
      const rpc = await fetch(`${url}/tourmesh.catalog.v1.CatalogService/ListTours`, { method: "POST" });
      assert.equal(rpc.status, 418);
    } finally {
      await server.close(1_000);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("contentSecurityPolicy", () => {
  it("lets the page call only its own origin unless a trace export URL is set", () => {
    assert.match(contentSecurityPolicy(), /connect-src 'self';/);
    assert.match(
      contentSecurityPolicy("http://127.0.0.1:4318/v1/traces"),
      /connect-src 'self' http:\/\/127\.0\.0\.1:4318;/,
    );
  });
});
