/**
 * Where a process's CPU time went, from a V8 `.cpuprofile` (node --cpu-prof): time by package (self: in the
 * package's own code; inclusive: with the package anywhere on the stack) and the hottest functions. Samples
 * can be limited to a window of the monotonic clock (e.g. while load ran), which leaves start-up out.
 *
 *   npx tsx tools/bench/profile-summary.ts file.cpuprofile [--top 25]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { isMain, table } from "./report.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled CPU milliseconds in the window (idle excluded). */
  busyMs: number;
  byPackage: Array<{ name: string; selfMs: number; inclusiveMs: number }>;
  hottest: Array<{ name: string; where: string; selfMs: number }>;
}

/** The part of the code a profile location belongs to: a package, a workspace, Node itself or V8. */
export function packageOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "V8/native";
  if (url.startsWith("node:")) return "node:internals";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + "/node_modules/".length).split("/");
    return scope?.startsWith("@") ? `${scope}/${name}` : (scope ?? url);
  }
  const workspace = /\/(services\/[^/]+|gen|tools\/[^/]+|dist)\//.exec(url);
  return workspace?.[1] ?? url;
}

/**
 * The most one sample may weigh, in microseconds: twice the sampling interval (the profile's median gap).
 * V8 weighs a sample by the wall time since the previous one; a thread that waited for a core meanwhile (a
 * busy, shared machine) is sampled once when it runs again, with that whole wait as its weight. Capped, the
 * weights add up to about the CPU time the thread used, and a wait is not charged to the function it
 * interrupted.
 */
function sampleWeightCap(deltas: readonly number[]): number {
  const sorted = deltas.filter((delta) => delta > 0).sort((a, b) => a - b);
  return 2 * (sorted[Math.floor(sorted.length / 2)] ?? Number.POSITIVE_INFINITY);
}

/**
 * Summarises samples taken between `fromMicros` and `toMicros` (V8's monotonic clock, the same as
 * `process.hrtime`'s, in microseconds); the whole profile without them. Each sample weighs at most twice the
 * sampling interval (see sampleWeightCap).
 */
export function summariseProfile(
  profile: CpuProfile,
  window: { fromMicros?: number; toMicros?: number } = {},
  top = 20,
): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; selfMs: number }>();
  let busyMs = 0;
  let time = profile.startTime;
  const cap = sampleWeightCap(profile.timeDeltas);
  profile.samples.forEach((sampleId, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    time += delta;
    if (window.fromMicros !== undefined && time < window.fromMicros) return;
    if (window.toMicros !== undefined && time > window.toMicros) return;
    const node = byId.get(sampleId);
    if (!node || node.callFrame.functionName === "(idle)") return;
    const ms = Math.min(delta, cap) / 1000;
    busyMs += ms;
    const own = packageOf(node.callFrame.url, node.callFrame.functionName);
    self.set(own, (self.get(own) ?? 0) + ms);
    const onStack = new Set<string>();
    for (let id: number | undefined = sampleId; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id);
      if (frame && frame.callFrame.functionName !== "(root)")
        onStack.add(packageOf(frame.callFrame.url, frame.callFrame.functionName));
    }
    for (const name of onStack) inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
    const where = `${node.callFrame.url.replace(/^.*\/node_modules\//, "").replace(/^file:\/\/.*?\/(services|gen|tools|dist)\//, "$1/")}:${node.callFrame.lineNumber + 1}`;
    const key = `${node.callFrame.functionName}@${where}`;
    const entry = functions.get(key) ?? {
      name: node.callFrame.functionName || "(anonymous)",
      where,
      selfMs: 0,
    };
    entry.selfMs += ms;
    functions.set(key, entry);
  });
  return {
    busyMs,
    byPackage: [...new Set([...self.keys(), ...inclusive.keys()])]
      .map((name) => ({ name, selfMs: self.get(name) ?? 0, inclusiveMs: inclusive.get(name) ?? 0 }))
      .sort((a, b) => b.selfMs - a.selfMs),
    hottest: [...functions.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
  };
}

export function formatProfile(summary: ProfileSummary, top = 20): string {
  const share = (ms: number) => `${((100 * ms) / Math.max(summary.busyMs, 1)).toFixed(1)} %`;
  return [
    table(
      ["code", "self", "inclusive"],
      summary.byPackage
        .slice(0, top)
        .map((entry) => [entry.name, share(entry.selfMs), share(entry.inclusiveMs)]),
    ),
    "",
    table(
      ["hottest function", "where", "self"],
      summary.hottest.slice(0, top).map((entry) => [entry.name, entry.where, share(entry.selfMs)]),
    ),
  ].join("\n");
}

export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
}

if (isMain(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "25" } },
  });
  const top = Number(values.top);
  for (const path of positionals) {
    const summary = summariseProfile(readProfile(path), {}, top);
    console.log(`\n${path}: ${summary.busyMs.toFixed(0)} ms busy\n${formatProfile(summary, top)}`);
  }
}
