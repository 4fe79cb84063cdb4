import { runProcess } from "@tourmesh/platform";
import { gatewayConfigSchema, gatewayDefaults } from "./config.js";
import { createGateway } from "./gateway.js";

// The gateway serves Connect, gRPC-Web and gRPC on one port (logged as grpc_port, as every service logs it).
await runProcess({
  name: "gateway",
  config: gatewayConfigSchema,
  defaults: gatewayDefaults,
  prepare: ({ config, logger, metrics, flags }) => ({
    server: createGateway(config, logger, metrics, flags),
  }),
});
