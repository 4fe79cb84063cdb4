import * as assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { promtoolFor, runPromtool } from "../promtool.js";
import { ruleFiles, rules } from "./rules.js";

const testsDir = new URL("./tests/", import.meta.url);
const testFiles = readdirSync(testsDir)
  .filter((name) => name.endsWith(".test.yaml"))
  .sort()
  .map((name) => new URL(name, testsDir));

interface ExpectedAlert {
  exp_labels?: Record<string, string>;
  exp_annotations?: Record<string, string>;
}

interface RulesTestFile {
  rule_files: string[];
  tests: Array<{
    name: string;
    alert_rule_test?: Array<{ alertname: string; eval_time: string; exp_alerts: ExpectedAlert[] }>;
  }>;
}

/**
 * An annotation as Prometheus renders it for an alert with these labels. Annotations here use no template
 * but `{{ $labels.<name> }}`, so that the tests can expect them without copying their text; anything else
 * fails, rather than be expected wrongly.
 */
function rendered(template: string, labels: Record<string, string>): string {
  const text = template.replace(/\{\{\s*\$labels\.(\w+)\s*\}\}/g, (_match, name: string) => {
    const value = labels[name];
    if (value === undefined) throw new Error(`the expected alert has no label "${name}" for: ${template}`);
    return value;
  });
  if (text.includes("{{")) throw new Error(`annotations may only use {{ $labels.<name> }}: ${template}`);
  return text;
}

const readTests = async (file: URL) => parse(await readFile(file, "utf8")) as RulesTestFile;

/** A test file with every expected alert's annotations rendered from its rule, and absolute rule paths. */
async function completedTests(file: URL): Promise<RulesTestFile> {
  const tests = await readTests(file);
  const alerts = new Map(rules().flatMap((rule) => (rule.alert ? [[rule.alert, rule] as const] : [])));
  for (const group of tests.tests) {
    for (const check of group.alert_rule_test ?? []) {
      const rule = alerts.get(check.alertname);
      if (rule === undefined)
        throw new Error(`"${group.name}" tests an alert no rule defines: ${check.alertname}`);
      for (const expected of check.exp_alerts) {
        expected.exp_annotations ??= Object.fromEntries(
          Object.entries(rule.annotations ?? {}).map(([name, template]) => [
            name,
            rendered(template, { ...expected.exp_labels }),
          ]),
        );
      }
    }
  }
  tests.rule_files = tests.rule_files.map((ruleFile) => new URL(ruleFile, file).pathname);
  return tests;
}

describe("the Prometheus rules", () => {
  it("pass promtool check rules", async (t) => {
    const promtool = promtoolFor(t);
    if (!promtool) return;
    const { code, output } = await runPromtool(promtool, ["check", "rules", ...ruleFiles()]);
    assert.equal(code, 0, output);
  });

  it("give every alert a summary, a description and a runbook, and a severity of page or ticket", () => {
    const alerts = rules().filter((rule) => rule.alert);
    assert.ok(alerts.length > 0);
    for (const rule of alerts) {
      assert.deepEqual(
        Object.keys(rule.annotations ?? {}).sort(),
        ["description", "runbook", "summary"],
        rule.alert,
      );
      assert.match(rule.labels?.severity ?? "", /^(page|ticket)$/, rule.alert);
    }
  });

  it("test every alert both firing on a bad series and silent on a good one", async () => {
    const checks = (await Promise.all(testFiles.map(readTests))).flatMap((tests) =>
      tests.tests.flatMap((group) => group.alert_rule_test ?? []),
    );
    for (const rule of rules().filter((candidate) => candidate.alert)) {
      const own = checks.filter((check) => check.alertname === rule.alert);
      assert.ok(
        own.some((check) => check.exp_alerts.length > 0),
        `no test where ${rule.alert} fires`,
      );
      assert.ok(
        own.some((check) => check.exp_alerts.length === 0),
        `no test where ${rule.alert} stays silent`,
      );
    }
  });

  it("pass their promtool unit tests", async (t) => {
    const promtool = promtoolFor(t);
    if (!promtool) return;
    assert.ok(testFiles.length > 0);
    const dir = await mkdtemp(join(tmpdir(), "tourmesh-rules-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    // One promtool per file, side by side: the slow-burn file alone takes seconds of evaluation.
    const runs = await Promise.all(
      testFiles.map(async (file, index) => {
        const path = join(dir, `${index}.test.yaml`);
        await writeFile(path, stringify(await completedTests(file), { lineWidth: 0 }));
        return runPromtool(promtool, ["test", "rules", path]);
      }),
    );
    for (const { code, output } of runs) assert.equal(code, 0, output);
  });
});
