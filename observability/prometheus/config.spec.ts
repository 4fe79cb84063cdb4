import * as assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { promtoolFor, runPromtool } from "../promtool.js";
import { renderPrometheusConfig } from "./config.js";
import { ruleFiles } from "./rules.js";

const targets = [
  { job: "gateway", address: "127.0.0.1:9450" },
  { job: "booking", address: "127.0.0.1:9452" },
  { job: "booking", address: "127.0.0.1:19452" },
];

describe("renderPrometheusConfig", () => {
  it("scrapes each service as one job, its replicas as targets, and loads the rules", () => {
    const config = parse(renderPrometheusConfig({ targets, interval: "5s" }));
    assert.deepEqual(config.global, { scrape_interval: "5s", evaluation_interval: "5s" });
    assert.deepEqual(config.scrape_configs, [
      { job_name: "gateway", metrics_path: "/metrics", static_configs: [{ targets: ["127.0.0.1:9450"] }] },
      {
        job_name: "booking",
        metrics_path: "/metrics",
        static_configs: [{ targets: ["127.0.0.1:9452", "127.0.0.1:19452"] }],
      },
    ]);
    const [pattern] = config.rule_files as string[];
    assert.ok(ruleFiles().every((file) => file.startsWith(pattern?.replace("*.yaml", "") ?? "-")));
  });

  it("refuses a target named twice, an address without a port, and a job name Prometheus would not take", () => {
    const render = (more: Array<{ job: string; address: string }>) => () =>
      renderPrometheusConfig({ targets: [...targets, ...more] });
    assert.throws(render([{ job: "gateway", address: "127.0.0.1:9450" }]), /named twice/);
    assert.throws(render([{ job: "catalog", address: "127.0.0.1" }]), /host:port/);
    assert.throws(render([{ job: "the catalog", address: "127.0.0.1:9451" }]), /job name/);
  });

  it("is a configuration promtool accepts, rules included", async (t) => {
    const promtool = promtoolFor(t);
    if (!promtool) return;
    const dir = await mkdtemp(join(tmpdir(), "tourmesh-prometheus-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "prometheus.yml");
    await writeFile(file, renderPrometheusConfig({ targets }));
    const { code, output } = await runPromtool(promtool, ["check", "config", file]);
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS: \d+ rules found/);
  });
});
