import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authorizationTable, checkManifests, trafficSplits } from "./cross-checks.js";
import { nameOf } from "./kustomize.js";
import { clusterCheckOptions, overlayNames, renderOverlay } from "./overlays.js";
import { linkerdCrdsDir, loadLinkerdCrdValidators, validateWithCrds, validateWithModels } from "./schemas.js";

const crdValidators = loadLinkerdCrdValidators();
const overlays = new Map(overlayNames().map((name) => [name, renderOverlay(name)]));

const canaryOverlay = /^canary-(\d+)-(\d+)$/;
const faultOverlay = /^payment-faults-(\d+)$/;

describe("every overlay", () => {
  it("is a canary split or a payment fault, so that its weights are checked below", () => {
    for (const name of overlays.keys())
      assert.match(name, new RegExp(`${canaryOverlay.source}|${faultOverlay.source}`));
    assert.ok(overlays.size >= 4);
  });

  for (const [name, objects] of overlays) {
    describe(name, () => {
      it("validates against kubernetes-models and @kubernetes-models/gateway-api", () => {
        const problems = objects.flatMap((object) =>
          (validateWithModels(object) ?? []).map((problem) => `${nameOf(object)}: ${problem}`),
        );
        assert.deepEqual(problems, []);
      });

      it("validates against Linkerd's CRD schemas", (t) => {
        if (!crdValidators) {
          t.skip(`${linkerdCrdsDir} is absent: Linkerd resources are not schema-validated here`);
          return;
        }
        const problems = objects.flatMap((object) =>
          (validateWithCrds(object, crdValidators) ?? []).map((problem) => `${nameOf(object)}: ${problem}`),
        );
        assert.deepEqual(problems, []);
        const unknown = objects.filter(
          (object) => !validateWithModels(object) && !validateWithCrds(object, crdValidators),
        );
        assert.deepEqual(unknown.map(nameOf), [], "every object has a schema");
      });

      it("passes the cross-checks", () => {
        assert.deepEqual(checkManifests(objects, clusterCheckOptions()), []);
      });

      it("splits traffic as its name says", () => {
        const canary = canaryOverlay.exec(name);
        const fault = faultOverlay.exec(name);
        const catalog = canary
          ? { catalog: Number(canary[1]), "catalog-v2": Number(canary[2]) }
          : { catalog: 100, "catalog-v2": 0 };
        const payment = fault
          ? { payment: 100 - Number(fault[1]), "payment-faulty": Number(fault[1]) }
          : { payment: 1 };
        const catalogSplits = trafficSplits(objects, "catalog");
        const paymentSplits = trafficSplits(objects, "payment");
        assert.ok(
          catalogSplits.length >= 2 && paymentSplits.length >= 3,
          "every route of catalog and payment is labelled",
        );
        for (const split of catalogSplits) assert.deepEqual(split.weights, catalog, split.route);
        for (const split of paymentSplits) assert.deepEqual(split.weights, payment, split.route);
      });
    });
  }
});

describe("the payment fault", () => {
  it("is payment's own image answering every call UNAVAILABLE, only in the fault overlays", () => {
    for (const [name, objects] of overlays) {
      const faulty = objects.find(
        (object) => object.kind === "Deployment" && object.metadata.name === "payment-faulty",
      );
      if (!faultOverlay.test(name)) {
        assert.equal(faulty, undefined, `${name} runs no faulty payment`);
        continue;
      }
      assert.ok(faulty, `${name} runs payment-faulty`);
      const [container] = (
        faulty.spec as { template: { spec: { containers: Array<{ image: string; env: unknown[] }> } } }
      ).template.spec.containers;
      assert.equal(container?.image, "tourmesh/payment");
      assert.deepEqual(
        container?.env.find((variable) => (variable as { name: string }).name === "PAYMENT_OUTAGE"),
        { name: "PAYMENT_OUTAGE", value: "true" },
      );
    }
  });
});

describe("zero trust", () => {
  // The callers of DESIGN.md (and review → catalog, for a reviewed tour's operator), and nothing more: every
  // target any policy opens, with who it lets in.
  const vizPrometheus = ["prometheus.linkerd-viz"];
  const prometheus = ["prometheus"];
  const everyServiceButGateway = ["booking", "catalog", "identity", "notification", "payment", "review"];
  const expected: Record<string, string[]> = {
    "GRPCRoute/catalog-grpc-api": ["booking", "gateway", "review"],
    "GRPCRoute/booking-grpc-api": ["gateway", "review"],
    "GRPCRoute/payment-grpc-api": ["booking"],
    "GRPCRoute/notification-grpc-api": ["gateway"],
    "GRPCRoute/review-grpc-api": ["gateway"],
    "GRPCRoute/identity-grpc-api": ["gateway"],
    "HTTPRoute/identity-jwks": ["booking", "catalog", "gateway", "notification", "review"],
    "Server/nats-client": ["booking", "catalog", "notification", "payment", "review"],
    "Server/postgres": everyServiceButGateway,
    "Server/redis": ["catalog"],
    // The edge takes anyone; the app authenticates users by JWT.
    "Server/gateway-http": ["any client"],
    // Kubelet probes: gRPC health checks and the proxies' own /live and /ready.
    ...Object.fromEntries(
      everyServiceButGateway.map((service) => [`GRPCRoute/${service}-grpc-health`, ["any client"]]),
    ),
    "HTTPRoute/linkerd-proxy-probes": ["any client"],
    "HTTPRoute/linkerd-proxy-metrics": vizPrometheus,
    ...Object.fromEntries(
      ["gateway", ...everyServiceButGateway].map((service) => [
        `HTTPRoute/${service}-metrics-scrape`,
        prometheus,
      ]),
    ),
    // Observability: only the services send to the collector, only it writes to the stores, only Grafana
    // reads them; Loki's own probe path is open to the kubelet.
    "HTTPRoute/otel-collector-otlp": ["gateway", ...everyServiceButGateway],
    "Server/jaeger-otlp": ["otel-collector"],
    "HTTPRoute/loki-push": ["otel-collector"],
    "Server/prometheus-http": ["grafana"],
    "Server/jaeger-query": ["grafana"],
    "HTTPRoute/loki-query": ["grafana"],
    "HTTPRoute/loki-probes": ["any client"],
  };
  const inNamespace = (entries: string[]) =>
    entries
      .map((entry) => (entry.includes(".") || entry === "any client" ? entry : `${entry}.tourmesh`))
      .sort();

  for (const [name, objects] of overlays) {
    it(`${name}: only the callers of DESIGN.md are authorized`, () => {
      const want = Object.fromEntries(
        Object.entries(expected).map(([target, entries]) => [target, inNamespace(entries)]),
      );
      assert.deepEqual(authorizationTable(objects), want);
    });
  }
});
