/**
 * compose.yaml, made from the one topology (stack/src/topology.ts) and the cluster's manifests (mesh/base):
 * the same images, settings, restrictions, limits, probes and infrastructure as the cluster, on a Compose
 * network instead of a mesh. `npm run generate:compose` writes it; compose.spec.ts fails when the committed
 * file differs from what this makes.
 *
 * What differs from the cluster, and why:
 * - No mesh: MESH_MODE is left out, so the services retry UNAVAILABLE calls themselves (Linkerd does it there),
 *   and addresses are Compose's service names instead of the cluster's DNS names.
 * - No collector: OTEL_EXPORTER_OTLP_ENDPOINT is left out, so traces and logs stay in the containers' output
 *   (the cluster's observability is mesh/base/observability).
 * - One Postgres role: the services connect as `postgres` (trust, on the Compose network only, no port
 *   published) and each creates its own database on first start; the cluster gives each its own role and
 *   password from Secrets.
 * - Local settings: the topology's local-only settings (the demo users), as Tilt adds them; identity signs
 *   with an ephemeral key (tokens end with its container), where the cluster's comes from a Secret.
 * - The feature flags: the repository's flags/, mounted where the pods mount the feature-flags ConfigMap.
 * - The infrastructure containers run as their images intend (their entrypoints prepare their volumes as
 *   root): the pods' user and filesystem restrictions are held by the services' containers only.
 */
import { type ServiceSpec, services } from "@tourmesh/stack/topology";
import { Document } from "yaml";
import type { Probe } from "../../mesh/checks/policy.js";
import { imageName } from "../images/images.js";
import { readWorkload, restrictionsOf, type Workload } from "../images/workloads.js";

/** Where the pods mount the feature-flags ConfigMap, from the repository's copy of it. */
const FLAGS_SOURCE = "./flags";

/** Settings for what only the cluster runs: the mesh, and the OpenTelemetry Collector the services export to. */
export const CLUSTER_ONLY_SETTINGS = new Set(["MESH_MODE", "OTEL_EXPORTER_OTLP_ENDPOINT"]);

/** The cluster's DNS suffix, which Compose's service names do without. */
const CLUSTER_DOMAIN = ".tourmesh.svc.cluster.local";

/**
 * A gRPC health check run in a service's container, which has node and nothing else: Health/Check with an
 * empty request over h2c on PORT, healthy when the answer is SERVING (field 1 = 1, bytes 08 01).
 */
const GRPC_HEALTH_CHECK = [
  "const c=require('node:http2').connect('http://127.0.0.1:'+process.env.PORT);",
  "c.on('error',()=>process.exit(1));",
  "const r=c.request({':method':'POST',':path':'/grpc.health.v1.Health/Check','content-type':'application/grpc',te:'trailers'});",
  "r.on('error',()=>process.exit(1));let b=Buffer.alloc(0);r.on('data',d=>{b=Buffer.concat([b,d])});",
  "r.on('end',()=>process.exit(b.subarray(5).equals(Buffer.from([8,1]))?0:1));",
  "r.end(Buffer.alloc(5));",
].join("");

type ComposeService = Record<string, unknown>;

const duration = (seconds: number) => `${seconds}s`;

/** Compose's healthcheck from a pod's probes: the readiness check, at its period, as long as startup allows. */
function healthcheck(workload: Workload): Record<string, unknown> {
  const { readinessProbe, startupProbe } = workload.container;
  const probe: Probe & { periodSeconds?: number; failureThreshold?: number } = readinessProbe ?? {};
  const portNumber = (port: number | string) =>
    typeof port === "number"
      ? port
      : workload.container.ports?.find((candidate) => candidate.name === port)?.containerPort;
  let test: string[];
  if (probe.exec) test = ["CMD", ...probe.exec.command];
  else if (probe.grpc) test = ["CMD", "node", "-e", GRPC_HEALTH_CHECK];
  else if (probe.httpGet)
    test = [
      "CMD",
      "wget",
      "-q",
      "-O",
      "/dev/null",
      `http://127.0.0.1:${portNumber(probe.httpGet.port)}${probe.httpGet.path ?? "/"}`,
    ];
  else throw new Error(`${workload.name}: no readiness probe to check health with`);
  const startup = startupProbe as { periodSeconds?: number; failureThreshold?: number } | undefined;
  return {
    test,
    interval: duration(probe.periodSeconds ?? 10),
    timeout: duration(2),
    retries: probe.failureThreshold ?? 3,
    start_period: duration((startup?.periodSeconds ?? 10) * (startup?.failureThreshold ?? 3)),
  };
}

/** Memory, CPU and stop grace from the manifests, for every container. */
function limits(workload: Workload): ComposeService {
  const restrictions = restrictionsOf(workload);
  return {
    ...(restrictions.memoryBytes !== undefined ? { mem_limit: restrictions.memoryBytes } : {}),
    ...(restrictions.cpus !== undefined ? { cpus: restrictions.cpus } : {}),
    ...(restrictions.gracePeriodSeconds !== undefined
      ? { stop_grace_period: duration(restrictions.gracePeriodSeconds) }
      : {}),
  };
}

