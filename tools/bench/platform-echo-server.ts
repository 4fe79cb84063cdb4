// The Echo service served through the platform with everything on: default deadline, call context, error
// mapping, a JSON log line per call, per-method metrics, OpenTelemetry spans, health and reflection.
import { EchoService } from "@tourmesh/gen/tourmesh/testing/v1/echo_pb.js";
import { baseConfigSchema, runService } from "@tourmesh/platform";

await runService({
  name: "echo",
  config: baseConfigSchema,
  defaults: { PORT: 0, METRICS_PORT: 0 },
  routes(server) {
    server.add(EchoService, { echo: async (request) => ({ message: request.message }) });
  },
});
