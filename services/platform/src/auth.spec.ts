import * as assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Metadata } from "@grpc/grpc-js";
import { Registry } from "prom-client";
import { TokenVerifier } from "./auth.js";
import { UnauthenticatedError, UnavailableError } from "./errors.js";
import { freePort } from "./testing/free-port.js";
import { startTestTokenIssuer, type TestTokenIssuer } from "./testing/test-tokens.js";

/** The value of one sample in the registry's exposition; 0 when it has none yet. */
async function sample(registry: Registry, series: string): Promise<number> {
  const escaped = series.replace(/[{}"+]/g, "\\$&");
  return Number(new RegExp(`^${escaped} (\\S+)$`, "m").exec(await registry.metrics())?.[1] ?? 0);
}

describe("TokenVerifier's memory of verified tokens", () => {
  let issuer: TestTokenIssuer;
  let verifier: TokenVerifier;
  before(async () => {
    issuer = await startTestTokenIssuer();
    verifier = new TokenVerifier({ ...issuer, registry: new Registry() });
  });
  after(() => issuer.stop());

  it("still refuses a remembered token once it has expired (after the clock tolerance)", async () => {
    const token = await issuer.sign("user-2", { expiresInSeconds: 1 });
    assert.equal((await verifier.verify(token)).userId, "user-2");
    await sleep(6_500);
    await assert.rejects(verifier.verify(token), UnauthenticatedError);
  });

  it("does not remember a refused token as valid", async () => {
    const expired = await issuer.sign("user-3", { expiresInSeconds: -60 });
    await assert.rejects(verifier.verify(expired), UnauthenticatedError);
    await assert.rejects(verifier.verify(expired), UnauthenticatedError);
  });
});

describe("TokenVerifier's metrics", () => {
  let issuer: TestTokenIssuer;
  let stranger: TestTokenIssuer;
  before(async () => {
    issuer = await startTestTokenIssuer();
    stranger = await startTestTokenIssuer();
  });
  after(async () => {
    await issuer.stop();
    await stranger.stop();
  });

  it("counts each refusal by its reason, and gives the caller the same answer for all", async () => {
    const registry = new Registry();
    const verifier = new TokenVerifier({ ...issuer, registry });
    const valid = await issuer.sign("user-1");
    const [header, payload, signature = ""] = valid.split(".");
    const tampered = `${header}.${payload}.${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`;
    const expired = await issuer.sign("user-1", { expiresInSeconds: -60 });
    const elsewhere = await issuer.sign("user-1", { audience: "someone-else" });
    const foreign = await stranger.sign("user-1");
    const refusals: Array<[reason: string, call: () => Promise<unknown>]> = [
      ["missing_token", () => verifier.authenticate(new Metadata())],
      ["missing_token", () => verifier.verifyBearer(`Basic ${valid}`)],
      ["invalid_token", () => verifier.verifyBearer("Bearer not-a-jwt")],
      ["expired", () => verifier.verify(expired)],
      ["bad_claims", () => verifier.verify(elsewhere)],
      ["bad_signature", () => verifier.verify(tampered)],
      ["unknown_key", () => verifier.verify(foreign)],
    ];
    for (const [reason, call] of refusals) {
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof UnauthenticatedError, reason);
        assert.equal(error.message, "a valid access token is required");
        return true;
      });
    }
    for (const reason of ["invalid_token", "expired", "bad_claims", "bad_signature", "unknown_key"]) {
      assert.equal(await sample(registry, `auth_failures_total{reason="${reason}"}`), 1, reason);
    }
    assert.equal(await sample(registry, 'auth_failures_total{reason="missing_token"}'), 2);
  });

  it("counts a token it cannot check, because the issuer's keys cannot be fetched, as keys_unavailable", async () => {
    const registry = new Registry();
    const nowhere = new TokenVerifier({
      ...issuer,
      jwksUrl: `http://127.0.0.1:${await freePort()}/.well-known/jwks.json`,
      registry,
    });
    await assert.rejects(nowhere.verify(await issuer.sign("user-1")), UnavailableError);
    assert.equal(await sample(registry, 'auth_failures_total{reason="keys_unavailable"}'), 1);
  });

  it("times each verification, but not a remembered token's reuse", async () => {
    const registry = new Registry();
    const verifier = new TokenVerifier({ ...issuer, registry });
    const token = await issuer.sign("user-1");
    for (let call = 0; call < 3; call++) await verifier.verifyBearer(`Bearer ${token}`);
    await assert.rejects(verifier.verify(await issuer.sign("user-1", { expiresInSeconds: -60 })));

    assert.equal(await sample(registry, "jwt_verify_duration_seconds_count"), 2);
    const seconds = await sample(registry, "jwt_verify_duration_seconds_sum");
    assert.ok(seconds > 0 && seconds < 2, `${seconds} s`);
  });

  it("shares one set of metrics between the verifiers of one registry", async () => {
    const registry = new Registry();
    const first = new TokenVerifier({ ...issuer, registry });
    const second = new TokenVerifier({ ...issuer, registry });
    await assert.rejects(first.verifyBearer(undefined));
    await assert.rejects(second.verifyBearer(undefined));
    assert.equal(await sample(registry, 'auth_failures_total{reason="missing_token"}'), 2);
  });
});

describe("TokenVerifier when the key set cannot be fetched", () => {
  let issuer: TestTokenIssuer;
  let stranger: TestTokenIssuer;
  let failingKeySet: Server;
  let failingKeySetUrl: string;
  before(async () => {
    [issuer, stranger] = await Promise.all([startTestTokenIssuer(), startTestTokenIssuer()]);
    failingKeySet = createServer((_request, response) => response.writeHead(503).end("down for maintenance"));
    await new Promise<void>((resolve) => failingKeySet.listen(0, "127.0.0.1", resolve));
    failingKeySetUrl = `http://127.0.0.1:${(failingKeySet.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  after(async () => {
    await Promise.all([issuer.stop(), stranger.stop()]);
    await new Promise((resolve) => failingKeySet.close(resolve));
  });

  it("answers UNAVAILABLE, not UNAUTHENTICATED, when nothing listens where the key set should be", async () => {
    const verifier = new TokenVerifier({
      ...issuer,
      jwksUrl: `http://127.0.0.1:${await freePort()}/jwks.json`,
      registry: new Registry(),
    });
    await assert.rejects(verifier.verify(await issuer.sign("user-4")), UnavailableError);
  });

  it("answers UNAVAILABLE when the key set's server fails", async () => {
    const verifier = new TokenVerifier({ ...issuer, jwksUrl: failingKeySetUrl, registry: new Registry() });
    await assert.rejects(verifier.verify(await issuer.sign("user-5")), UnavailableError);
  });

  it("still answers UNAUTHENTICATED for a token that is bad on its own, or signed by a key not in the set", async () => {
    const unreachable = new TokenVerifier({
      ...issuer,
      jwksUrl: `http://127.0.0.1:${await freePort()}/jwks.json`,
      registry: new Registry(),
    });
    await assert.rejects(unreachable.verify("not.a.token"), UnauthenticatedError);
    const verifier = new TokenVerifier({ ...issuer, registry: new Registry() });
    await assert.rejects(verifier.verify(await stranger.sign("user-6")), UnauthenticatedError);
  });
});
