import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { accessByProcedure, exposedServices } from "./public-api.js";

describe("the public API", () => {
  it("exposes exactly these methods: reads and sign-in to anyone, the rest to signed-in users", () => {
    assert.deepEqual(Object.fromEntries(accessByProcedure(exposedServices)), {
      "/tourmesh.catalog.v1.CatalogService/ListTours": "public",
      "/tourmesh.catalog.v1.CatalogService/GetTour": "public",
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
});
