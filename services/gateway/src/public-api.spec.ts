import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Health } from "@tourmesh/gen/health/v1/health_pb.js";
import { PaymentService } from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { accessByProcedure, expose, exposedServices } from "./public-api.js";

describe("the public API", () => {
  it("exposes exactly these methods: reads and sign-in to anyone, the rest to signed-in users", () => {
    assert.deepEqual(Object.fromEntries(accessByProcedure(exposedServices)), {
      "/tourmesh.catalog.v1.CatalogService/ListTours": "public",
      "/tourmesh.catalog.v1.CatalogService/GetTour": "public",
      "/tourmesh.catalog.v2.CatalogService/ListTours": "public",
      "/tourmesh.catalog.v2.CatalogService/GetTour": "public",
      "/tourmesh.booking.v1.BookingService/QuotePrice": "signed-in",
      "/tourmesh.booking.v1.BookingService/CreateBooking": "signed-in",
      "/tourmesh.booking.v1.BookingService/GetBooking": "signed-in",
      "/tourmesh.booking.v1.BookingService/ListBookings": "signed-in",
      "/tourmesh.booking.v1.BookingService/CancelBooking": "signed-in",
      "/tourmesh.review.v1.ReviewService/CreateReview": "signed-in",
      "/tourmesh.review.v1.ReviewService/ListReviews": "public",
      "/tourmesh.notification.v1.NotificationService/ListNotifications": "signed-in",
      "/tourmesh.identity.v1.IdentityService/SignIn": "public",
    });
  });

  it("exposes nothing of a service whose contract keeps every method internal", () => {
    assert.deepEqual(expose(PaymentService, "BOOKING_ADDR").methods, {});
  });

  it("refuses a service with a method that declares no audience, naming the method", () => {
    assert.throws(
      () => expose(Health, "CATALOG_ADDR"),
      /^Error: grpc\.health\.v1\.Health\.Check declares no audience: set \(tourmesh\.options\.v1\.access\)/,
    );
  });
});
