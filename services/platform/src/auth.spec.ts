import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { TokenVerifier } from "./auth.js";
import { UnauthenticatedError } from "./errors.js";
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
