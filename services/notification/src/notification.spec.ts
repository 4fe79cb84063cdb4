import * as assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  BookingCancelledSchema,
  BookingConfirmedSchema,
  BookingPaymentFailedSchema,
} from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import {
  NotificationKind,
  NotificationService,
} from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";
import { createClient, type ServiceClient } from "@tourmesh/platform";
import {
  callFailure,
  createTestDatabase,
  publishTestEvent,
  startTestTokenIssuer,
  type TestEventStreams,
  testEventStreams,
} from "@tourmesh/platform/testing";
import { startService } from "@tourmesh/stack/testing";

const DAY_MS = 24 * 60 * 60 * 1_000;

/** A notification process on its own database and event streams, and a way to feed it booking events. */
async function startNotification(env: Record<string, string> = {}) {
  const cleanups: Array<() => unknown> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const db = await createTestDatabase("notification");
    cleanups.push(() => db.drop());
    const events = testEventStreams();
    cleanups.push(() => events.delete());
    const tokens = await startTestTokenIssuer();
    cleanups.push(() => tokens.stop());
    const processEnv = {
      DATABASE_URL: db.url,
      ...events.env,
      ...tokens.env,
      NOTIFICATION_REMINDER_POLL_MS: "100",
      ...env,
    };
    const start = async () => {
      const started = await startService("notification", processEnv);
      cleanups.push(() => started.stop());
      return started;
    };
    const service = await start();
    const client = () => {
      const typed = createClient(NotificationService, `127.0.0.1:${stack.service.port}`, {
        retries: false,
      });
      cleanups.push(() => typed.close());
      return typed;
    };
    const stack = {
      db,
      events,
      tokens,
      service,
      notifications: undefined as unknown as ServiceClient<typeof NotificationService>,
      /** Stops the process with SIGTERM and starts a new one on the same database and streams. */
      async restart() {
        assert.equal(await stack.service.stop(), 0);
        stack.service = await start();
        stack.notifications = client();
      },
      stop,
    };
    stack.notifications = client();
    return stack;
  } catch (error) {
    await stop();
    throw error;
  }
}

type NotificationStack = Awaited<ReturnType<typeof startNotification>>;

/** Publishes a booking event to the stack's stream the way booking's relay does. */
function publisher(stack: () => { events: TestEventStreams }) {
  return <D extends DescMessage>(
    subject: string,
    schema: D,
    message: MessageInitShape<D>,
    { id, messageId, aggregateId = "" }: { id?: string; messageId?: string; aggregateId?: string } = {},
  ) =>
    publishTestEvent(stack().events, {
      subject,
      schema,
      message,
      aggregateId,
      source: "booking",
      ...(id ? { id } : {}),
      ...(messageId ? { messageId } : {}),
    });
}

