import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
import { OpenFeature } from "@openfeature/web-sdk";
import { REPOSITORY_FLAGS_FILE } from "@tourmesh/platform";
import {
  copyFlagFile,
  type FlagFileCopy,
  startTestTokenIssuer,
  type TestTokenIssuer,
  waitFor,
} from "@tourmesh/platform/testing";
import { type Stack, startStack } from "@tourmesh/stack";

/** Every flag flip must show within this long, with no restart. */
const FLIP_MS = 2_000;

describe("OFREP: the browser's flags, evaluated by the gateway from the same flag file", () => {
  let stack: Stack;
  let tokens: TestTokenIssuer;
  let flags: FlagFileCopy;
  let baseUrl: string;
  before(async () => {
    tokens = await startTestTokenIssuer();
    flags = await copyFlagFile();
    stack = await startStack({
      services: ["gateway"],
      prefix: "ofrep",
      jwksUrl: tokens.env.JWKS_URL,
      env: { "*": { ...tokens.env, ...flags.env } },
    });
    baseUrl = stack.gatewayUrl;
  });
  after(async () => {
    await OpenFeature.close();
    await stack?.stop();
    await tokens?.stop();
    await flags?.remove();
  });

  const bearer = async (username: string) => `Bearer ${await tokens.sign(`user_${username}`, { username })}`;
  const evaluate = async (
    path: string,
    { body = {}, authorization, etag }: { body?: unknown; authorization?: string; etag?: string } = {},
  ) => {
    const response = await fetch(`${baseUrl}/ofrep/v1/evaluate/flags${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(authorization ? { authorization } : {}),
        ...(etag ? { "if-none-match": etag } : {}),
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      etag: response.headers.get("etag") ?? "",
      body: text ? JSON.parse(text) : undefined,
    };
  };
  const planner = (body: { flags: Array<{ key: string; value?: unknown }> }) =>
    body.flags.find((flag) => flag.key === "web-trip-planner")?.value;

  it("evaluates every flag in bulk, the dark launch only for the users the file names", async () => {
    const anonymous = await evaluate("", { body: { context: { country: "es" } } });
    assert.equal(anonymous.status, 200);
    assert.deepEqual(anonymous.body.flags.map((flag: { key: string }) => flag.key).sort(), [
      "booking-group-discount-min-travelers",
      "booking-regional-offer-basis-points",
      "booking-tour-facts-cache",
      "catalog-read-cache",
      "payment-decline-rate",
      "payment-latency-ms",
      "payment-outage",
      "web-trip-planner",
    ]);
    assert.equal(planner(anonymous.body), false);
    const offer = anonymous.body.flags.find(
      (flag: { key: string }) => flag.key === "booking-regional-offer-basis-points",
    );
    assert.deepEqual(offer, {
      key: offer.key,
      value: 500,
      variant: "iberia-launch",
      reason: "TARGETING_MATCH",
      metadata: {},
    });

    assert.equal(planner((await evaluate("", { authorization: await bearer("alice") })).body), true);
    assert.equal(planner((await evaluate("", { authorization: await bearer("bob") })).body), false);
    // Who the user is comes from the token only.
    const claimed = await evaluate("", {
      body: { context: { username: "alice", targetingKey: "user_alice" } },
    });
    assert.equal(planner(claimed.body), false);

    // Each evaluation is counted and logged like a service's.
    const gateway = stack.process("gateway");
    const metrics = await (await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`)).text();
    assert.match(
      metrics,
      /^feature_flag_evaluations_total\{flag="web-trip-planner",variant="on",reason="TARGETING_MATCH"\} 1$/m,
    );
    const line = gateway.logs.findLast((logged) => logged.msg === "remote flag evaluation");
    assert.equal((line?.feature_flags as Record<string, string> | undefined)?.["web-trip-planner"], "off");
  });

  it("evaluates one flag, and answers as the protocol says for what it cannot", async () => {
    const alice = await bearer("alice");
    assert.deepEqual((await evaluate("/web-trip-planner", { authorization: alice })).body, {
      key: "web-trip-planner",
      value: true,
      variant: "on",
      reason: "TARGETING_MATCH",
      metadata: {},
    });
    const missing = await evaluate("/no-such-flag");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errorCode, "FLAG_NOT_FOUND");
    const notJson = await evaluate("/web-trip-planner", { body: "{ context" });
    assert.deepEqual([notJson.status, notJson.body.errorCode], [400, "INVALID_CONTEXT"]);
    const badBulk = await evaluate("", { body: { context: [1] } });
    assert.deepEqual([badBulk.status, badBulk.body.errorCode], [400, "INVALID_CONTEXT"]);
    assert.equal((await evaluate("", { authorization: "Bearer not-a-token" })).status, 401);
    assert.equal((await fetch(`${baseUrl}/ofrep/v1/evaluate/flags`)).status, 405);
  });

  it("answers 304 while nothing changed, and the new flags within 2 s of the file changing", async () => {
    const first = await evaluate("");
    assert.match(first.etag, /^".+"$/);
    assert.equal((await evaluate("", { etag: first.etag })).status, 304);
    await flags.serve("web-trip-planner", "on");
    await waitFor(
      "the launch for everyone",
      async () => {
        const now = await evaluate("", { etag: first.etag });
        return now.status === 200 && now.etag !== first.etag && planner(now.body) === true;
      },
      FLIP_MS,
    );
    await flags.write(readFileSync(REPOSITORY_FLAGS_FILE, "utf8"));
  });

  it("serves OpenFeature's web SDK through the OFREP web provider, which follows the file's changes", async () => {
    await flags.serve("web-trip-planner", "off");
    await flags.edit((contents) => {
      const flag = contents.flags["web-trip-planner"];
      assert.ok(flag);
      flag.targeting = { if: [{ in: [{ var: "username" }, ["alice"]] }, "on", "off"] };
    });
    await waitFor(
      "alice's launch",
      async () => planner((await evaluate("", { authorization: await bearer("alice") })).body) === true,
      FLIP_MS,
    );

    const provider = new OFREPWebProvider({
      baseUrl,
      headers: [["Authorization", await bearer("alice")]],
      pollInterval: 100,
      cacheMode: "disabled",
    });
    await OpenFeature.setProviderAndWait(provider);
    const client = OpenFeature.getClient();
    assert.equal(client.getBooleanValue("web-trip-planner", false), true);
    assert.equal(client.getNumberValue("booking-group-discount-min-travelers", 6) > 0, true);

    await flags.edit((contents) => {
      const flag = contents.flags["web-trip-planner"];
      if (flag) flag.targeting = { if: [{ in: [{ var: "username" }, ["olga"]] }, "on", "off"] };
    });
    await waitFor(
      "the launch withdrawn in the browser",
      async () => !client.getBooleanValue("web-trip-planner", true),
      FLIP_MS,
    );
  });
});
