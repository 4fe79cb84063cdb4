import * as assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, RetryInfoSchema } from "@tourmesh/gen/google/rpc/error_details_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { createClient, type ServiceClient, TokenVerifier } from "@tourmesh/platform";
import { createTestDatabase, type TestDatabase } from "@tourmesh/platform/testing";
import type { ServiceProcess } from "@tourmesh/stack";
import { startService } from "@tourmesh/stack/testing";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { Registry } from "prom-client";
import { FIRST_LOCK_MS, FREE_FAILURES, lockAfterFailures, MAX_LOCK_MS } from "./sign-in-throttle.js";

const ISSUER = "https://identity.tourmesh";
const AUDIENCE = "tourmesh";
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

interface Identity {
  process: ServiceProcess;
  client: ServiceClient<typeof IdentityService>;
  jwksUrl: string;
  stop(): Promise<void>;
}

async function startIdentity(
  databaseUrl: string,
  env: Record<string, string> = {},
  placement: { metricsPort?: number } = {},
): Promise<Identity> {
  const process = await startService("identity", { DATABASE_URL: databaseUrl, ...env }, placement);
  const client = createClient(IdentityService, `127.0.0.1:${process.port}`, { retries: false });
  return {
    process,
    client,
    jwksUrl: `http://127.0.0.1:${process.metricsPort}/.well-known/jwks.json`,
    async stop() {
      client.close();
      await process.stop();
    },
  };
}

async function signInError(
  client: ServiceClient<typeof IdentityService>,
  username: string,
  password: string,
) {
  try {
    await client.signIn({ username, password });
  } catch (error) {
    assert.ok(error instanceof ConnectError);
    return error;
  }
  assert.fail(`${username} signed in`);
}

