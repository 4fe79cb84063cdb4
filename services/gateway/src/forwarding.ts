import type { DescMessage, DescService, MessageShape } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { CallOptions } from "@tourmesh/platform";
import { edgeRequestKey, REQUEST_ID_HEADER } from "./edge-request.js";
import type { ExposedService } from "./public-api.js";

export interface DeadlinePolicy {
  /** For a call that arrives without a deadline. */
  defaultMs: number;
  /** The most any call may get, whatever the client asked. */
  maxMs: number;
}

/** The time an internal call gets: the client's own deadline (grpc-timeout, connect-timeout-ms) capped, or the default. */
export function forwardTimeoutMs(clientTimeoutMs: number | undefined, policy: DeadlinePolicy): number {
  return Math.min(clientTimeoutMs ?? policy.defaultMs, policy.maxMs);
}

type ForwardingCall = (
  request: MessageShape<DescMessage>,
  options: CallOptions,
) => Promise<MessageShape<DescMessage>>;

/** The platform client's methods by local name, as the forwarder calls them. */
export type ForwardingClient = Readonly<Record<string, ForwardingCall>>;

/**
 * Serves each exposed method by calling the same method of the internal service through a platform client
 * (its retries, metrics, trace propagation). What travels on: the request, the deadline, cancellation, the
 * caller's `authorization` (the internal service verifies it again) and the request id.
 */
export function routeExposedServices(
  router: ConnectRouter,
  services: readonly ExposedService[],
  clientOf: (exposed: ExposedService) => ForwardingClient,
  deadlines: DeadlinePolicy,
): void {
  for (const exposed of services) {
    const client = clientOf(exposed);
    const implementation: Record<
      string,
      (request: MessageShape<DescMessage>, context: HandlerContext) => unknown
    > = {};
    for (const localName of Object.keys(exposed.methods)) {
      const call = client[localName];
      if (call === undefined) throw new Error(`${exposed.service.typeName} has no method ${localName}`);
      implementation[localName] = (request, context) => {
        const authorization = context.requestHeader.get("authorization");
        return call(request, {
          timeoutMs: forwardTimeoutMs(context.timeoutMs(), deadlines),
          signal: context.signal,
          headers: {
            [REQUEST_ID_HEADER]: context.values.get(edgeRequestKey).requestId,
            ...(authorization === null ? {} : { authorization }),
          },
        });
      };
    }
    router.service(exposed.service, implementation as unknown as Partial<ServiceImpl<DescService>>);
  }
}