async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last saw ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("notification service", () => {
  let stack: NotificationStack;
  before(async () => {
    stack = await startNotification();
  });
  after(() => stack?.stop());

  const publish = publisher(() => stack);
  const as = async (userId: string) => ({
    headers: { authorization: `Bearer ${await stack.tokens.sign(userId)}` },
  });
  const listAll = async (userId: string) =>
    (await stack.notifications.listNotifications({}, await as(userId))).notifications;
  const summary = async (userId: string) =>
    (await listAll(userId))
      .map((notification) => `${NotificationKind[notification.kind]} ${notification.bookingId}`)
      .sort();
  const confirmed = (bookingId: string, userId: string, tourStartTime?: Date) =>
    publish(
      "booking.confirmed",
      BookingConfirmedSchema,
      {
        bookingId,
        userId,
        tourId: "tour_rome_vatican",
        travelers: 2,
        total: { currencyCode: "EUR", minorUnits: 13_800n },
        paymentId: `pay_${bookingId}`,
        ...(tourStartTime ? { tourStartTime: timestampFromDate(tourStartTime) } : {}),
      },
      { aggregateId: bookingId },
    );

  it("turns each booking event into one notification for its traveller", async () => {
    await confirmed("bkg_a", "alice");
    await publish(
      "booking.cancelled",
      BookingCancelledSchema,
      { bookingId: "bkg_b", userId: "alice", tourId: "tour_rome_vatican", paymentId: "pay_b" },
      { aggregateId: "bkg_b" },
    );
    await publish(
      "booking.payment_failed",
      BookingPaymentFailedSchema,
      {
        bookingId: "bkg_c",
        userId: "alice",
        tourId: "tour_rome_vatican",
        reason: "payment declined: card expired",
      },
      { aggregateId: "bkg_c" },
    );
    await confirmed("bkg_d", "bob");
    const alices = await eventually(
      "alice's notifications",
      () => summary("alice"),
      (found) => found.length === 3,
    );
    assert.deepEqual(alices, ["BOOKING_CANCELLED bkg_b", "BOOKING_CONFIRMED bkg_a", "PAYMENT_FAILED bkg_c"]);
    assert.deepEqual(
      await eventually(
        "bob's",
        () => summary("bob"),
        (found) => found.length === 1,
      ),
      ["BOOKING_CONFIRMED bkg_d"],
    );
    const failed = (await listAll("alice")).find((notification) => notification.bookingId === "bkg_c");
    assert.match(failed?.message ?? "", /payment declined: card expired/);
    const sent = stack.service.logs.filter((line) => line.msg === "notification sent");
    assert.deepEqual(sent.map((line) => line.booking_id).sort(), ["bkg_a", "bkg_b", "bkg_c", "bkg_d"]);
  });

  it("makes one notification of an event delivered twice (same ce-id, a new Nats-Msg-Id)", async () => {
    const id = await confirmed("bkg_twice", "carol");
    await publish(
      "booking.confirmed",
      BookingConfirmedSchema,
      { bookingId: "bkg_twice", userId: "carol", tourId: "tour_rome_vatican", travelers: 2 },
      { id, messageId: `${id}-again`, aggregateId: "bkg_twice" },
    );
    await eventually(
      "both deliveries handled",
      async () => stack.service.logs.filter((line) => line.msg === "event handled" && line.event_id === id),
      (handled) => handled.length === 2,
    );
    assert.deepEqual(await summary("carol"), ["BOOKING_CONFIRMED bkg_twice"]);
    const sent = stack.service.logs.filter(
      (line) => line.msg === "notification sent" && line.booking_id === "bkg_twice",
    );
    assert.equal(sent.length, 1);
  });

  it("schedules no reminder for a booking whose cancellation arrived before its confirmation", async () => {
    await publish(
      "booking.cancelled",
      BookingCancelledSchema,
      { bookingId: "bkg_early", userId: "frank", tourId: "tour_rome_vatican", paymentId: "pay_bkg_early" },
      { aggregateId: "bkg_early" },
    );
    await confirmed("bkg_early", "frank", new Date(Date.now() + 3 * DAY_MS));
    await eventually(
      "frank's notifications",
      () => summary("frank"),
      (found) => found.length === 2,
    );
    const reminders = await stack.db.query(
      "SELECT booking_id, status FROM reminders WHERE user_id = 'frank'",
    );
    assert.deepEqual(reminders, [{ booking_id: "bkg_early", status: "cancelled" }]);
  });

  it("lists the caller's own notifications newest first, in pages; refuses bad input and a missing token", async () => {
    for (let index = 0; index < 5; index++) await confirmed(`bkg_page_${index}`, "dave");
    await eventually(
      "dave's notifications",
      () => summary("dave"),
      (found) => found.length === 5,
    );
    const options = await as("dave");
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await stack.notifications.listNotifications({ pageSize: 2, pageToken }, options);
      assert.ok(page.notifications.length <= 2);
      seen.push(...page.notifications.map((notification) => notification.notificationId));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    const all = await listAll("dave");
    assert.deepEqual(
      seen,
      all.map((notification) => notification.notificationId),
    );
    const times = all.map((notification) => Number(notification.createTime?.seconds ?? 0n));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      "newest first",
    );

    const badSize = await callFailure(stack.notifications.listNotifications({ pageSize: 101 }, options));
    assert.equal(badSize.code, Code.InvalidArgument);
    assert.deepEqual(badSize.fields, ["page_size"]);
    const firstPage = await stack.notifications.listNotifications({ pageSize: 2 }, options);
    const stolen = await callFailure(
      stack.notifications.listNotifications({ pageToken: firstPage.nextPageToken }, await as("alice")),
    );
    assert.equal(stolen.code, Code.InvalidArgument, "a page token is bound to its caller");
    assert.equal((await callFailure(stack.notifications.listNotifications({}))).code, Code.Unauthenticated);
  });

  it("reminds the traveller a day before the tour, once, across a restart; not for a cancelled booking", async () => {
    const startsAt = new Date(Date.now() + DAY_MS + 7_000);
    await confirmed("bkg_remind", "erin", startsAt);
    await confirmed("bkg_remind_cancelled", "erin", startsAt);
    await publish(
      "booking.cancelled",
      BookingCancelledSchema,
      { bookingId: "bkg_remind_cancelled", userId: "erin", tourId: "tour_rome_vatican", paymentId: "pay_x" },
      { aggregateId: "bkg_remind_cancelled" },
    );
    await eventually(
      "erin's notifications",
      () => summary("erin"),
      (found) => found.length === 3,
    );
    const reminders = () =>
      stack.db.query<{ booking_id: string; status: string }>(
        "SELECT booking_id, status FROM reminders WHERE user_id = 'erin' ORDER BY booking_id",
      );
    assert.deepEqual(await reminders(), [
      { booking_id: "bkg_remind", status: "scheduled" },
      { booking_id: "bkg_remind_cancelled", status: "cancelled" },
    ]);

    await stack.restart();
    await eventually(
      "the reminder",
      () => summary("erin"),
      (found) => found.includes("TOUR_REMINDER bkg_remind"),
      20_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(await summary("erin"), [
      "BOOKING_CANCELLED bkg_remind_cancelled",
      "BOOKING_CONFIRMED bkg_remind",
      "BOOKING_CONFIRMED bkg_remind_cancelled",
      "TOUR_REMINDER bkg_remind",
    ]);
    assert.deepEqual(await reminders(), [
      { booking_id: "bkg_remind", status: "sent" },
      { booking_id: "bkg_remind_cancelled", status: "cancelled" },
    ]);
  });
});

