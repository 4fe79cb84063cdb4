import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { rename } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { Registry } from "prom-client";
import { REPOSITORY_FLAGS_FILE } from "../config.js";
import { captureLogs } from "../testing/events-test-kit.js";
import { copyFlagFile, type FlagFileCopy } from "../testing/flag-file-copy.js";
import { waitFor } from "../testing/wait-for.js";
import { FlagDefinitions, flagFileProblem } from "./definitions.js";
import { callerContext, type FeatureFlags, startFeatureFlags } from "./feature-flags.js";

const repositoryFlags = readFileSync(REPOSITORY_FLAGS_FILE, "utf8");
const withFlag = (flag: object) => JSON.stringify({ flags: { "some-flag": flag } });

describe("the repository's flag file", () => {
  it("is valid against flagd's schema (as shipped by @openfeature/flagd-core)", () => {
    assert.equal(flagFileProblem(repositoryFlags), undefined);
  });

  it("names flagd's schema, so that editors check it too", () => {
    assert.equal(JSON.parse(repositoryFlags).$schema, "https://flagd.dev/schema/v0/flags.json");
  });

  it("puts 10% of 10,000 generated users in the small-groups rollout, each user always the same way", () => {
    const definitions = new FlagDefinitions();
    definitions.replace(repositoryFlags);
    const again = new FlagDefinitions();
    again.replace(repositoryFlags);
    const key = "booking-group-discount-min-travelers";
    const users = Array.from({ length: 10_000 }, () => `user_${randomUUID().replaceAll("-", "")}`);
    let inRollout = 0;
    for (const userId of users) {
      const context = { targetingKey: userId, country: "FR" };
      const first = definitions.evaluator.resolveNumberEvaluation(key, 6, context);
      assert.equal(first.reason, "TARGETING_MATCH");
      if (first.variant === "four") inRollout++;
      // The same user, later, in another process: the same variant.
      assert.equal(definitions.evaluator.resolveNumberEvaluation(key, 6, context).variant, first.variant);
      assert.equal(again.evaluator.resolveNumberEvaluation(key, 6, context).variant, first.variant);
    }
    const share = inRollout / users.length;
    assert.ok(share >= 0.09 && share <= 0.11, `${(share * 100).toFixed(2)}% of users in the rollout`);
  });
});

describe("a flag file that is not valid", () => {
  const cases: Array<[string, string]> = [
    ["not JSON", "{ flags: "],
    ["no flags", JSON.stringify({ metadata: {} })],
    ["an unknown state", withFlag({ state: "ON", variants: { on: true }, defaultVariant: "on" })],
    [
      "a default variant it lacks",
      withFlag({ state: "ENABLED", variants: { on: true }, defaultVariant: "off" }),
    ],
    [
      "variants of mixed types",
      withFlag({ state: "ENABLED", variants: { a: true, b: "b" }, defaultVariant: "a" }),
    ],
    [
      "an unknown targeting operator",
      withFlag({
        state: "ENABLED",
        variants: { on: true, off: false },
        defaultVariant: "off",
        targeting: { whenever: [{ var: "country" }, "on"] },
      }),
    ],
  ];
  for (const [what, text] of cases) {
    it(`is refused for ${what}`, () => {
      assert.ok(flagFileProblem(text), `${what} was accepted`);
      const definitions = new FlagDefinitions();
      definitions.replace(repositoryFlags);
      const before = definitions.keys();
      assert.throws(() => definitions.replace(text));
      assert.deepEqual(definitions.keys(), before);
    });
  }
});

