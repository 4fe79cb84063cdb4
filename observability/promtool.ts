/** Debian's `promtool` (package `prometheus`), which checks and unit-tests the rules and PromQL here. */
import { execFile } from "node:child_process";
import type { TestContext } from "node:test";
import { findExecutable } from "./executable.js";

/** The promtool on PATH, or undefined when there is none. */
export function findPromtool(): string | undefined {
  return findExecutable("promtool");
}

/**
 * The promtool for a test. Without one the test is skipped, saying so, on a developer's machine; under CI
 * (CI=true), where .ci/run installs it, a missing promtool fails the test instead of passing it unchecked.
 */
export function promtoolFor(t: TestContext): string | undefined {
  const promtool = findPromtool();
  if (promtool !== undefined) return promtool;
  const message = "promtool is missing: install Debian's prometheus package (apt-get install prometheus)";
  if (process.env.CI === "true") throw new Error(message);
  t.skip(message);
  return undefined;
}

export interface PromtoolRun {
  code: number;
  /** stdout and stderr together, for the assertion message. */
  output: string;
}

export function runPromtool(promtool: string, args: string[]): Promise<PromtoolRun> {
  return new Promise((resolve, reject) => {
    execFile(promtool, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : undefined;
      if (code === undefined) reject(error);
      else resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
