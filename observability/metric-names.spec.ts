/**
 * The dashboards and the rules name only series that exist: the whole stack is started (each service on a
 * fresh database of its own, on free ports) and every service's /metrics is read, so a metric
 * renamed or never registered in a service fails here rather than leave a panel or an alert empty.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Stack, services, startStack } from "@tourmesh/stack";
import { exposedNames, prometheusOwnNames } from "./exposition.js";
import { dashboards } from "./grafana/dashboards.js";
import { rules } from "./prometheus/rules.js";
import { metricNames, withGrafanaVariables } from "./promql.js";

describe("the metric names the dashboards and rules use", () => {
  let stack: Stack;
  /** Each service's exposed series names. */
  const exported = new Map<string, string[]>();

  before(async () => {
    stack = await startStack({ prefix: "metrics", readyTimeoutMs: 180_000 });
    for (const [name, service] of stack.processes) {
      const response = await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`);
      exported.set(name, exposedNames(await response.text()));
    }
  });
  after(async () => {
    await stack?.stop();
  });

  const exportedBy = (metric: string) =>
    [...exported]
      .filter(([, names]) => names.includes(metric))
      .map(([name]) => name)
      .sort();

  it("are each exported by a service, recorded by a rule, or made by Prometheus", () => {
    const recorded = rules().flatMap((rule) => (rule.record ? [rule.record] : []));
    const known = new Set([...[...exported.values()].flat(), ...recorded, ...prometheusOwnNames]);
    const uses = [
      ...dashboards.flatMap((dashboard) =>
        dashboard.rows.flatMap((row) =>
          row.panels.flatMap((panel) =>
            panel.queries.map((query) => ({
              where: `${dashboard.title} / ${panel.title}`,
              expr: withGrafanaVariables(query.expr),
            })),
          ),
        ),
      ),
      ...rules().map((rule) => ({ where: `rule ${rule.record ?? rule.alert}`, expr: rule.expr })),
    ];
    assert.ok(uses.length > 50);
    const unknown = uses.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !known.has(name))
        .map((name) => `${where}: ${name}`),
    );
    assert.deepEqual(unknown, []);
  });

  it("come from where the dashboards expect them: every service, its database, its verifier, its events, booking's saga", () => {
    const all = services.map((service) => service.name).sort();
    const withDatabase = services.flatMap((service) => (service.database ? [service.name] : [])).sort();
    assert.deepEqual(exportedBy("grpc_server_handled_total"), all);
    assert.deepEqual(exportedBy("nodejs_eventloop_lag_p99_seconds"), all);
    assert.deepEqual(exportedBy("db_query_duration_seconds_bucket"), withDatabase);
    assert.deepEqual(exportedBy("db_query_errors_total"), withDatabase);
    const verifying = services.flatMap((service) => (service.verifiesTokens ? [service.name] : []));
    // Identity counts refused sign-ins; every service that verifies tokens counts refused tokens.
    assert.deepEqual(exportedBy("auth_failures_total"), [...verifying, "identity"].sort());
    assert.deepEqual(exportedBy("jwt_verify_duration_seconds_bucket"), [...verifying].sort());
    assert.deepEqual(exportedBy("events_dead_letters"), [
      "booking",
      "catalog",
      "notification",
      "payment",
      "review",
    ]);
    for (const metric of [
      "booking_settle_attempts_total",
      "booking_payment_circuit_state",
      "bookings_pending_payment",
      "bookings_pending_payment_oldest_age_seconds",
    ]) {
      assert.deepEqual(exportedBy(metric), ["booking"], metric);
    }
  });
});