/**
 * A fake SMTP server, just enough of RFC 5321 for nodemailer: it accepts every message (or refuses the
 * first `refuse` with a temporary 451) and keeps what it accepted.
 */
async function startFakeSmtpServer({ refuse = 0 } = {}) {
  const accepted: string[] = [];
  let refused = 0;
  const server: Server = createServer((socket: Socket) => {
    socket.write("220 fake-smtp ESMTP\r\n");
    let buffer = "";
    let data: string | undefined;
    socket.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data !== undefined) {
          if (line !== ".") {
            data += `${line}\n`;
            continue;
          }
          if (refused < refuse) {
            refused++;
            socket.write("451 try again later\r\n");
          } else {
            accepted.push(data);
            socket.write("250 queued\r\n");
          }
          data = undefined;
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO" || verb === "HELO") socket.write("250-fake-smtp\r\n250 8BITMIME\r\n");
        else if (verb === "DATA") {
          data = "";
          socket.write("354 go ahead\r\n");
        } else if (verb === "QUIT") socket.end("221 bye\r\n");
        else socket.write("250 ok\r\n");
      }
    });
    socket.on("error", () => socket.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `smtp://127.0.0.1:${(server.address() as { port: number }).port}`,
    accepted,
    refusedCount: () => refused,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("notification over SMTP", () => {
  let smtp: Awaited<ReturnType<typeof startFakeSmtpServer>>;
  let stack: NotificationStack;
  before(async () => {
    smtp = await startFakeSmtpServer({ refuse: 1 });
    stack = await startNotification({
      SMTP_URL: smtp.url,
      NOTIFICATION_EMAIL_DOMAIN: "travellers.example",
      // The refused delivery comes back soon.
      EVENTS_RETRY_BASE_MS: "100",
    });
  });
  after(async () => {
    await stack?.stop();
    await smtp?.stop();
  });
  const publish = publisher(() => stack);

  it("mails the notification; a refused delivery is retried and recorded once", async () => {
    await publish(
      "booking.confirmed",
      BookingConfirmedSchema,
      {
        bookingId: "bkg_mail",
        userId: "alice",
        tourId: "tour_paris_louvre",
        travelers: 1,
        total: { currencyCode: "EUR", minorUnits: 6_900n },
      },
      { aggregateId: "bkg_mail" },
    );
    await eventually(
      "the mail",
      async () => smtp.accepted.length,
      (count) => count === 1,
    );
    const [mail] = smtp.accepted;
    assert.match(mail ?? "", /^To: alice@travellers\.example$/m);
    assert.match(mail ?? "", /^Subject: Booking bkg_mail confirmed$/m);
    assert.match(mail ?? "", /EUR 69\.00 was charged/);
    assert.equal(smtp.refusedCount(), 1, "the first delivery was refused");
    const options = { headers: { authorization: `Bearer ${await stack.tokens.sign("alice")}` } };
    const { notifications } = await stack.notifications.listNotifications({}, options);
    assert.deepEqual(
      notifications.map((notification) => notification.bookingId),
      ["bkg_mail"],
    );
  });
});