describe("feature flags of a process", () => {
  const exporter = new InMemorySpanExporter();
  const tracing = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let file: FlagFileCopy;
  let flags: FeatureFlags;
  const registry = new Registry();
  const logs = captureLogs("flags-spec");
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const found = (await registry.getSingleMetric(name)?.get())?.values.find((value) =>
      Object.entries(labels).every(([label, wanted]) => value.labels[label] === wanted),
    );
    return found?.value ?? 0;
  };
  const alice = callerContext({ userId: "user_alice", username: "alice", scopes: new Set<string>() }, "fr");
  const cacheOn = () => flags.client.getBooleanValue("booking-tour-facts-cache", true, alice);

  before(async () => {
    tracing.register();
    file = await copyFlagFile(REPOSITORY_FLAGS_FILE, { pollMs: 50 });
    flags = await startFeatureFlags({
      service: "flags-spec",
      file: file.path,
      pollMs: 50,
      logger: logs.logger,
      registry,
    });
  });
  after(async () => {
    flags.stop();
    await file.remove();
    await tracing.shutdown();
    trace.disable();
  });

  it("evaluates with the service, the user and the country in the context", async () => {
    const offer = (country: string) =>
      flags.client.getNumberDetails(
        "booking-regional-offer-basis-points",
        0,
        callerContext({ userId: "u1", username: "u1", scopes: new Set<string>() }, country),
      );
    assert.deepEqual(
      { value: (await offer("pt")).value, variant: (await offer("pt")).variant },
      { value: 500, variant: "iberia-launch" },
    );
    assert.equal((await offer("FR")).value, 0);
    assert.equal(alice.country, "FR");
    await file.edit((contents) => {
      const flag = contents.flags["booking-tour-facts-cache"];
      if (flag) flag.targeting = { if: [{ "===": [{ var: "service" }, "flags-spec"] }, "off", "on"] };
    });
    await waitFor("the cache turned off", async () => !(await cacheOn()), 2_000);
  });

  it("follows the file as it changes, within 2 s, and keeps the last good definitions when it breaks", async () => {
    await file.serve("booking-tour-facts-cache", "on");
    await waitFor("the cache turned on", cacheOn, 2_000);
    const refusedBefore = await metric("feature_flag_definition_loads_total", { result: "refused" });

    const started = performance.now();
    await file.serve("booking-tour-facts-cache", "off");
    await waitFor("the cache turned off", async () => !(await cacheOn()), 2_000);
    const flippedInMs = performance.now() - started;
    assert.ok(flippedInMs < 2_000, `took ${flippedInMs} ms`);
    assert.equal(await metric("feature_flag_definitions_valid"), 1);

    await file.write('{ "flags": { "booking-tour-facts-cache": { "state": "ENABLED" ');
    await waitFor(
      "the broken file refused",
      async () =>
        (await metric("feature_flag_definition_loads_total", { result: "refused" })) > refusedBefore,
      2_000,
    );
    assert.equal(await metric("feature_flag_definitions_valid"), 0);
    assert.equal(await cacheOn(), false, "a broken file changed nothing");
    const refusal = logs.lines.find(
      (line) => line.msg === "feature flag file refused; the flags in force are kept",
    );
    assert.ok(refusal, "the refusal was logged");
    assert.equal(refusal.level, "error");
    assert.match(String(refusal.problem), /not valid/);

    await file.write(repositoryFlags);
    await waitFor("the cache turned on", cacheOn, 2_000);
    assert.equal(await metric("feature_flag_definitions_valid"), 1);
  });

  it("counts each evaluation by flag and variant and adds it to the active span", async () => {
    const labels = { flag: "web-trip-planner", variant: "on", reason: "TARGETING_MATCH" };
    const before = await metric("feature_flag_evaluations_total", labels);
    await trace.getTracer("spec").startActiveSpan("a call", async (span) => {
      assert.equal(await flags.client.getBooleanValue("web-trip-planner", false, alice), true);
      span.end();
    });
    assert.equal(await metric("feature_flag_evaluations_total", labels), before + 1);
    const span = exporter.getFinishedSpans().find((finished) => finished.name === "a call");
    assert.deepEqual(
      span?.events.map((event) => [event.name, event.attributes]),
      [
        [
          "feature_flag.evaluation",
          {
            "feature_flag.key": "web-trip-planner",
            "feature_flag.result.reason": "targeting_match",
            "feature_flag.provider.name": "flagd-in-process",
            "feature_flag.result.variant": "on",
          },
        ],
      ],
    );
    const bob = callerContext({ userId: "user_bob", username: "bob", scopes: new Set<string>() });
    assert.equal(await flags.client.getBooleanValue("web-trip-planner", false, bob), false);
  });

  it("gives through valueOf what the client gives, reported the same way", async () => {
    await file.write(repositoryFlags);
    await waitFor("the repository's flags", async () => await cacheOn(), 2_000);
    const caller = (userId: string, username: string, country?: string) =>
      callerContext({ userId, username, scopes: new Set<string>() }, country);
    const contexts = [
      alice,
      caller("user_es", "pedro", "es"),
      ...Array.from({ length: 30 }, (_, index) => caller(`user_rollout_${index}`, `u${index}`, "PT")),
    ];
    // A number split by user, a number by country, a boolean by username, a flag of another type than the
    // default's, and one the file does not define.
    const cases: Array<[string, boolean | number | string]> = [
      ["booking-group-discount-min-travelers", 6],
      ["booking-regional-offer-basis-points", 0],
      ["web-trip-planner", false],
      ["web-trip-planner", "off"],
      ["undefined-flag", 7],
    ];
    /** The evaluations counter, by labels, as it stands (prom-client hands out its live entries). */
    const counts = async () =>
      new Map(
        ((await registry.getSingleMetric("feature_flag_evaluations_total")?.get())?.values ?? []).map(
          ({ labels, value }) => [JSON.stringify(labels), value],
        ),
      );
    const reported = async (run: () => Promise<unknown>) => {
      exporter.reset();
      const before = await counts();
      const value = await trace.getTracer("spec").startActiveSpan("a call", async (span) => {
        const result = await run();
        span.end();
        return result;
      });
      const counted = [...(await counts())].flatMap(([labels, count]) =>
        count === (before.get(labels) ?? 0) ? [] : [[JSON.parse(labels), count - (before.get(labels) ?? 0)]],
      );
      const events = exporter
        .getFinishedSpans()
        .flatMap((span) => span.events.map((event) => event.attributes));
      return { value, counted, events };
    };
    const seen = new Set<unknown>();
    for (const context of contexts) {
      for (const [key, defaultValue] of cases) {
        const byClient = await reported(async () => {
          switch (typeof defaultValue) {
            case "boolean":
              return flags.client.getBooleanValue(key, defaultValue, context);
            case "number":
              return flags.client.getNumberValue(key, defaultValue, context);
            default:
              return flags.client.getStringValue(key, defaultValue, context);
          }
        });
        const byValueOf = await reported(async () => flags.valueOf(key, defaultValue, context));
        assert.deepEqual(byValueOf, byClient, `${key} for ${JSON.stringify(context)}`);
        seen.add(JSON.stringify([key, byClient.value, byClient.counted]));
      }
    }
    // The cases met every answer that matters: both rollout variants, the offer, a mismatch and a missing flag.
    for (const wanted of [
      '["booking-group-discount-min-travelers",4',
      '["booking-group-discount-min-travelers",6',
      '["booking-regional-offer-basis-points",500',
      '"reason":"ERROR"',
    ]) {
      assert.ok(
        [...seen].some((entry) => String(entry).includes(wanted)),
        wanted,
      );
    }
  });

  it("keeps a followed value current as the file changes", async () => {
    const outage = await flags.follow(() => flags.client.getBooleanValue("payment-outage", false));
    assert.equal(outage.current(), false);
    await file.serve("payment-outage", "on");
    await waitFor("the followed value", async () => outage.current(), 2_000);
    await file.serve("payment-outage", "off");
    await waitFor("the followed value back", async () => !outage.current(), 2_000);
  });

  it("gives the code's default, reported as an error, for a flag the file does not define", async () => {
    const details = await flags.client.getBooleanDetails("no-such-flag", true, alice);
    assert.deepEqual([details.value, details.reason, details.errorCode], [true, "ERROR", "FLAG_NOT_FOUND"]);
    assert.equal(
      await metric("feature_flag_evaluations_total", { flag: "no-such-flag", reason: "ERROR" }),
      1,
    );
  });
});

describe("feature flags started on a file that is missing", () => {
  it("start with no definitions, report it, and pick the file up once it appears", async () => {
    const file = await copyFlagFile(REPOSITORY_FLAGS_FILE);
    const missing = `${file.path}.missing`;
    const registry = new Registry();
    const logs = captureLogs("flags-spec");
    const flags = await startFeatureFlags({
      service: "s",
      file: missing,
      pollMs: 50,
      logger: logs.logger,
      registry,
    });
    try {
      const planner = () => flags.client.getBooleanValue("web-trip-planner", false, { username: "alice" });
      assert.equal(await planner(), false);
      assert.equal(
        (await registry.getSingleMetric("feature_flag_definitions_valid")?.get())?.values[0]?.value,
        0,
      );
      assert.ok(
        logs.lines.some((line) => line.level === "error" && /cannot read/.test(String(line.problem))),
      );
      await rename(file.path, missing);
      await waitFor("the file picked up", planner, 2_000);
    } finally {
      flags.stop();
      await file.remove();
    }
  });
});
