// Every check must be able to fail: each case breaks one thing in a correct rendering and expects the
// checker (or a schema) to name it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authorizationTable, checkManifests, parseDurationMs } from "./cross-checks.js";
import type { KubeObject } from "./kustomize.js";
import { clusterCheckOptions, renderOverlay } from "./overlays.js";
import type { Container, PodSpec } from "./policy.js";
import { loadLinkerdCrdValidators, validateWithCrds, validateWithModels } from "./schemas.js";

const correct = renderOverlay("canary-100-0");
const options = clusterCheckOptions();

// Accessors into a cloned rendering, for the cases below to break things with.
// biome-ignore lint/suspicious/noExplicitAny: the cases reach anywhere into the objects to break them
type Anything = Record<string, any>;
function find(objects: KubeObject[], kind: string, name: string): Anything {
  const object = objects.find((candidate) => candidate.kind === kind && candidate.metadata.name === name);
  assert.ok(object, `${kind} ${name} is in the rendering`);
  return object as Anything;
}
const podSpec = (objects: KubeObject[], name: string) =>
  find(objects, "Deployment", name).spec.template.spec as PodSpec;
const container = (objects: KubeObject[], name: string) => podSpec(objects, name).containers[0] as Container;

/** The ConfigMap a configMapGenerator made, whatever its content hash. */
function generated(objects: KubeObject[], name: string): Anything {
  const object = objects.find(
    (candidate) =>
      candidate.kind === "ConfigMap" && new RegExp(`^${name}-[a-z0-9]{10}$`).test(candidate.metadata.name),
  );
  assert.ok(object, `a generated ConfigMap ${name} is in the rendering`);
  return object as Anything;
}

/** Edits one file of a ConfigMap. */
function editConfig(objects: KubeObject[], name: string, key: string, edit: (text: string) => string): void {
  const data = find(objects, "ConfigMap", name).data;
  const edited = edit(data[key]);
  assert.notEqual(edited, data[key], `the edit changes ${name}/${key}`);
  data[key] = edited;
}

function problemsAfter(breakIt: (objects: KubeObject[]) => void, checkOptions = options): string[] {
  const objects = structuredClone(correct);
  breakIt(objects);
  return checkManifests(objects, checkOptions);
}

function assertFound(problems: string[], expected: RegExp): void {
  assert.ok(
    problems.some((problem) => expected.test(problem)),
    `expected a problem matching ${expected}, got:\n${problems.join("\n")}`,
  );
}

