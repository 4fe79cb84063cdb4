import { createLogger, GrpcMetrics, loadConfig, startMetricsServer, startTracing } from "@tourmesh/platform";
import { type GatewayConfig, gatewayConfigSchema, gatewayDefaults } from "./config.js";
import { startGateway } from "./gateway.js";

let config: GatewayConfig;
try {
  config = loadConfig(gatewayConfigSchema, gatewayDefaults);
} catch (error) {
  console.error(`gateway: ${(error as Error).message}`);
  process.exit(78); // EX_CONFIG: a bad environment will not fix itself by restarting.
}

const logger = createLogger("gateway", config.LOG_LEVEL);
const stopTracing = await startTracing(
  "gateway",
  config.OTEL_EXPORTER_OTLP_ENDPOINT,
  config.OTEL_TRACES_SAMPLER_ARG,
);
const metrics = new GrpcMetrics();
const gateway = await startGateway(config, logger, metrics);
const metricsServer = await startMetricsServer(metrics.registry, config.METRICS_PORT);
const metricsPort = (metricsServer.address() as { port: number }).port;
// grpc_port, as every service logs it: the one port serves gRPC, gRPC-Web and Connect.
logger.info({ grpc_port: gateway.port, metrics_port: metricsPort }, "serving");

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, async () => {
    try {
      logger.info({ grace_ms: config.SHUTDOWN_GRACE_MS }, "draining");
      await gateway.drain({ delayMs: config.SHUTDOWN_DELAY_MS, graceMs: config.SHUTDOWN_GRACE_MS });
      await new Promise((resolve) => metricsServer.close(resolve));
      await stopTracing();
      logger.info("stopped");
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, "shutdown failed");
      process.exit(1);
    }
  });
}
