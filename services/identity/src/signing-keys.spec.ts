import * as assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { issueAccessToken } from "./access-tokens.js";
import { generateSigningKey, parseSigningKeys, publicJwks } from "./signing-keys.js";

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

function privateJwk(kind: "ec" | "ed25519" | "rsa", kid: string): Record<string, unknown> {
  const { privateKey } =
    kind === "ec"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : kind === "ed25519"
        ? generateKeyPairSync("ed25519")
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid };
}

describe("signing keys", () => {
  it("reads ES256 and EdDSA private JWKs and publishes only their public members", () => {
    const ec = privateJwk("ec", "key-ec");
    const ed = privateJwk("ed25519", "key-ed");
    const keys = parseSigningKeys(JSON.stringify([ec, ed]));
    assert.deepEqual(
      keys.map((key) => [key.kid, key.alg]),
      [
        ["key-ec", "ES256"],
        ["key-ed", "EdDSA"],
      ],
    );
    const jwks = publicJwks(keys);
    assert.deepEqual(
      jwks.keys.map((jwk) => Object.keys(jwk).sort()),
      [
        ["alg", "crv", "kid", "kty", "use", "x", "y"],
        ["alg", "crv", "kid", "kty", "use", "x"],
      ],
    );
    for (const jwk of jwks.keys) {
      for (const member of PRIVATE_MEMBERS) assert.equal(member in jwk, false, `${jwk.kid} has ${member}`);
    }
    assert.equal(jwks.keys[0]?.x, ec.x);
  });

  it("refuses a bad key list with a message that names the key but never shows it", () => {
    const ec = privateJwk("ec", "key-ec");
    const { d: _d, ...publicOnly } = ec;
    const cases: Array<[string, RegExp]> = [
      ["not json", /JSON array/],
      ["[]", /non-empty/],
      [JSON.stringify({ ...ec }), /JSON array/],
      [JSON.stringify([{ ...ec, kid: undefined }]), /key 1: "kid" is required/],
      [JSON.stringify([publicOnly]), /key key-ec: not a private JWK/],
      [JSON.stringify([privateJwk("rsa", "key-rsa")]), /key key-rsa: only EC P-256/],
      [JSON.stringify([{ ...ec, alg: "EdDSA" }]), /key key-ec: "alg" EdDSA does not fit/],
      [JSON.stringify([ec, ec]), /kid key-ec is used twice/],
    ];
    for (const [json, expected] of cases) {
      assert.throws(
        () => parseSigningKeys(json),
        (error: Error) => expected.test(error.message) && !error.message.includes(String(ec.d)),
        json.slice(0, 40),
      );
    }
  });

  it("makes an ephemeral ES256 key named by its RFC 7638 thumbprint", async () => {
    const key = generateSigningKey();
    assert.equal(key.alg, "ES256");
    assert.equal(key.kid, await calculateJwkThumbprint(key.publicJwk));
    assert.notEqual(generateSigningKey().kid, key.kid);
  });
});

describe("access tokens", () => {
  it("are signed by the first key, name it, and carry the claims verifiers need", async () => {
    const keys = parseSigningKeys(JSON.stringify([privateJwk("ed25519", "new"), privateJwk("ec", "old")]));
    const [signingKey] = keys;
    assert.ok(signingKey);
    const settings = { issuer: "https://identity.test", audience: "tourmesh-test", ttlSeconds: 600 };
    const now = Date.now();
    const { token, expiresIn } = await issueAccessToken(
      signingKey,
      { userId: "user_1", username: "alice", role: "operator" },
      settings,
      now,
    );
    assert.equal(expiresIn, 600);
    assert.deepEqual(decodeProtectedHeader(token), { alg: "EdDSA", kid: "new", typ: "at+jwt" });
    const { payload } = await jwtVerify(token, createLocalJWKSet(publicJwks(keys)), {
      issuer: settings.issuer,
      audience: settings.audience,
    });
    assert.equal(payload.sub, "user_1");
    assert.equal(payload.scope, "tours:write notifications:read", "the scopes of the user's role");
    assert.equal(payload.preferred_username, "alice");
    assert.equal(payload.iat, Math.floor(now / 1000));
    assert.equal(payload.exp, Math.floor(now / 1000) + 600);
    assert.match(String(payload.jti), /^[0-9a-f-]{36}$/);
  });
});
