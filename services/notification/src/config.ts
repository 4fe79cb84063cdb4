import {
  baseConfigSchema,
  type ConfigDefaults,
  configFields,
  tokenVerifierDefaults,
  tokenVerifierFields,
} from "@tourmesh/platform";
import { z } from "zod";
import type { ReminderPollerOptions } from "./reminders.js";
import type { SmtpSenderOptions } from "./senders.js";

const { milliseconds } = configFields;

/** Notification's settings. */
export const notificationConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.url(),
  ...tokenVerifierFields,
  /** How often due tour reminders are looked for, and how many are sent per round at most. */
  NOTIFICATION_REMINDER_POLL_MS: milliseconds.min(1),
  NOTIFICATION_REMINDER_BATCH: z.coerce.number().int().min(1),
  /** Send e-mail through this SMTP server (e.g. smtp://127.0.0.1:1025); unset: notifications go to the log. */
  SMTP_URL: z.url().optional(),
  SMTP_FROM: z.string().min(1),
  /** Mail goes to `<user id>@<this domain>` (travellers have no address in tourmesh yet). */
  NOTIFICATION_EMAIL_DOMAIN: z.string().min(1),
  SMTP_TIMEOUT_MS: milliseconds.min(1),
});

export type NotificationConfig = z.output<typeof notificationConfigSchema>;

export const notificationDefaults = {
  PORT: 50054,
  METRICS_PORT: 9454,
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/notification",
  ...tokenVerifierDefaults,
  NOTIFICATION_REMINDER_POLL_MS: 30_000,
  NOTIFICATION_REMINDER_BATCH: 100,
  SMTP_FROM: "tourmesh <notifications@tourmesh.local>",
  NOTIFICATION_EMAIL_DOMAIN: "tourmesh.local",
  SMTP_TIMEOUT_MS: 5_000,
} satisfies ConfigDefaults<typeof notificationConfigSchema>;

/** The SMTP sender's options, or undefined when SMTP_URL is unset (notifications then go to the log). */
export function smtpOptions(config: NotificationConfig): SmtpSenderOptions | undefined {
  if (config.SMTP_URL === undefined) return undefined;
  return {
    url: config.SMTP_URL,
    from: config.SMTP_FROM,
    recipientDomain: config.NOTIFICATION_EMAIL_DOMAIN,
    timeoutMs: config.SMTP_TIMEOUT_MS,
  };
}

export function reminderOptions(config: NotificationConfig): ReminderPollerOptions {
  return {
    pollIntervalMs: config.NOTIFICATION_REMINDER_POLL_MS,
    batchSize: config.NOTIFICATION_REMINDER_BATCH,
  };
}
