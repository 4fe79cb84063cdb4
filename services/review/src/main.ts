import { BookingService } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { ReviewService } from "@tourmesh/gen/tourmesh/review/v1/review_pb.js";
import { runService, tokenVerifierOptions } from "@tourmesh/platform";
import { BookingCheck } from "./booking-check.js";
import { reviewConfigSchema, reviewDefaults } from "./config.js";
import { reviewHandlers } from "./handlers.js";
import { ReviewStore } from "./review-store.js";
import { TourOperators } from "./tour-operators.js";

await runService({
  name: "review",
  config: reviewConfigSchema,
  verifier: tokenVerifierOptions,
  defaults: reviewDefaults,
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: { outbox: true },
  routes(server, runtime) {
    const { config, db } = runtime;
    const bookings = new BookingCheck(
      runtime.client(BookingService, config.BOOKING_ADDR),
      config.REVIEW_BOOKING_TIMEOUT_MS,
    );
    const operators = new TourOperators(
      runtime.client(CatalogService, config.CATALOG_ADDR),
      config.REVIEW_CATALOG_TIMEOUT_MS,
    );
    server.add(ReviewService, reviewHandlers(new ReviewStore(db), bookings, operators));
  },
});
