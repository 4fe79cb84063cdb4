import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type Health, HealthCheckResponse_ServingStatus } from "@tourmesh/gen/health/v1/health_pb.js";
import { LIVENESS_SERVICE } from "@tourmesh/platform";

/**
 * grpc.health.v1.Health/Check for Kubernetes gRPC probes: "" and every exposed service are SERVING until the
 * gateway drains; LIVENESS_SERVICE stays SERVING while the process lives (a draining gateway is alive).
 * The gateway's health is its own: an internal service being down does not take the edge out of rotation.
 */
export class GatewayHealth {
  private draining = false;

  constructor(private readonly services: readonly string[]) {}

  drain(): void {
    this.draining = true;
  }

  status(service: string): HealthCheckResponse_ServingStatus | undefined {
    if (service === LIVENESS_SERVICE) return HealthCheckResponse_ServingStatus.SERVING;
    if (service !== "" && !this.services.includes(service)) return undefined;
    return this.draining
      ? HealthCheckResponse_ServingStatus.NOT_SERVING
      : HealthCheckResponse_ServingStatus.SERVING;
  }

  /** Check only; Watch and List answer UNIMPLEMENTED (probes do not use them). */
  implementation(): Partial<ServiceImpl<typeof Health>> {
    return {
      check: async (request) => {
        const status = this.status(request.service);
        if (status === undefined) throw new ConnectError(`unknown service ${request.service}`, Code.NotFound);
        return { status };
      },
    };
  }
}
