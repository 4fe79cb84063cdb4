/**
 * The gRPC contracts each workload serves, read from the generated descriptors (so from proto/), never
 * restated: which methods exist and which the contract marks NO_SIDE_EFFECTS or IDEMPOTENT, the only ones
 * the mesh may retry.
 */
import type { DescService } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { BookingService } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { CatalogService as CatalogServiceV2 } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { NotificationService } from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";
import { PaymentFaultService } from "@tourmesh/gen/tourmesh/payment/v1/payment_faults_pb.js";
import { PaymentService } from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { ReviewService } from "@tourmesh/gen/tourmesh/review/v1/review_pb.js";

export interface ContractMethod {
  /** Full gRPC service name, e.g. tourmesh.catalog.v1.CatalogService. */
  service: string;
  method: string;
  /** "/service/method", the HTTP/2 path of a call. */
  path: string;
  idempotent: boolean;
}

/** Every gRPC server also serves this, for health checks and kubelet probes. */
export const healthService = "grpc.health.v1.Health";

/** The gRPC services each workload serves on its gRPC port, by `app.kubernetes.io/name`. */
export const servedContracts: Record<string, DescService[]> = {
  // v1 (deprecated) and v2, side by side.
  catalog: [CatalogService, CatalogServiceV2],
  booking: [BookingService],
  // PaymentFaultService is payment's admin API (fault knobs): served, but no workload is authorized to call it.
  payment: [PaymentService, PaymentFaultService],
  notification: [NotificationService],
  review: [ReviewService],
  identity: [IdentityService],
};

/** The contracts of a workload that its callers use: all it serves but payment's admin API. */
export function callableContracts(workload: string): DescService[] {
  return (servedContracts[workload] ?? []).filter((service) => service !== PaymentFaultService);
}

export function contractMethods(service: DescService): ContractMethod[] {
  return service.methods.map((method) => ({
    service: service.typeName,
    method: method.name,
    path: `/${service.typeName}/${method.name}`,
    idempotent:
      method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS ||
      method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT,
  }));
}

/** Every contract method of every workload, by full service name. */
export function methodsByService(): Map<string, ContractMethod[]> {
  return new Map(
    Object.values(servedContracts)
      .flat()
      .map((service) => [service.typeName, contractMethods(service)]),
  );
}
