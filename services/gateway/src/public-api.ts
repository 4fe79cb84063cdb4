/**
 * What the gateway exposes: the public methods, who may call each, and which internal service answers it.
 * A method not listed here is not routed (UNIMPLEMENTED): CatalogService.ReserveSeats/ReleaseSeats are for
 * booking only, and PaymentService is internal altogether.
 */
import type { DescService } from "@bufbuild/protobuf";
import { BookingService } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { NotificationService } from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";
import { ReviewService } from "@tourmesh/gen/tourmesh/review/v1/review_pb.js";
import type { GatewayConfig } from "./config.js";

/** `public`: anyone; `signed-in`: only with a valid `authorization: Bearer <jwt>`. */
export type Access = "public" | "signed-in";

export interface ExposedService {
  service: DescService;
  /** The setting that holds the internal service's address. */
  peer: keyof GatewayConfig & `${string}_ADDR`;
  /** Access per exposed method, by the method's local name (e.g. `listTours`). */
  methods: Readonly<Record<string, Access>>;
}

function expose<S extends DescService>(
  service: S,
  peer: ExposedService["peer"],
  methods: { [M in keyof S["method"]]?: Access },
): ExposedService {
  return { service, peer, methods: methods as Record<string, Access> };
}

export const exposedServices: readonly ExposedService[] = [
  expose(CatalogService, "CATALOG_ADDR", { listTours: "public", getTour: "public" }),
  expose(BookingService, "BOOKING_ADDR", {
    quotePrice: "signed-in",
    createBooking: "signed-in",
    getBooking: "signed-in",
    listBookings: "signed-in",
    cancelBooking: "signed-in",
  }),
  expose(ReviewService, "REVIEW_ADDR", { createReview: "signed-in", listReviews: "public" }),
  expose(NotificationService, "NOTIFICATION_ADDR", { listNotifications: "signed-in" }),
  expose(IdentityService, "IDENTITY_ADDR", { signIn: "public" }),
];

/** Access by procedure path, e.g. "/tourmesh.catalog.v1.CatalogService/ListTours". */
export function accessByProcedure(services: readonly ExposedService[]): ReadonlyMap<string, Access> {
  const access = new Map<string, Access>();
  for (const { service, methods } of services) {
    for (const method of service.methods) {
      const level = methods[method.localName];
      if (level !== undefined) access.set(`/${service.typeName}/${method.name}`, level);
    }
  }
  return access;
}
