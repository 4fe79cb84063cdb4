import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
  BookingCancelledSchema,
  BookingConfirmedSchema,
  BookingPaymentFailedSchema,
  ReviewCreatedSchema,
} from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import {
  NotificationKind,
  type NotificationService,
} from "@tourmesh/gen/tourmesh/notification/v1/notification_pb.js";
import {
  type EventContext,
  type EventHandler,
  pageTokenCodec,
  type ServiceHandlers,
  signedInCaller,
} from "@tourmesh/platform";
import type { NotificationStore, ReminderChange, StoredNotification } from "./notification-store.js";
import {
  cancelledDraft,
  checkListNotifications,
  confirmedDraft,
  isNotificationPosition,
  type NotificationKind as Kind,
  type Notification,
  paymentFailedDraft,
  reminderDueAt,
  reviewedDraft,
} from "./notifications.js";
import type { NotificationSender } from "./senders.js";

const pageTokens = pageTokenCodec(isNotificationPosition);

const notificationKind: Record<Kind, NotificationKind> = {
  booking_confirmed: NotificationKind.BOOKING_CONFIRMED,
  booking_cancelled: NotificationKind.BOOKING_CANCELLED,
  payment_failed: NotificationKind.PAYMENT_FAILED,
  tour_reminder: NotificationKind.TOUR_REMINDER,
  tour_reviewed: NotificationKind.TOUR_REVIEWED,
};

function toProtoNotification(notification: StoredNotification) {
  return {
    notificationId: notification.notificationId,
    bookingId: notification.bookingId,
    kind: notificationKind[notification.kind],
    message: notification.message,
    createTime: timestampFromDate(notification.createTime),
  };
}

/**
 * NotificationService over gRPC: the signed-in caller's own notifications, newest first (a traveller's of their
 * bookings, an operator's of reviews of their tours).
 */
export function notificationHandlers(store: NotificationStore): ServiceHandlers<typeof NotificationService> {
  return {
    async listNotifications(request, context) {
      const caller = signedInCaller(context);
      const pageSize = checkListNotifications(request);
      const filters = { userId: caller.userId };
      const after = pageTokens.decode(request.pageToken, filters);
      const { notifications, more } = await store.list(caller.userId, after, pageSize);
      const last = notifications.at(-1);
      return {
        notifications: notifications.map(toProtoNotification),
        nextPageToken: more && last ? pageTokens.encode({ seq: last.seq }, filters) : "",
      };
    },
  };
}

/**
 * The booking events notification consumes. Each is recorded once (by its event id) together with what it does to
 * the booking's reminder, and delivered before that commits.
 */
export function bookingEventHandlers(
  store: NotificationStore,
  sender: NotificationSender,
  clock = () => new Date(),
) {
  const deliver = (notification: Notification) => sender.send(notification);
  const confirmed: EventHandler<typeof BookingConfirmedSchema, EventContext> = async (event, { id }) => {
    const tourStartTime = event.tourStartTime ? timestampDate(event.tourStartTime) : undefined;
    const dueAt = tourStartTime && reminderDueAt(tourStartTime, clock());
    const reminder: ReminderChange =
      tourStartTime && dueAt ? { type: "schedule", tourStartTime, dueAt } : { type: "none" };
    await store.recordBookingEvent(id, event, confirmedDraft({ ...event, tourStartTime }), reminder, deliver);
  };
  const cancelled: EventHandler<typeof BookingCancelledSchema, EventContext> = async (event, { id }) => {
    await store.recordBookingEvent(id, event, cancelledDraft(event), { type: "cancel" }, deliver);
  };
  const paymentFailed: EventHandler<typeof BookingPaymentFailedSchema, EventContext> = async (
    event,
    { id },
  ) => {
    await store.recordBookingEvent(id, event, paymentFailedDraft(event), { type: "none" }, deliver);
  };
  return { confirmed, cancelled, paymentFailed };
}

/**
 * ReviewCreated, for the operator of the reviewed tour: recorded once (by its event id) and delivered before
 * that commits. A review of a tour no operator runs (the catalog's own) tells nobody.
 */
export function reviewEventHandler(
  store: NotificationStore,
  sender: NotificationSender,
): EventHandler<typeof ReviewCreatedSchema, EventContext> {
  return async (review, { id }) => {
    if (review.tourOperatorId === "") return;
    await store.recordReviewEvent(id, review.tourOperatorId, reviewedDraft(review), (notification) =>
      sender.send(notification),
    );
  };
}