function privateJwk(kind: "ec" | "ed25519", kid: string): Record<string, unknown> {
  const { privateKey } =
    kind === "ec" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("ed25519");
  return { ...privateKey.export({ format: "jwk" }), kid };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

describe("identity with the demo users", () => {
  let db: TestDatabase;
  let identity: Identity;

  before(async () => {
    db = await createTestDatabase("identity");
    identity = await startIdentity(db.url, { SEED_DEMO_USERS: "true" });
  });
  after(async () => {
    await identity?.stop();
    await db?.drop();
  });

  it("signs alice in with a short-lived ES256 token that the platform TokenVerifier accepts", async () => {
    const response = await identity.client.signIn({ username: "alice", password: "tourmesh-demo" });
    assert.equal(response.tokenType, "Bearer");
    assert.equal(response.expiresIn, 900);

    const header = decodeProtectedHeader(response.accessToken);
    assert.equal(header.alg, "ES256");
    const jwks = (await (await fetch(identity.jwksUrl)).json()) as { keys: Array<{ kid: string }> };
    assert.deepEqual(
      jwks.keys.map((key) => key.kid),
      [header.kid],
    );

    const claims = decodeJwt(response.accessToken);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.aud, AUDIENCE);
    assert.equal(claims.preferred_username, "alice");
    assert.match(String(claims.sub), /^user_[0-9a-f-]{36}$/);
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 900);
    assert.ok(Math.abs((claims.iat ?? 0) - Date.now() / 1000) < 60);

    const verifier = new TokenVerifier({
      jwksUrl: identity.jwksUrl,
      issuer: ISSUER,
      audience: AUDIENCE,
      registry: new Registry(),
    });
    assert.deepEqual(await verifier.verify(response.accessToken), {
      userId: claims.sub,
      username: "alice",
      scopes: new Set(["bookings:read", "bookings:write", "reviews:write", "notifications:read"]),
    });

    const again = decodeJwt(
      (await identity.client.signIn({ username: "Alice", password: "tourmesh-demo" })).accessToken,
    );
    assert.equal(again.sub, claims.sub, "a user keeps one id, whatever the case of the name typed");
    assert.notEqual(again.jti, claims.jti);
    const bob = decodeJwt(
      (await identity.client.signIn({ username: "bob", password: "tourmesh-demo" })).accessToken,
    );
    assert.notEqual(bob.sub, claims.sub);
  });

  it("gives each demo user the scopes of their role: travellers book and review, the operator manages tours", async () => {
    const scopesOf = async (username: string) =>
      decodeJwt((await identity.client.signIn({ username, password: "tourmesh-demo" })).accessToken).scope;
    assert.equal(await scopesOf("alice"), "bookings:read bookings:write reviews:write notifications:read");
    assert.equal(await scopesOf("bob"), "bookings:read bookings:write reviews:write notifications:read");
    assert.equal(await scopesOf("olga"), "tours:write notifications:read");
  });

  it("answers a wrong password and an unknown user alike: same code, same message, similar time", async () => {
    const wrongPassword: number[] = [];
    const unknownUser: number[] = [];
    const messages = new Set<string>();
    for (let round = 0; round < 3; round++) {
      for (const [username, times] of [
        ["alice", wrongPassword],
        ["mallory", unknownUser],
      ] as const) {
        const started = performance.now();
        const error = await signInError(identity.client, username, "guess-1234");
        times.push(performance.now() - started);
        assert.equal(error.code, Code.Unauthenticated);
        messages.add(error.rawMessage);
      }
    }
    assert.deepEqual([...messages], ["wrong username or password"]);
    const metrics = await (await fetch(`http://127.0.0.1:${identity.process.metricsPort}/metrics`)).text();
    assert.match(
      metrics,
      /^auth_failures_total\{reason="wrong_credentials"\} 6$/m,
      "each refusal counted once",
    );
    // An unknown user still costs a password hash (~0.2 s); without it the answer would come ~100× sooner.
    const ratio = median(unknownUser) / median(wrongPassword);
    assert.ok(
      ratio > 1 / 3 && ratio < 3,
      `unknown ${median(unknownUser)} ms vs wrong ${median(wrongPassword)} ms`,
    );
  });

  it("refuses empty and overlong fields with INVALID_ARGUMENT and one violation per field", async () => {
    const cases: Array<[string, string, string[]]> = [
      ["", "tourmesh-demo", ["username"]],
      ["alice", "", ["password"]],
      ["a".repeat(65), "p".repeat(257), ["username", "password"]],
    ];
    for (const [username, password, fields] of cases) {
      const error = await signInError(identity.client, username, password);
      assert.equal(error.code, Code.InvalidArgument);
      const [badRequest] = error.findDetails(BadRequestSchema);
      assert.deepEqual(
        badRequest?.fieldViolations.map((violation) => violation.field),
        fields,
      );
    }
  });

  it("slows, then refuses for a while, failed sign-ins for one name: from any caller, known name or not", async () => {
    for (const username of ["bob", "nobody-at-all"]) {
      // Case does not make another name: "BOB" fails as "bob".
      for (let failure = 1; failure <= FREE_FAILURES + 1; failure++) {
        const error = await signInError(
          identity.client,
          failure % 2 ? username.toUpperCase() : username,
          "guess",
        );
        assert.equal(error.code, Code.Unauthenticated, `failure ${failure} of ${username}`);
      }
      // The failure after the free ones locked the name for a second: even the right password waits.
      const refused = await signInError(identity.client, username, "tourmesh-demo");
      assert.equal(refused.code, Code.ResourceExhausted);
      assert.match(refused.rawMessage, /^too many failed sign-ins for this username; retry in 1 s$/);
      const retryDelay = refused.findDetails(RetryInfoSchema)[0]?.retryDelay;
      const retryMs = Number(retryDelay?.seconds ?? 0n) * 1000 + (retryDelay?.nanos ?? 0) / 1e6;
      assert.ok(retryMs > 0 && retryMs <= FIRST_LOCK_MS, `retry in ${retryMs} ms`);
    }
    // Other names are not affected.
    await identity.client.signIn({ username: "alice", password: "tourmesh-demo" });

    await sleep(FIRST_LOCK_MS + 100);
    await identity.client.signIn({ username: "bob", password: "tourmesh-demo" });
    // The success cleared bob's failures: the next wrong password is a first failure, not a lock.
    assert.equal((await signInError(identity.client, "bob", "guess")).code, Code.Unauthenticated);
    assert.equal((await signInError(identity.client, "bob", "guess")).code, Code.Unauthenticated);
  });

  it("locks a name for a doubling time after the free failures, never longer than the cap", () => {
    const locks = Array.from({ length: 40 }, (_, index) => lockAfterFailures(index + 1));
    assert.deepEqual(locks.slice(0, FREE_FAILURES), [0, 0, 0, 0, 0]);
    assert.deepEqual(locks.slice(FREE_FAILURES, FREE_FAILURES + 4), [1_000, 2_000, 4_000, 8_000]);
    assert.equal(Math.max(...locks), MAX_LOCK_MS);
    assert.equal(locks.at(-1), MAX_LOCK_MS);
    assert.equal(lockAfterFailures(1_000_000), MAX_LOCK_MS);
  });

  it("publishes only public key members in its JWKS, with a short cache lifetime", async () => {
    const response = await fetch(identity.jwksUrl);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "public, max-age=60");
    const { keys } = (await response.json()) as { keys: Array<Record<string, unknown>> };
    assert.equal(keys.length, 1);
    for (const key of keys) {
      assert.deepEqual(Object.keys(key).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"]);
      for (const member of PRIVATE_MEMBERS) assert.equal(member in key, false, `the JWKS has "${member}"`);
    }
  });

  it("says in its log that an unconfigured signing key is ephemeral", () => {
    const warning = identity.process.logs.find((line) => /ephemeral key/.test(String(line.msg)));
    assert.equal(warning?.level, "warn");
  });
});

