/** The services of the local stack, in start order, on their standard ports (see the README). */
export interface StackService {
  name: string;
  /** gRPC port (the gateway's is its HTTP port). */
  port: number;
  metricsPort: number;
  /** Settings for local mode only; the cluster manifests never set these. */
  env?: Record<string, string>;
}

export const stackServices: StackService[] = [
  { name: "identity", port: 50056, metricsPort: 9456, env: { SEED_DEMO_USERS: "true" } },
  { name: "catalog", port: 50051, metricsPort: 9451 },
  { name: "payment", port: 50053, metricsPort: 9453 },
  { name: "booking", port: 50052, metricsPort: 9452 },
  { name: "notification", port: 50054, metricsPort: 9454 },
  { name: "review", port: 50055, metricsPort: 9455 },
  { name: "gateway", port: 8080, metricsPort: 9450 },
];
