import {
  BookingCancelledSchema,
  BookingConfirmedSchema,
  BookingPaymentFailedSchema,
  ReviewCreatedSchema,
} from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { NotificationService } from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";
import { runService, tokenVerifierOptions } from "@tourmesh/platform";
import { notificationConfigSchema, notificationDefaults, reminderOptions, smtpOptions } from "./config.js";
import { bookingEventHandlers, notificationHandlers, reviewEventHandler } from "./handlers.js";
import { NotificationStore } from "./notification-store.js";
import { reminderPoller } from "./reminders.js";
import { LoggingSender, type NotificationSender, SmtpSender } from "./senders.js";

await runService({
  name: "notification",
  config: notificationConfigSchema,
  verifier: tokenVerifierOptions,
  defaults: notificationDefaults,
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: {},
  routes(server, runtime) {
    const { config, db, logger } = runtime;
    const store = new NotificationStore(db);
    const smtp = smtpOptions(config);
    const sender: NotificationSender = smtp ? new SmtpSender(smtp, logger) : new LoggingSender(logger);
    logger.info({ sender: smtp ? "smtp" : "log" }, "notification sender");
    server.add(NotificationService, notificationHandlers(store));

    const handle = bookingEventHandlers(store, sender);
    runtime
      // Each notification records its event's id (unique), which makes a redelivery a no-op: no inbox needed.
      .consume({ name: "notification", subject: "booking.>", inbox: false })
      .on(BookingConfirmedSchema, handle.confirmed)
      .on(BookingCancelledSchema, handle.cancelled)
      .on(BookingPaymentFailedSchema, handle.paymentFailed);
    // Operators hear of reviews of their tours; the same unique event id keeps a redelivery to one notification.
    runtime
      .consume({ name: "notification-reviews", subject: "review.created", inbox: false })
      .on(ReviewCreatedSchema, reviewEventHandler(store, sender));

    const reminders = reminderPoller(store, sender, reminderOptions(config), logger);
    reminders.start();
    runtime.onShutdown(async () => {
      await reminders.stop();
      sender.close();
    });
  },
});
