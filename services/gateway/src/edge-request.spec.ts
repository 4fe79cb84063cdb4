import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientAddress, corsHeaders, requestIdOf } from "./edge-request.js";
import { forwardTimeoutMs } from "./forwarding.js";

describe("client address", () => {
  it("is the socket's peer when no proxy is trusted, whatever X-Forwarded-For claims", () => {
    assert.equal(clientAddress("::ffff:10.0.0.7", "1.2.3.4", 0), "10.0.0.7");
    assert.equal(clientAddress("2001:db8::1", undefined, 0), "2001:db8::1");
  });

  it("is the entry the outermost trusted proxy appended; entries the client wrote are ignored", () => {
    assert.equal(clientAddress("10.0.0.2", "6.6.6.6, 198.51.100.9", 1), "198.51.100.9");
    assert.equal(clientAddress("10.0.0.2", "6.6.6.6, 198.51.100.9, 10.0.0.1", 2), "198.51.100.9");
    assert.equal(clientAddress("10.0.0.2", ["6.6.6.6", "198.51.100.9"], 1), "198.51.100.9");
    assert.equal(clientAddress("10.0.0.2", "198.51.100.9", 3), "198.51.100.9", "fewer hops than trusted");
    assert.equal(clientAddress("10.0.0.2", " , ", 1), "10.0.0.2", "no usable entry");
  });
});

describe("request id", () => {
  it("keeps a sane client id and replaces anything else", () => {
    assert.equal(requestIdOf("req-42_a.b:c"), "req-42_a.b:c");
    for (const bad of [undefined, "", "has space", "x".repeat(129), "line\nbreak", "ünïcode"]) {
      assert.match(requestIdOf(bad), /^[0-9a-f-]{36}$/, String(bad));
    }
  });
});

describe("CORS headers", () => {
  const allowed = ["https://app.tourmesh.example"];

  it("answer an allowed origin's preflight with Connect's methods and headers plus the token's", () => {
    const headers = corsHeaders("https://app.tourmesh.example", allowed, true);
    assert.equal(headers["access-control-allow-origin"], "https://app.tourmesh.example");
    assert.equal(headers.vary, "Origin");
    assert.equal(headers["access-control-allow-methods"], "POST, GET");
    for (const header of [
      "Authorization",
      "Connect-Protocol-Version",
      "Grpc-Timeout",
      "X-Grpc-Web",
      "X-Request-Id",
      "If-None-Match",
    ]) {
      assert.ok(headers["access-control-allow-headers"]?.split(", ").includes(header), header);
    }
  });

  it("expose the status and request id headers on an actual response", () => {
    const exposed = corsHeaders("https://app.tourmesh.example", allowed, false)[
      "access-control-expose-headers"
    ];
    for (const header of ["Grpc-Status", "Grpc-Message", "X-Request-Id", "Retry-After", "ETag"]) {
      assert.ok(exposed?.split(", ").includes(header), header);
    }
  });

  it("say nothing to a foreign origin or a non-browser client, and anything to anyone with *", () => {
    assert.deepEqual(corsHeaders("https://evil.example", allowed, true), {});
    assert.deepEqual(corsHeaders(undefined, allowed, false), {});
    assert.equal(corsHeaders("https://any.example", ["*"], false)["access-control-allow-origin"], "*");
  });
});

describe("forwarded deadline", () => {
  const policy = { defaultMs: 5_000, maxMs: 15_000 };

  it("is the client's own, capped, or the default when it sent none", () => {
    assert.equal(forwardTimeoutMs(2_000, policy), 2_000);
    assert.equal(forwardTimeoutMs(60_000, policy), 15_000);
    assert.equal(forwardTimeoutMs(undefined, policy), 5_000);
  });
});
