import type { Logger } from "@tourmesh/platform";
import { createTransport, type Transporter } from "nodemailer";
import type { Notification } from "./notifications.js";

/**
 * Delivers a notification to its traveller. Called inside the transaction that records the notification,
 * so a failed delivery rolls the record back and the event (or reminder) is tried again: a traveller may
 * get a message twice if the commit fails after a delivery, never zero times.
 */
export interface NotificationSender {
  send(notification: Notification): Promise<void>;
  close(): void;
}

/** The default: writes each notification to the log, as a stand-in for a real channel. */
export class LoggingSender implements NotificationSender {
  constructor(private readonly logger: Logger) {}

  async send(notification: Notification): Promise<void> {
    this.logger.info(
      {
        notification_id: notification.notificationId,
        user_id: notification.userId,
        booking_id: notification.bookingId,
        kind: notification.kind,
        subject: notification.subject,
        text: notification.message,
      },
      "notification sent",
    );
  }

  close(): void {}
}

export interface SmtpSenderOptions {
  /** e.g. smtp://user:password@mail.example:587 or smtps://...; nodemailer's connection URL. */
  url: string;
  from: string;
  /**
   * Travellers have no e-mail address in tourmesh yet: mail goes to `<user id>@<recipientDomain>`, for a
   * mail catcher (MailHog, Mailpit) to show.
   */
  recipientDomain: string;
  timeoutMs: number;
}

/** Sends each notification as a plain-text e-mail over SMTP (nodemailer). */
export class SmtpSender implements NotificationSender {
  private readonly transport: Transporter;

  constructor(
    private readonly options: SmtpSenderOptions,
    private readonly logger: Logger,
  ) {
    this.transport = createTransport({
      url: options.url,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    });
  }

  async send(notification: Notification): Promise<void> {
    const to = `${notification.userId}@${this.options.recipientDomain}`;
    const info = await this.transport.sendMail({
      from: this.options.from,
      to,
      subject: notification.subject,
      text: notification.message,
      headers: { "X-Tourmesh-Notification-Id": notification.notificationId },
    });
    this.logger.info(
      { notification_id: notification.notificationId, kind: notification.kind, to, smtp_id: info.messageId },
      "notification sent",
    );
  }

  close(): void {
    this.transport.close();
  }
}
