import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Health } from "@tourmesh/gen/health/v1/health_pb.js";
import { PaymentService } from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { accessByProcedure, expose, exposedServices } from "./public-api.js";

describe("the public API", () => {
  it("exposes exactly these methods: reads and sign-in to anyone, the rest to signed-in users with scopes", () => {
    const signedIn = (...scopes: string[]) => ({ audience: "signed-in", scopes });
    const open = { audience: "public" };
    assert.deepEqual(Object.fromEntries(accessByProcedure(exposedServices)), {
      "/tourmesh.catalog.v1.CatalogService/ListTours": open,
      "/tourmesh.catalog.v1.CatalogService/GetTour": open,
      "/tourmesh.catalog.v1.CatalogService/CreateTour": signedIn("tours:write"),
      "/tourmesh.catalog.v1.CatalogService/UpdateTour": signedIn("tours:write"),
      "/tourmesh.catalog.v1.CatalogService/GetTourOccupancy": signedIn("tours:write"),
      "/tourmesh.catalog.v2.CatalogService/ListTours": open,
      "/tourmesh.catalog.v2.CatalogService/GetTour": open,
      "/tourmesh.catalog.v2.CatalogService/CreateTour": signedIn("tours:write"),
      "/tourmesh.catalog.v2.CatalogService/UpdateTour": signedIn("tours:write"),
      "/tourmesh.catalog.v2.CatalogService/GetTourOccupancy": signedIn("tours:write"),
      "/tourmesh.booking.v1.BookingService/QuotePrice": signedIn("bookings:write"),
      "/tourmesh.booking.v1.BookingService/CreateBooking": signedIn("bookings:write"),
      "/tourmesh.booking.v1.BookingService/GetBooking": signedIn("bookings:read"),
      "/tourmesh.booking.v1.BookingService/ListBookings": signedIn("bookings:read"),
      "/tourmesh.booking.v1.BookingService/CancelBooking": signedIn("bookings:write"),
      "/tourmesh.review.v1.ReviewService/CreateReview": signedIn("reviews:write"),
      "/tourmesh.review.v1.ReviewService/ListReviews": open,
      "/tourmesh.notification.v1.NotificationService/ListNotifications": signedIn("notifications:read"),
      "/tourmesh.identity.v1.IdentityService/SignIn": open,
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
