import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { BookingService } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService, type Tour } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { NotificationService } from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";
import { ReviewService } from "@tourmesh/gen/tourmesh/review/v1/review_pb.js";
import { currentSession } from "./session.js";
import { traceCalls } from "./tracing.js";

/** Every call carries the signed-in traveller's token; the gateway ignores it on public methods. */
const withToken: Interceptor = (next) => (request) => {
  const session = currentSession();
  if (session !== undefined) request.header.set("authorization", `Bearer ${session.accessToken}`);
  return next(request);
};

/**
 * gRPC-Web to the gateway on the page's own origin. gRPC-Web rather than the Connect protocol because it
 * answers every call with HTTP 200 and puts the outcome in its status: a refused promo code or a rate limit
 * is an answer the app shows, not a failed HTTP request that the browser logs as an error.
 */
const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  interceptors: [traceCalls, withToken],
  defaultTimeoutMs: 10_000,
});

/** The catalog's v2 contract (v1 is deprecated). */
export const catalog = createClient(CatalogService, transport);
/** Seats a tour has free: a tour without its seats (never sent by the catalog) counts as sold out. */
export const seatsLeft = (tour: Tour) => tour.seats?.available ?? 0;
export const booking = createClient(BookingService, transport);
export const reviews = createClient(ReviewService, transport);
export const notifications = createClient(NotificationService, transport);
export const identity = createClient(IdentityService, transport);