describe("identity without SEED_DEMO_USERS", () => {
  it("has no demo users", async (t) => {
    const db = await createTestDatabase("identity_unseeded");
    let identity: Identity | undefined;
    t.after(async () => {
      await identity?.stop();
      await db.drop();
    });
    identity = await startIdentity(db.url, { SEED_DEMO_USERS: "false" });
    for (const username of ["alice", "olga"]) {
      const error = await signInError(identity.client, username, "tourmesh-demo");
      assert.equal(error.code, Code.Unauthenticated, username);
    }
  });
});

describe("signing key rotation", () => {
  it("is picked up by a verifier that cached the old key set, without restarting it", async (t) => {
    const db = await createTestDatabase("identity_rotation");
    const started: Identity[] = [];
    t.after(async () => {
      for (const identity of started) await identity.stop();
      await db.drop();
    });
    const keyA = privateJwk("ec", "key-a");
    const keyB = privateJwk("ed25519", "key-b");

    const first = await startIdentity(db.url, {
      SEED_DEMO_USERS: "true",
      JWT_SIGNING_KEYS: JSON.stringify([keyA]),
    });
    started.push(first);
    const verifier = new TokenVerifier({
      jwksUrl: first.jwksUrl,
      issuer: ISSUER,
      audience: AUDIENCE,
      registry: new Registry(),
    });
    const tokenA = (await first.client.signIn({ username: "bob", password: "tourmesh-demo" })).accessToken;
    assert.equal(decodeProtectedHeader(tokenA).kid, "key-a");
    const bob = await verifier.verify(tokenA); // the verifier now holds the key set {A}
    const cachedAt = Date.now();
    await first.stop();

    // The new key is published next to the old one and signs from now on; same JWKS address.
    const second = await startIdentity(
      db.url,
      { SEED_DEMO_USERS: "true", JWT_SIGNING_KEYS: JSON.stringify([keyB, keyA]) },
      { metricsPort: first.process.metricsPort },
    );
    started.push(second);
    const tokenB = (await second.client.signIn({ username: "bob", password: "tourmesh-demo" })).accessToken;
    assert.deepEqual(decodeProtectedHeader(tokenB), { alg: "EdDSA", kid: "key-b", typ: "at+jwt" });

    // The verifier refetches on an unknown kid at most every 5 s (jose's cooldown, against fetch storms).
    await sleep(Math.max(0, cachedAt + 5_100 - Date.now()));
    assert.deepEqual(await verifier.verify(tokenB), bob, "a token of the new key verifies");
    assert.deepEqual(await verifier.verify(tokenA), bob, "a token of the old key still verifies");
  });
});