describe("the cross-checks", () => {
  it("pass the correct rendering", () => {
    assert.deepEqual(checkManifests(correct, options), []);
  });

  const cases: Array<[string, (objects: KubeObject[]) => void, RegExp]> = [
    // References
    [
      "a route's backend that does not exist",
      (o) => {
        find(o, "GRPCRoute", "catalog").spec.rules[0].backendRefs[1].name = "catalog-v3";
      },
      /GRPCRoute catalog: backend catalog-v3 does not exist/,
    ],
    [
      "a route's parent port the Service lacks",
      (o) => {
        find(o, "GRPCRoute", "booking").spec.parentRefs[0].port = 50099;
      },
      /parent Service booking has no port 50099/,
    ],
    [
      "an inbound route on a missing Server",
      (o) => {
        find(o, "GRPCRoute", "review-grpc-api").spec.parentRefs[0].name = "review-grcp";
      },
      /parent Server review-grcp does not exist/,
    ],
    [
      "a policy whose target does not exist",
      (o) => {
        find(o, "AuthorizationPolicy", "payment-grpc-api").spec.targetRef.name = "payment-api";
      },
      /target GRPCRoute payment-api does not exist/,
    ],
    [
      "a policy whose authentication does not exist",
      (o) => {
        find(o, "AuthorizationPolicy", "nats-client").spec.requiredAuthenticationRefs[0].name = "nats-client";
      },
      /MeshTLSAuthentication nats-client does not exist/,
    ],
    [
      "a Secret key no one generates",
      (o) => {
        const env = container(o, "identity").env ?? [];
        (env[1]?.valueFrom?.secretKeyRef as { key: string }).key = "JWT_KEYS";
      },
      /identity-jwt-keys\/JWT_KEYS, which does not exist/,
    ],
    [
      "a Service that selects no pod",
      (o) => {
        find(o, "Service", "catalog-v2").spec.selector["tourmesh.io/track"] = "beta";
      },
      /Service catalog-v2: its selector matches no pod/,
    ],
    [
      "an autoscaler of a missing Deployment",
      (o) => {
        find(o, "HorizontalPodAutoscaler", "booking").spec.scaleTargetRef.name = "bookings";
      },
      /Deployment bookings does not exist/,
    ],
    [
      "a missing ServiceAccount",
      (o) => {
        podSpec(o, "review").serviceAccountName = "reviews";
      },
      /ServiceAccount reviews does not exist/,
    ],
    // Probes
    [
      "a probe on a port the container does not serve",
      (o) => {
        (container(o, "catalog").readinessProbe as Anything).grpc.port = 50052;
      },
      /readiness probe targets port 50052, which it does not serve/,
    ],
    [
      "a gRPC probe the mesh would refuse",
      (o) => {
        o.splice(o.indexOf(find(o, "AuthorizationPolicy", "notification-grpc-health") as KubeObject), 1);
      },
      /the mesh refuses its liveness gRPC probe/,
    ],
    [
      "a liveness probe that asks for the overall status",
      (o) => {
        delete (container(o, "payment").livenessProbe as Anything).grpc.service;
      },
      /liveness probe asks for health of "", expected "liveness"/,
    ],
    [
      "a TCP probe, which a meshed pod always passes",
      (o) => {
        container(o, "review").readinessProbe = { tcpSocket: { port: 50055 } };
      },
      /TCP probe/,
    ],
    // Zero trust
    [
      "a namespace without default deny",
      (o) => {
        delete find(o, "Namespace", "tourmesh").metadata.annotations[
          "config.linkerd.io/default-inbound-policy"
        ];
      },
      /default-inbound-policy is not deny/,
    ],
    [
      "a port no Server covers",
      (o) => {
        container(o, "booking").ports?.push({ name: "debug", containerPort: 9229 });
      },
      /port debug has no Server/,
    ],
    [
      "an API open to unauthenticated clients",
      (o) => {
        find(o, "AuthorizationPolicy", "payment-grpc-api").spec.requiredAuthenticationRefs[0] = {
          group: "policy.linkerd.io",
          kind: "NetworkAuthentication",
          name: "all-networks",
        };
      },
      /lets unauthenticated clients reach GRPCRoute payment-grpc-api/,
    ],
    [
      "a health route with a rule that matches every call",
      (o) => {
        find(o, "GRPCRoute", "catalog-grpc-health").spec.rules.push({ matches: [] });
      },
      /lets unauthenticated clients reach GRPCRoute catalog-grpc-health/,
    ],
    [
      "a Server that lets everything through",
      (o) => {
        find(o, "Server", "postgres").spec.accessPolicy = "all-unauthenticated";
      },
      /accessPolicy all-unauthenticated bypasses/,
    ],
    [
      "an identity without its ServiceAccount",
      (o) => {
        find(o, "MeshTLSAuthentication", "payment-callers").spec.identities.push(
          "bookings.tourmesh.serviceaccount.identity.linkerd.cluster.local",
        );
      },
      /has no ServiceAccount bookings/,
    ],
    [
      "an identity from another namespace",
      (o) => {
        find(o, "MeshTLSAuthentication", "catalog-callers").spec.identities.push(
          "default.default.serviceaccount.identity.linkerd.cluster.local",
        );
      },
      /from another namespace/,
    ],
    // Wiring
    [
      "a service configured to call a peer that does not authorize it",
      (o) => {
        find(o, "ConfigMap", "catalog-config").data.REVIEW_ADDR = "review.tourmesh.svc.cluster.local:50055";
      },
      /Deployment catalog: REVIEW_ADDR=.*does not authorize catalog/,
    ],
    [
      "a peer's policy leaving out one of the contracts it serves its callers",
      (o) => {
        find(o, "GRPCRoute", "catalog-grpc-api").spec.rules[0].matches.pop();
      },
      /CATALOG_ADDR=.*: Deployment catalog does not authorize gateway to call tourmesh\.catalog\.v2\.CatalogService/,
    ],
    [
      "a peer address on a port the Service lacks",
      (o) => {
        find(o, "ConfigMap", "booking-config").data.PAYMENT_ADDR = "payment.tourmesh.svc.cluster.local:50054";
      },
      /Service payment has no port 50054/,
    ],
    [
      "a JWKS reader identity does not authorize",
      (o) => {
        find(o, "MeshTLSAuthentication", "identity-jwks-readers").spec.identities.shift();
      },
      /JWKS_URL=identity.tourmesh.svc.cluster.local:9456: Deployment identity does not authorize gateway/,
    ],
    [
      "the cache's Redis does not authorize catalog",
      (o) => {
        find(o, "MeshTLSAuthentication", "redis-clients").spec.identities = [
          "booking.tourmesh.serviceaccount.identity.linkerd.cluster.local",
        ];
      },
      /Deployment catalog: REDIS_URL=redis:6379: Deployment redis does not authorize catalog/,
    ],
    [
      "a read replica URL in a ConfigMap",
      (o) => {
        find(o, "ConfigMap", "catalog-config").data.DATABASE_READ_URL =
          "postgres://catalog:secret@postgres-replica:5432/catalog";
      },
      /ConfigMap catalog-config: DATABASE_READ_URL belongs in a Secret/,
    ],
    // Outbound routes
    [
      "a route timeout shorter than the app's deadline",
      (o) => {
        find(o, "GRPCRoute", "payment-charge").metadata.annotations["timeout.linkerd.io/request"] = "1500ms";
      },
      /request timeout 1500ms is shorter than the app's 2000 ms deadline for \/tourmesh.payment.v1.PaymentService\/Charge/,
    ],
    [
      "a route without a timeout",
      (o) => {
        delete find(o, "GRPCRoute", "identity").metadata.annotations["timeout.linkerd.io/request"];
      },
      /GRPCRoute identity: timeout.linkerd.io\/request is missing/,
    ],
    [
      "retries on a route that carries a non-idempotent method",
      (o) => {
        find(o, "GRPCRoute", "identity").metadata.annotations["retry.linkerd.io/grpc"] = "unavailable";
      },
      /retries \/tourmesh.identity.v1.IdentityService\/SignIn, which is not idempotent/,
    ],
    [
      "retries on other codes than UNAVAILABLE",
      (o) => {
        find(o, "GRPCRoute", "booking-idempotent").metadata.annotations["retry.linkerd.io/grpc"] =
          "unavailable,internal";
      },
      /only "unavailable" is safe/,
    ],
    [
      "an idempotent method no route retries",
      (o) => {
        find(o, "GRPCRoute", "catalog-idempotent").spec.rules[0].matches.splice(1, 1);
      },
      /no outbound route retries \/tourmesh.catalog.v1.CatalogService\/GetTour/,
    ],
    [
      "a route naming a method the contract lacks",
      (o) => {
        find(o, "GRPCRoute", "review-idempotent").spec.rules[0].matches[0].method.method = "ListReview";
      },
      /ReviewService has no method ListReview/,
    ],
    [
      "a ServiceProfile, which would turn the routes' annotations off",
      (o) => {
        o.push({
          apiVersion: "linkerd.io/v1alpha2",
          kind: "ServiceProfile",
          metadata: { name: "payment" },
          spec: {},
        });
      },
      /a ServiceProfile turns off/,
    ],
    // Workloads
    [
      "a writable root filesystem",
      (o) => {
        (container(o, "gateway").securityContext as Anything).readOnlyRootFilesystem = false;
      },
      /Deployment gateway container gateway: root filesystem is writable/,
    ],
    [
      "a container that may run as root",
      (o) => {
        delete (podSpec(o, "notification").securityContext as Anything).runAsNonRoot;
      },
      /Deployment notification container notification: may run as root/,
    ],
    [
      "a missing memory limit",
      (o) => {
        delete (container(o, "booking").resources as Anything).limits.memory;
      },
      /no memory limits/,
    ],
    [
      "a termination grace the drain does not fit in",
      (o) => {
        podSpec(o, "catalog-v2").terminationGracePeriodSeconds = 10;
      },
      /terminationGracePeriodSeconds 10 does not exceed its 12000 ms drain/,
    ],
    [
      "a deadline longer than the route timeouts assume",
      (o) => {
        find(o, "ConfigMap", "gateway-config").data.GATEWAY_MAX_DEADLINE_MS = "30000";
      },
      /GATEWAY_MAX_DEADLINE_MS=30000 exceeds the 15000 ms the route timeouts assume/,
    ],
    [
      "MESH_MODE off",
      (o) => {
        find(o, "ConfigMap", "review-config").data.MESH_MODE = "false";
      },
      /Deployment review container review: MESH_MODE is not "true"/,
    ],
    [
      "a database URL in a ConfigMap",
      (o) => {
        find(o, "ConfigMap", "payment-config").data.DATABASE_URL =
          "postgres://payment:secret@postgres:5432/payment";
      },
      /ConfigMap payment-config: DATABASE_URL belongs in a Secret/,
    ],
    [
      "a password in plain env",
      (o) => {
        const env =
          (find(o, "StatefulSet", "postgres").spec.template.spec.containers[0] as Container).env ?? [];
        env.push({ name: "CATALOG_DB_PASSWORD", value: "hunter2" });
      },
      /CATALOG_DB_PASSWORD must come from a Secret/,
    ],
    [
      "demo users in the cluster",
      (o) => {
        find(o, "ConfigMap", "identity-config").data.SEED_DEMO_USERS = "true";
      },
      /sets SEED_DEMO_USERS, a local-only setting/,
    ],
    [
      "an unpinned third-party image",
      (o) => {
        (find(o, "StatefulSet", "nats").spec.template.spec.containers[0] as Container).image = "nats:latest";
      },
      /image nats:latest is not pinned/,
    ],
    [
      "a flag ConfigMap that differs from flags/flags.json",
      (o) => {
        const data = find(o, "ConfigMap", "feature-flags").data;
        data["flags.json"] = data["flags.json"].replace('"defaultVariant": "off"', '"defaultVariant": "on"');
      },
      /ConfigMap feature-flags: flags.json differs from flags\/flags.json/,
    ],
    [
      "a flag ConfigMap that is not a valid flag file",
      (o) => {
        find(o, "ConfigMap", "feature-flags").data["flags.json"] = '{ "flags": { "x": { "state": "ON" } } }';
      },
      /flags.json is not a valid flag file/,
    ],
    [
      "a service that does not read the flags",
      (o) => {
        delete find(o, "ConfigMap", "review-config").data.FLAGS_FILE;
      },
      /Deployment review container review: FLAGS_FILE is not set/,
    ],
    [
      "flags mounted with subPath",
      (o) => {
        const container = find(o, "Deployment", "booking").spec.template.spec.containers[0] as Container;
        const mount = container.volumeMounts?.find((candidate) => candidate.name === "flags");
        assert.ok(mount);
        mount.mountPath = "/etc/tourmesh/flags/flags.json";
        mount.subPath = "flags.json";
        find(o, "ConfigMap", "booking-config").data.FLAGS_FILE = "/etc/tourmesh/flags/flags.json/flags.json";
      },
      /Deployment booking container booking: mounts feature-flags with subPath/,
    ],
    [
      "a gRPC Service port without h2c",
      (o) => {
        delete find(o, "Service", "notification").spec.ports[0].appProtocol;
      },
      /Service notification: gRPC port 50054 is not declared kubernetes.io\/h2c/,
    ],
    // Observability (observability.ts)
    [
      "a service whose metrics port Prometheus does not pick",
      (o) => {
        for (const port of container(o, "notification").ports ?? [])
          if (port.name === "metrics") port.name = "prom";
      },
      /no target has job="notification"/,
    ],
    [
      "a metrics port whose policy refuses Prometheus",
      (o) => {
        find(o, "AuthorizationPolicy", "catalog-metrics-scrape").spec.requiredAuthenticationRefs[0].name =
          "linkerd-viz-prometheus";
      },
      /target Deployment catalog:9451 \(job catalog\): the mesh refuses Prometheus's GET \/metrics/,
    ],
    [
      "a relabeling that names jobs otherwise than after the services",
      (o) => {
        editConfig(o, "prometheus-config", "prometheus.yml", (text) =>
          text.replace("pod_label_app_kubernetes_io_name]", "pod_container_name]"),
        );
        container(o, "gateway").name = "edge";
      },
      /no target has job="gateway"/,
    ],
    [
      "pod discovery in another namespace",
      (o) => {
        editConfig(o, "prometheus-config", "prometheus.yml", (text) =>
          text.replace("names: [tourmesh]", "names: [default]"),
        );
      },
      /does not look in namespace tourmesh/,
    ],
    [
      "rule files looked for where none are mounted",
      (o) => {
        editConfig(o, "prometheus-config", "prometheus.yml", (text) =>
          text.replace("/etc/prometheus/rules/*.yaml", "/etc/prometheus/rules/*.yml"),
        );
      },
      /rule_files \/etc\/prometheus\/rules\/\*\.yml matches no mounted file/,
    ],
    [
      "a service that exports no traces",
      (o) => {
        delete find(o, "ConfigMap", "payment-config").data.OTEL_EXPORTER_OTLP_ENDPOINT;
      },
      /Deployment payment container payment: no OTEL_EXPORTER_OTLP_ENDPOINT/,
    ],
    [
      "an OTLP endpoint that is not the collector",
      (o) => {
        find(o, "ConfigMap", "review-config").data.OTEL_EXPORTER_OTLP_ENDPOINT = "http://jaeger:4318";
      },
      /Deployment review container review: .*Service jaeger selects Deployment jaeger, not otel-collector/,
    ],
    [
      "an OTLP endpoint on a port the collector's Service lacks",
      (o) => {
        find(o, "ConfigMap", "booking-config").data.OTEL_EXPORTER_OTLP_ENDPOINT =
          "http://otel-collector:4317";
      },
      /Service otel-collector has no port 4317/,
    ],
    [
      "an OTLP endpoint where the collector receives nothing",
      (o) => {
        editConfig(o, "otel-collector-config", "config.yaml", (text) =>
          text.replace("0.0.0.0:4318", "0.0.0.0:4319"),
        );
      },
      /reaches port 4318, where the collector receives no OTLP\/HTTP/,
    ],
    [
      "a service the collector refuses",
      (o) => {
        const identities: string[] = find(o, "MeshTLSAuthentication", "otel-collector-senders").spec
          .identities;
        identities.splice(
          identities.indexOf("identity.tourmesh.serviceaccount.identity.linkerd.cluster.local"),
          1,
        );
      },
      /Deployment identity container identity: .*Deployment otel-collector refuses POST \/v1\/logs/,
    ],
    [
      "a collector exporting to a Service that does not exist",
      (o) => {
        editConfig(o, "otel-collector-config", "config.yaml", (text) =>
          text.replace("http://loki:3100", "http://lokki:3100"),
        );
      },
      /exporter otlphttp\/loki \(http:\/\/lokki:3100\/otlp\): lokki is not a Service of the namespace/,
    ],
    [
      "a log store that refuses the collector",
      (o) => {
        find(o, "AuthorizationPolicy", "loki-push").spec.requiredAuthenticationRefs[0].name = "grafana";
      },
      /exporter otlphttp\/loki .*StatefulSet loki refuses POST \/otlp\/v1\/logs/,
    ],
    [
      "a collector without a logs pipeline",
      (o) => {
        editConfig(o, "otel-collector-config", "config.yaml", (text) =>
          text.replace(/^ {4}logs:$/m, "    logs/unused:"),
        );
      },
      /no logs pipeline from the OTLP receiver/,
    ],
    [
      "a Grafana datasource on a port its Service lacks",
      (o) => {
        editConfig(o, "grafana-datasources", "datasources.yaml", (text) =>
          text.replace("http://prometheus:9090", "http://prometheus:9091"),
        );
      },
      /datasource Prometheus \(http:\/\/prometheus:9091\): Service prometheus has no port 9091/,
    ],
    [
      "a default datasource that is not the Prometheus",
      (o) => {
        editConfig(o, "grafana-datasources", "datasources.yaml", (text) =>
          text.replace("http://prometheus:9090", "http://loki:3100"),
        );
      },
      /Service loki selects StatefulSet loki, not prometheus/,
    ],
    [
      "a Prometheus that refuses Grafana",
      (o) => {
        find(o, "AuthorizationPolicy", "prometheus-http").spec.requiredAuthenticationRefs[0].name =
          "otel-collector";
      },
      /datasource Prometheus .*StatefulSet prometheus refuses GET \/api\/v1\/query/,
    ],
    [
      "a trace store that refuses Grafana",
      (o) => {
        find(o, "AuthorizationPolicy", "jaeger-query").spec.requiredAuthenticationRefs[0].name =
          "otel-collector";
      },
      /datasource Jaeger .*Deployment jaeger refuses GET \/api\/traces/,
    ],
    [
      "a dashboard in the cluster that differs from the generated one",
      (o) => {
        const data = generated(o, "grafana-dashboards").data;
        data["tourmesh-overview.json"] = data["tourmesh-overview.json"].replace("Golden signals", "Golden");
      },
      /Grafana's dashboards at \/var\/lib\/grafana-dashboards: ConfigMap grafana-dashboards-\w+ holds a tourmesh-overview.json that differs from the source/,
    ],
    [
      "a dashboard of the source missing in the cluster",
      (o) => {
        delete generated(o, "grafana-dashboards").data["tourmesh-events.json"];
      },
      /lacks tourmesh-events.json/,
    ],
    [
      "a rule file missing in the cluster",
      (o) => {
        delete generated(o, "prometheus-rules").data["slo.yaml"];
      },
      /Prometheus's rules at \/etc\/prometheus\/rules: ConfigMap prometheus-rules-\w+ lacks slo.yaml/,
    ],
    [
      "a rules ConfigMap not named by its content",
      (o) => {
        const rules = generated(o, "prometheus-rules");
        rules.metadata.name = "prometheus-rules";
        find(o, "StatefulSet", "prometheus").spec.template.spec.volumes[1].configMap.name =
          "prometheus-rules";
      },
      /ConfigMap prometheus-rules is not named by the hash of its content/,
    ],
    [
      "a probe route that opens more than probe paths",
      (o) => {
        find(o, "HTTPRoute", "loki-probes").spec.rules[0].matches[0].path.value = "/loki/api/v1/query";
      },
      /AuthorizationPolicy loki-probes: lets unauthenticated clients reach HTTPRoute loki-probes/,
    ],
  ];

  for (const [what, breakIt, expected] of cases) {
    it(`catch ${what}`, () => {
      assertFound(problemsAfter(breakIt), expected);
    });
  }

  // Secret values reach the wiring check whether a Secret holds them as stringData or as base64 data.
  for (const field of ["stringData", "data"] as const) {
    it(`catch a peer address from a Secret's ${field} on a port the Service lacks`, () => {
      const url = "postgres://catalog:password@postgres.tourmesh.svc.cluster.local:5433/catalog";
      const value = field === "data" ? Buffer.from(url).toString("base64") : url;
      const externalSecrets = options.externalSecrets.map((secret) =>
        secret.metadata.name === "catalog-database"
          ? {
              apiVersion: secret.apiVersion,
              kind: secret.kind,
              metadata: secret.metadata,
              [field]: { DATABASE_URL: value },
            }
          : secret,
      );
      assertFound(
        problemsAfter(() => undefined, { ...options, externalSecrets }),
        /Deployment catalog: DATABASE_URL=postgres.tourmesh.svc.cluster.local:5433: Service postgres has no port 5433/,
      );
    });
  }
});

