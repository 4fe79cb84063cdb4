/** The Prometheus rule files in prometheus/rules, read as data. */
import { readdirSync, readFileSync } from "node:fs";
import { parse } from "yaml";

export const rulesDir = new URL("./rules/", import.meta.url);

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: Rule[];
}

/** The absolute paths of the rule files. */
export function ruleFiles(): string[] {
  return readdirSync(rulesDir)
    .filter((name) => name.endsWith(".yaml"))
    .sort()
    .map((name) => new URL(name, rulesDir).pathname);
}

export function ruleGroups(): RuleGroup[] {
  return ruleFiles().flatMap((file) => (parse(readFileSync(file, "utf8")) as { groups: RuleGroup[] }).groups);
}

export function rules(): Rule[] {
  return ruleGroups().flatMap((group) => group.rules);
}
