import * as assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { TokenVerifier } from "./auth.js";
import { UnauthenticatedError, UnavailableError } from "./errors.js";
import { freePort } from "./testing/free-port.js";
import { startTestTokenIssuer, type TestTokenIssuer } from "./testing/test-tokens.js";

describe("TokenVerifier's memory of verified tokens", () => {
  let issuer: TestTokenIssuer;
  let verifier: TokenVerifier;
  before(async () => {
    issuer = await startTestTokenIssuer();
    verifier = new TokenVerifier(issuer);
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
    });
    await assert.rejects(verifier.verify(await issuer.sign("user-4")), UnavailableError);
  });

  it("answers UNAVAILABLE when the key set's server fails", async () => {
    const verifier = new TokenVerifier({ ...issuer, jwksUrl: failingKeySetUrl });
    await assert.rejects(verifier.verify(await issuer.sign("user-5")), UnavailableError);
  });

  it("still answers UNAUTHENTICATED for a token that is bad on its own, or signed by a key not in the set", async () => {
    const unreachable = new TokenVerifier({
      ...issuer,
      jwksUrl: `http://127.0.0.1:${await freePort()}/jwks.json`,
    });
    await assert.rejects(unreachable.verify("not.a.token"), UnauthenticatedError);
    const verifier = new TokenVerifier(issuer);
    await assert.rejects(verifier.verify(await stranger.sign("user-6")), UnauthenticatedError);
  });
});