describe("the authorization table", () => {
  it("shows a caller added to payment", () => {
    const objects = structuredClone(correct);
    find(objects, "MeshTLSAuthentication", "payment-callers").spec.identities.push(
      "review.tourmesh.serviceaccount.identity.linkerd.cluster.local",
    );
    assert.deepEqual(authorizationTable(objects)["GRPCRoute/payment-grpc-api"], [
      "booking.tourmesh",
      "review.tourmesh",
    ]);
  });
});

describe("durations", () => {
  it("parse as the Gateway API writes them", () => {
    assert.equal(parseDurationMs("15s"), 15_000);
    assert.equal(parseDurationMs("2500ms"), 2_500);
    assert.equal(parseDurationMs("1m30s"), 90_000);
    assert.ok(Number.isNaN(parseDurationMs("15")));
    assert.ok(Number.isNaN(parseDurationMs("1.5s")));
  });
});

describe("the schemas", () => {
  it("catch a core object of the wrong shape", () => {
    const deployment = structuredClone(find(correct, "Deployment", "gateway")) as KubeObject & Anything;
    deployment.spec.replicas = "two";
    assert.match((validateWithModels(deployment) ?? []).join(), /replicas must be integer/);
  });

  it("catch a route of the wrong shape", () => {
    const route = structuredClone(find(correct, "GRPCRoute", "catalog")) as KubeObject & Anything;
    route.spec.rules[0].backendRefs[0].weight = -1;
    assert.match((validateWithModels(route) ?? []).join(), /weight must be >= 0/);
  });

  it("catch an unknown field and a missing field in Linkerd resources", (t) => {
    const validators = loadLinkerdCrdValidators();
    if (!validators) {
      t.skip("../shared/schemas/linkerd-crds is absent: Linkerd resources are not schema-validated here");
      return;
    }
    const server = structuredClone(find(correct, "Server", "catalog-grpc")) as KubeObject & Anything;
    server.spec.proxyProtocl = "gRPC";
    assert.match((validateWithCrds(server, validators) ?? []).join(), /must NOT have additional properties/);
    const policy = structuredClone(find(correct, "AuthorizationPolicy", "catalog-grpc-api")) as KubeObject &
      Anything;
    delete policy.spec.requiredAuthenticationRefs;
    assert.match((validateWithCrds(policy, validators) ?? []).join(), /requiredAuthenticationRefs/);
  });
});
