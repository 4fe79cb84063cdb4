import {
  BookingCancelledSchema,
  BookingConfirmedSchema,
  BookingPaymentFailedSchema,
} from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { NotificationService } from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";
import { baseConfigSchema, configFields, runService, TokenVerifier } from "@tourmesh/platform";
import { z } from "zod";
import { bookingEventHandlers, notificationHandlers } from "./handlers.js";
import { NotificationStore } from "./notification-store.js";
import { reminderPoller } from "./reminders.js";
import { LoggingSender, type NotificationSender, SmtpSender } from "./senders.js";

const { milliseconds } = configFields;

await runService({
  name: "notification",
  config: baseConfigSchema.extend({
    DATABASE_URL: z.url(),
    JWKS_URL: z.url(),
    JWT_ISSUER: z.string().min(1),
    JWT_AUDIENCE: z.string().min(1),
    /** How often due tour reminders are looked for, and how many are sent per round at most. */
    NOTIFICATION_REMINDER_POLL_MS: milliseconds.min(1),
    NOTIFICATION_REMINDER_BATCH: z.coerce.number().int().min(1),
    /** Send e-mail through this SMTP server (e.g. smtp://127.0.0.1:1025); unset: notifications go to the log. */
    SMTP_URL: z.url().optional(),
    SMTP_FROM: z.string().min(1),
    /** Mail goes to `<user id>@<this domain>` (travellers have no address in tourmesh yet). */
    NOTIFICATION_EMAIL_DOMAIN: z.string().min(1),
    SMTP_TIMEOUT_MS: milliseconds.min(1),
  }),
  defaults: {
    PORT: 50054,
    METRICS_PORT: 9454,
    DATABASE_URL: "postgres://postgres@127.0.0.1:5432/notification",
    JWKS_URL: "http://127.0.0.1:9456/.well-known/jwks.json",
    JWT_ISSUER: "https://identity.tourmesh",
    JWT_AUDIENCE: "tourmesh",
    NOTIFICATION_REMINDER_POLL_MS: 30_000,
    NOTIFICATION_REMINDER_BATCH: 100,
    SMTP_FROM: "tourmesh <notifications@tourmesh.local>",
    NOTIFICATION_EMAIL_DOMAIN: "tourmesh.local",
    SMTP_TIMEOUT_MS: 5_000,
  },
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  events: {},
  routes(server, runtime) {
    const { config, logger } = runtime;
    const store = new NotificationStore(runtime.db as NonNullable<typeof runtime.db>);
    const sender: NotificationSender = config.SMTP_URL
      ? new SmtpSender(
          {
            url: config.SMTP_URL,
            from: config.SMTP_FROM,
            recipientDomain: config.NOTIFICATION_EMAIL_DOMAIN,
            timeoutMs: config.SMTP_TIMEOUT_MS,
          },
          logger,
        )
      : new LoggingSender(logger);
    logger.info({ sender: config.SMTP_URL ? "smtp" : "log" }, "notification sender");
    const verifier = new TokenVerifier({
      jwksUrl: config.JWKS_URL,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      registry: runtime.metrics.registry,
    });
    server.add(NotificationService, notificationHandlers(store, verifier));

    const handle = bookingEventHandlers(store, sender);
    runtime
      // Each notification records its event's id (unique), which makes a redelivery a no-op: no inbox needed.
      .consume({ name: "notification", subject: "booking.>", inbox: false })
      .on(BookingConfirmedSchema, handle.confirmed)
      .on(BookingCancelledSchema, handle.cancelled)
      .on(BookingPaymentFailedSchema, handle.paymentFailed);

    const reminders = reminderPoller(
      store,
      sender,
      { pollIntervalMs: config.NOTIFICATION_REMINDER_POLL_MS, batchSize: config.NOTIFICATION_REMINDER_BATCH },
      logger,
    );
    reminders.start();
    runtime.onShutdown(async () => {
      await reminders.stop();
      sender.close();
    });
  },
});
