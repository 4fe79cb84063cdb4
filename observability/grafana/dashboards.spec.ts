import * as assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { withGrafanaVariables } from "../promql.js";
import { promtoolFor, runPromtool } from "../promtool.js";
import { dashboardFiles, datasource } from "./dashboards.js";

const dir = new URL("./dashboards/", import.meta.url);

interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface StoredPanel {
  id: number;
  type: string;
  title: string;
  gridPos: GridPos;
  datasource?: { type: string; uid: string };
  targets?: Array<{ refId?: string; expr?: string; datasource?: { type: string; uid: string } }>;
}

interface StoredDashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: Array<{ type: string; name: string; query?: unknown }> };
  panels: StoredPanel[];
}

/** The dashboards as committed: what Grafana would load. */
const stored = readdirSync(dir)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => ({
    name,
    dashboard: JSON.parse(readFileSync(new URL(name, dir), "utf8")) as StoredDashboard,
  }));

const overlaps = (a: GridPos, b: GridPos) =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe("the Grafana dashboards", () => {
  it("are what dashboards.ts generates (npm run generate:dashboards)", () => {
    const generated = dashboardFiles();
    assert.deepEqual(
      stored.map(({ name }) => name),
      [...generated.keys()].sort(),
    );
    for (const { name } of stored) {
      assert.equal(readFileSync(new URL(name, dir), "utf8"), generated.get(name), `${name} is out of date`);
    }
  });

  it("have the shape Grafana loads: unique uids and titles, laid-out panels, each with Prometheus queries", () => {
    assert.ok(stored.length >= 4);
    assert.equal(new Set(stored.map(({ dashboard }) => dashboard.uid)).size, stored.length);
    assert.equal(new Set(stored.map(({ dashboard }) => dashboard.title)).size, stored.length);
    for (const { name, dashboard } of stored) {
      assert.match(dashboard.uid, /^[A-Za-z0-9_-]{1,40}$/, name);
      assert.equal(name, `${dashboard.uid}.json`);
      assert.ok(dashboard.title.length > 0 && Number.isInteger(dashboard.schemaVersion), name);
      assert.ok(
        dashboard.templating.list.some(
          (variable) => variable.type === "datasource" && variable.name === "datasource",
        ),
        `${name} lets its reader pick the Prometheus`,
      );
      const ids = dashboard.panels.map((panel) => panel.id);
      assert.equal(new Set(ids).size, ids.length, `${name}: panel ids are unique`);
      dashboard.panels.forEach((panel, index) => {
        const where = `${name} / ${panel.title}`;
        assert.ok(Number.isInteger(panel.id) && panel.id > 0, where);
        assert.ok(panel.title.length > 0, where);
        const { x, y, w, h } = panel.gridPos;
        assert.ok(x >= 0 && w > 0 && h > 0 && y >= 0 && x + w <= 24, `${where}: within the 24-column grid`);
        for (const other of dashboard.panels.slice(index + 1)) {
          assert.ok(!overlaps(panel.gridPos, other.gridPos), `${where} overlaps ${other.title}`);
        }
        if (panel.type === "row") return;
        assert.deepEqual(panel.datasource, datasource, where);
        const targets = panel.targets ?? [];
        assert.ok(targets.length > 0, `${where} has queries`);
        assert.equal(new Set(targets.map((target) => target.refId)).size, targets.length, `${where}: refIds`);
        for (const target of targets) {
          assert.ok(target.refId && target.expr, where);
          assert.deepEqual(target.datasource, datasource, where);
        }
      });
    }
  });

  it("query valid PromQL: promtool accepts every panel query as a recording rule", async (t) => {
    const promtool = promtoolFor(t);
    if (!promtool) return;
    const queries = stored.flatMap(({ dashboard }) =>
      dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? "")),
    );
    assert.ok(queries.length > 20);
    const rules = {
      groups: [
        {
          name: "dashboard-queries",
          rules: queries.map((expr, index) => ({
            record: `dashboard_query_${index}`,
            expr: withGrafanaVariables(expr),
          })),
        },
      ],
    };
    const work = await mkdtemp(join(tmpdir(), "tourmesh-dashboards-"));
    t.after(() => rm(work, { recursive: true, force: true }));
    const file = join(work, "queries.yaml");
    await writeFile(file, stringify(rules));
    const { code, output } = await runPromtool(promtool, ["check", "rules", file]);
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`SUCCESS: ${queries.length} rules found`));
  });
});
