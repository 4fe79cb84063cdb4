import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Metadata } from "@grpc/grpc-js";
import { Registry } from "prom-client";
import { TokenVerifier } from "../auth.js";
import { UnauthenticatedError } from "../errors.js";
import { startTestTokenIssuer, type TestTokenIssuer } from "./test-tokens.js";

describe("startTestTokenIssuer with TokenVerifier", () => {
  let issuer: TestTokenIssuer;
  let stranger: TestTokenIssuer;
  let verifier: TokenVerifier;
  before(async () => {
    issuer = await startTestTokenIssuer();
    stranger = await startTestTokenIssuer();
    verifier = new TokenVerifier({ ...issuer, registry: new Registry() });
  });
  after(async () => {
    await issuer.stop();
    await stranger.stop();
  });

  const bearer = (token: string) => {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    return metadata;
  };

  it("issues tokens the platform verifier accepts, with the caller's id, name and scopes", async () => {
    const token = await issuer.sign("user-1", { username: "alice", scopes: ["tours:write", "x:y"] });
    assert.deepEqual(await verifier.authenticate(bearer(token)), {
      userId: "user-1",
      username: "alice",
      scopes: new Set(["tours:write", "x:y"]),
    });
    const everything = await verifier.authenticate(bearer(await issuer.sign("user-2")));
    assert.ok(everything.scopes.has("tours:write") && everything.scopes.has("bookings:write"));
  });

  it("serves a JWKS the verifier fetches, so a token of another key pair is refused", async () => {
    const forged = await stranger.sign("user-1");
    await assert.rejects(verifier.authenticate(bearer(forged)), UnauthenticatedError);
  });

  it("forges expired, wrong-audience and wrong-issuer tokens that are refused", async () => {
    for (const options of [
      { expiresInSeconds: -60 },
      { audience: "somebody-else" },
      { issuer: "https://evil.example" },
    ]) {
      const token = await issuer.sign("user-1", options);
      await assert.rejects(
        verifier.authenticate(bearer(token)),
        UnauthenticatedError,
        JSON.stringify(options),
      );
    }
  });

  it("refuses a call without a bearer token", async () => {
    await assert.rejects(verifier.authenticate(new Metadata()), UnauthenticatedError);
  });
});
