/**
 * The dashboards against a real Prometheus: the whole stack runs (free ports, fresh databases), a private
 * Prometheus scrapes it every second with the rules, a short open-loop load goes through the gateway, and
 * then every panel's query is asked of Prometheus's HTTP API as Grafana would ask it. Each must evaluate
 * without error and return data, but for the panels listed in `emptyAfterHealthyLoad`, which show what a
 * healthy system under this load never does.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { BookingService } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { type Stack, scrapeTargets, startStack } from "@tourmesh/stack";
import { runLoad } from "../tools/load/load-generator.js";
import { findExecutable } from "./executable.js";
import { dashboards } from "./grafana/dashboards.js";
import { prometheusMissing, type RunningPrometheus, startPrometheus } from "./prometheus/server.js";
import { withGrafanaVariables } from "./promql.js";

const LOAD_SECONDS = 15;
const LOAD_RATE = 8;

/**
 * Panel queries (dashboard / panel [legend]) that rightly return nothing after a healthy load, and why. The
 * spec asserts that they are empty too, so that a reason that stops being true is noticed.
 */
const emptyAfterHealthyLoad: Record<string, string> = {
  "tourmesh / Booking saga / Retries [{{outcome}}]":
    "a retry settles a booking whose payment went unanswered; payment answers every charge here",
  "tourmesh / Golden signals / Database query errors [{{job}} {{operation}}]":
    "no query fails against a healthy Postgres; the counter has a series only once one has",
  "tourmesh / Events / Dead letters [{{consumer}} moved/s]":
    "an event is dead-lettered only after its handler failed it every time; every handler succeeds here",
};

interface QueryResult {
  status: "success" | "error";
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

const panelQueries = dashboards.flatMap((dashboard) =>
  dashboard.rows.flatMap((row) =>
    row.panels.flatMap((panel) =>
      panel.queries.map((query) => ({
        where: `${dashboard.title} / ${panel.title} [${query.legend}]`,
        expr: withGrafanaVariables(query.expr),
      })),
    ),
  ),
);

const skip =
  findExecutable("prometheus") === undefined && process.env.CI !== "true" ? prometheusMissing : false;

describe("every dashboard query against Prometheus scraping the stack under load", { skip }, () => {
  let stack: Stack;
  let prometheus: RunningPrometheus;

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${prometheus.url}/api/v1/${path}`);
    return (await response.json()) as T;
  };

  before(async () => {
    stack = await startStack({ prefix: "live", readyTimeoutMs: 180_000 });
    prometheus = await startPrometheus({ targets: scrapeTargets(stack.processes.values()), interval: "1s" });
    const summary = await runLoad({
      gatewayUrl: stack.gatewayUrl,
      rate: LOAD_RATE,
      durationSeconds: LOAD_SECONDS,
      users: [
        { username: "alice", password: "tourmesh-demo" },
        { username: "bob", password: "tourmesh-demo" },
      ],
    });
    assert.ok(summary.completed > LOAD_RATE * LOAD_SECONDS * 0.5, `the load ran: ${JSON.stringify(summary)}`);
    // The load signs in right and sends valid tokens; these two calls are refused, at identity and at the
    // gateway's verifier, so the panels of refused calls and failed authentication have something to show.
    const gateway = createConnectTransport({ baseUrl: stack.gatewayUrl, httpVersion: "1.1" });
    await assert.rejects(
      createClient(IdentityService, gateway).signIn({ username: "alice", password: "not her password" }),
      /unauthenticated/,
    );
    await assert.rejects(
      createClient(BookingService, gateway).listBookings(
        { pageSize: 1 },
        { headers: { authorization: "Bearer not-a-token" } },
      ),
      /unauthenticated/,
    );
    // A few scrapes and rule evaluations after the last call, so that the rules have seen the load.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  });
  after(async () => {
    await prometheus?.stop();
    await stack?.stop();
  });

  it("scrapes every service, and every one is up", async () => {
    const { data } = await api<{
      data: { activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> };
    }>("targets");
    const health = Object.fromEntries(
      data.activeTargets.map((target) => [target.labels.job, `${target.health}${target.lastError}`]),
    );
    assert.deepEqual(health, Object.fromEntries([...stack.processes.keys()].map((name) => [name, "up"])));
  });

  it("evaluates every panel's query without error, with data but where a healthy load makes none", async () => {
    const empty: string[] = [];
    for (const { where, expr } of panelQueries) {
      const answer = await api<QueryResult>(`query?query=${encodeURIComponent(expr)}`);
      assert.equal(answer.status, "success", `${where}: ${expr}: ${answer.error}`);
      if ((answer.data?.result.length ?? 0) === 0) empty.push(where);
    }
    assert.ok(panelQueries.length > 40);
    assert.deepEqual(empty.sort(), Object.keys(emptyAfterHealthyLoad).sort());
  });
});