/** The pod's emptyDir volumes as tmpfs, its feature-flags ConfigMap as the repository's flags/. */
function mounts(workload: Workload): ComposeService {
  const volumes = new Map((workload.pod.volumes ?? []).map((volume) => [volume.name, volume]));
  const tmpfs: string[] = [];
  const binds: string[] = [];
  for (const mount of workload.container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name) as
      | { emptyDir?: unknown; configMap?: { name: string } }
      | undefined;
    if (volume?.emptyDir) tmpfs.push(mount.mountPath);
    else if (volume?.configMap?.name === "feature-flags") binds.push(`${FLAGS_SOURCE}:${mount.mountPath}:ro`);
    else throw new Error(`${workload.name}: no Compose equivalent for the volume ${mount.name}`);
  }
  return { ...(tmpfs.length ? { tmpfs } : {}), ...(binds.length ? { volumes: binds } : {}) };
}

function application(spec: ServiceSpec): ComposeService {
  const workload = readWorkload(spec.name);
  const restrictions = restrictionsOf(workload);
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(workload.settings)) {
    if (!CLUSTER_ONLY_SETTINGS.has(name)) environment[name] = value.replaceAll(CLUSTER_DOMAIN, "");
  }
  if (spec.database) environment.DATABASE_URL = `postgres://postgres@postgres:5432/${spec.database}`;
  Object.assign(environment, spec.localOnly);
  const needs = [
    ...(spec.database ? ["postgres"] : []),
    ...(spec.events ? ["nats"] : []),
    ...(spec.cache ? ["redis"] : []),
    ...(spec.verifiesTokens && !spec.peers.includes("identity") ? ["identity"] : []),
    ...spec.peers,
  ];
  return {
    image: imageName(spec.name),
    build: { context: ".", args: { SERVICE: spec.name } },
    environment,
    ...(spec.name === "gateway" ? { ports: [`${spec.port}:${spec.port}`] } : {}),
    ...(restrictions.user ? { user: restrictions.user } : {}),
    ...(restrictions.readOnlyRoot ? { read_only: true } : {}),
    ...(restrictions.dropCapabilities.length ? { cap_drop: restrictions.dropCapabilities } : {}),
    ...(restrictions.noNewPrivileges ? { security_opt: ["no-new-privileges:true"] } : {}),
    ...limits(workload),
    ...mounts(workload),
    healthcheck: healthcheck(workload),
    depends_on: Object.fromEntries(needs.map((need) => [need, { condition: "service_healthy" }])),
  };
}

/** A redis.conf as redis-server arguments: each line `name value...` becomes `--name value...`. */
function redisArguments(config: string): string[] {
  return config
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .flatMap((line) => {
      const [name, ...values] = line.split(/\s+/);
      return [`--${name}`, ...values.map((value) => (value === '""' ? "" : value))];
    });
}

function infrastructure(): Record<string, ComposeService> {
  const postgres = readWorkload("postgres");
  const pgdata = postgres.container.env?.find((variable) => variable.name === "PGDATA")?.value;
  const nats = readWorkload("nats");
  const natsConfig = nats.configMaps.get("nats-config")?.["nats.conf"];
  const redis = readWorkload("redis");
  const redisConfig = redis.configMaps.get("redis-config")?.["redis.conf"];
  if (!pgdata || !natsConfig || !redisConfig)
    throw new Error("mesh/base: PGDATA, nats.conf or redis.conf is missing");
  const dataMount = (workload: Workload) =>
    workload.container.volumeMounts?.find((mount) => mount.name === "data")?.mountPath;
  return {
    postgres: {
      image: postgres.container.image,
      environment: { PGDATA: pgdata, POSTGRES_HOST_AUTH_METHOD: "trust" },
      volumes: [`postgres-data:${dataMount(postgres)}`],
      ...limits(postgres),
      healthcheck: healthcheck(postgres),
    },
    nats: {
      image: nats.container.image,
      // The cluster's nats.conf, written where the server reads it (the image's own entrypoint is a shell).
      environment: { NATS_CONFIG: natsConfig },
      entrypoint: [
        "/bin/sh",
        "-c",
        'printf "%s" "$$NATS_CONFIG" > /tmp/nats.conf && exec nats-server --config /tmp/nats.conf',
      ],
      volumes: [`nats-data:${dataMount(nats)}`],
      ...limits(nats),
      healthcheck: healthcheck(nats),
    },
    redis: {
      image: redis.container.image,
      command: ["redis-server", ...redisArguments(redisConfig)],
      ...limits(redis),
      healthcheck: healthcheck(redis),
    },
  };
}

const HEADER = [
  " The whole system from its images, for Docker or Podman: `docker compose up` (or `podman compose up`),",
  " then http://localhost:8080. Generated by tools/compose/compose.ts from stack/src/topology.ts and",
  " mesh/base (`npm run generate:compose`); do not edit: a spec fails when the two differ. What differs from",
  " the cluster, and why: tools/compose/compose.ts and docs/cluster.md.",
].join("\n");

/** The text of compose.yaml. */
export function composeFile(): string {
  // YAML 1.1, as PyYAML (docker-compose v1) reads it: `no` and `1000:1000` are quoted as strings.
  const document = new Document(
    {
      services: {
        ...infrastructure(),
        ...Object.fromEntries(services.map((spec) => [spec.name, application(spec)])),
      },
      volumes: { "postgres-data": {}, "nats-data": {} },
    },
    { version: "1.1" },
  );
  document.commentBefore = HEADER;
  return document.toString({ lineWidth: 0, directives: false });
}
