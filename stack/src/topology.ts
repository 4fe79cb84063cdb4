/**
 * The local system, described once: every service with its standard ports, the peers it calls, its database,
 * whether it uses events or the read cache, and the settings that exist for local mode only; then the infrastructure they need.
 * The demo, the specs, e2e, the chaos run, the load generator and the benchmarks all start what they run
 * from here (see stack.ts); the cluster's equivalent is mesh/.
 */

export type ServiceName =
  | "identity"
  | "catalog"
  | "payment"
  | "booking"
  | "notification"
  | "review"
  | "gateway";

export interface ServiceSpec {
  name: ServiceName;
  /** Standard local gRPC port; the gateway's serves Connect, gRPC-Web and gRPC over HTTP/1.1 and h2c. */
  port: number;
  /** Standard local port of its plain-HTTP side: /metrics (identity's also serves the JWKS). */
  metricsPort: number;
  /** Its own Postgres database (database per service): the name it has in local mode. */
  database?: string;
  /** Publishes (outbox) or consumes events on NATS JetStream. */
  events: boolean;
  /** Services it calls; each one's address reaches it as `<PEER>_ADDR`. */
  peers: readonly ServiceName[];
  /** Verifies access tokens: gets identity's key set as JWKS_URL. */
  verifiesTokens: boolean;
  /** Caches reads in Redis: gets REDIS_URL, and in a stack of fresh databases a CACHE_KEY_PREFIX of the stack's own. */
  cache: boolean;
  /** Settings for local mode only: the cluster manifests never set these (mesh/checks proves it). */
  localOnly: Readonly<Record<string, string>>;
}

/** In start order: a service comes after the peers it calls. */
export const services: readonly ServiceSpec[] = [
  {
    name: "identity",
    port: 50056,
    metricsPort: 9456,
    database: "identity",
    events: false,
    peers: [],
    verifiesTokens: false,
    cache: false,
    localOnly: { SEED_DEMO_USERS: "true" },
  },
  {
    name: "catalog",
    port: 50051,
    metricsPort: 9451,
    database: "catalog",
    events: true,
    peers: [],
    verifiesTokens: true,
    cache: true,
    localOnly: {},
  },
  {
    name: "payment",
    port: 50053,
    metricsPort: 9453,
    database: "payment",
    events: true,
    peers: [],
    verifiesTokens: false,
    cache: false,
    localOnly: {},
  },
  {
    name: "booking",
    port: 50052,
    metricsPort: 9452,
    database: "booking",
    events: true,
    peers: ["catalog", "payment"],
    verifiesTokens: true,
    cache: false,
    localOnly: {},
  },
  {
    name: "notification",
    port: 50054,
    metricsPort: 9454,
    database: "notification",
    events: true,
    peers: [],
    verifiesTokens: true,
    cache: false,
    localOnly: {},
  },
  {
    name: "review",
    port: 50055,
    metricsPort: 9455,
    database: "review",
    events: true,
    peers: ["booking", "catalog"],
    verifiesTokens: true,
    cache: false,
    localOnly: {},
  },
  {
    name: "gateway",
    port: 8080,
    metricsPort: 9450,
    events: false,
    peers: ["catalog", "booking", "review", "notification", "identity"],
    verifiesTokens: true,
    cache: false,
    localOnly: {},
  },
];

export const serviceNames: readonly ServiceName[] = services.map((service) => service.name);

export function serviceSpec(name: ServiceName): ServiceSpec {
  const spec = services.find((service) => service.name === name);
  if (!spec) throw new Error(`no service ${name} in the topology`);
  return spec;
}

/** The variable that holds a peer's address, e.g. CATALOG_ADDR. */
export const addressVariable = (peer: ServiceName) => `${peer.toUpperCase()}_ADDR`;

/** Where identity serves its public keys, on its metrics port. */
export const jwksPath = "/.well-known/jwks.json";

/** The infrastructure the services need, where local mode finds it (or starts it, see infrastructure.ts). */
export const infrastructure = {
  postgres: { host: "127.0.0.1", port: 5432, user: "postgres" },
  nats: { host: "127.0.0.1", port: 4222 },
  redis: { host: "127.0.0.1", port: 6379 },
  /** Scrapes every service's metrics port with observability/'s rules (and Postgres's exporter when installed). */
  prometheus: { host: "127.0.0.1", port: 9090 },
  /** Debian's prometheus-postgres-exporter, optional: Postgres's own metrics for Prometheus. */
  postgresExporter: { host: "127.0.0.1", port: 9187 },
} as const;

export const standardNatsUrl = `nats://${infrastructure.nats.host}:${infrastructure.nats.port}`;
export const standardRedisUrl = `redis://${infrastructure.redis.host}:${infrastructure.redis.port}`;
export const standardDatabaseServerUrl = `postgres://${infrastructure.postgres.user}@${infrastructure.postgres.host}:${infrastructure.postgres.port}/postgres`;
