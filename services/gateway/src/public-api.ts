/**
 * What the gateway exposes: the public services, which internal service answers each, and who may call each
 * method, read from the `(tourmesh.options.v1.access)` option every method declares in its proto (through the
 * platform's methodAccess, which every service's gRPC server enforces too). A method whose audience is internal (CatalogService.ReserveSeats/ReleaseSeats, all of PaymentService) is not routed
 * (UNIMPLEMENTED); a method that declares no audience stops the gateway at start.
 */
import type { DescService } from "@bufbuild/protobuf";
import { BookingService } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { CatalogService as CatalogServiceV2 } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { NotificationService } from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";
import { ReviewService } from "@tourmesh/gen/tourmesh/review/v1/review_pb.js";
import { type MethodAccess, methodAccess } from "@tourmesh/platform";
import type { GatewayConfig } from "./config.js";

/** Who may call an exposed method: anyone, or signed-in callers whose token carries the method's scopes. */
export type Access = Exclude<MethodAccess, { audience: "internal" }>;

export interface ExposedService {
  service: DescService;
  /** The setting that holds the internal service's address. */
  peer: keyof GatewayConfig & `${string}_ADDR`;
  /** Access per exposed method, by the method's local name (e.g. `listTours`). */
  methods: Readonly<Record<string, Access>>;
}

/** Exposes every method of the service that its contract does not keep internal. */
export function expose(service: DescService, peer: ExposedService["peer"]): ExposedService {
  const methods: Record<string, Access> = {};
  for (const method of service.methods) {
    const declared = methodAccess(method);
    if (declared.audience !== "internal") methods[method.localName] = declared;
  }
  return { service, peer, methods };
}

export const exposedServices: readonly ExposedService[] = [
  expose(CatalogService, "CATALOG_ADDR"),
  expose(CatalogServiceV2, "CATALOG_ADDR"),
  expose(BookingService, "BOOKING_ADDR"),
  expose(ReviewService, "REVIEW_ADDR"),
  expose(NotificationService, "NOTIFICATION_ADDR"),
  expose(IdentityService, "IDENTITY_ADDR"),
];

/** Access by procedure path, e.g. "/tourmesh.catalog.v1.CatalogService/ListTours". */
export function accessByProcedure(services: readonly ExposedService[]): ReadonlyMap<string, Access> {
  const byProcedure = new Map<string, Access>();
  for (const { service, methods } of services) {
    for (const method of service.methods) {
      const level = methods[method.localName];
      if (level !== undefined) byProcedure.set(`/${service.typeName}/${method.name}`, level);
    }
  }
  return byProcedure;
}
