-- Up Migration
-- What travellers were told: one row per booking event handled, and one per tour reminder sent.
CREATE TABLE notifications (
  notification_id text PRIMARY KEY,
  -- Insertion order: ListNotifications pages newest first by it.
  seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  user_id         text NOT NULL,
  booking_id      text NOT NULL,
  kind            text NOT NULL
                  CHECK (kind IN ('booking_confirmed', 'booking_cancelled', 'payment_failed', 'tour_reminder')),
  message         text NOT NULL,
  -- The event it tells about: unique, so an event redelivered makes no second notification; NULL for reminders.
  event_id        text UNIQUE,
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX notifications_by_user ON notifications (user_id, seq DESC);
-- At most one reminder per booking, whatever happens.
CREATE UNIQUE INDEX one_reminder_per_booking ON notifications (booking_id) WHERE kind = 'tour_reminder';

-- A reminder per confirmed booking, due a day before its tour. Polled (FOR UPDATE SKIP LOCKED, so replicas
-- share it) and kept across restarts. A cancellation that arrives first leaves a 'cancelled' row behind, so
-- that a late confirmation does not schedule a reminder for a cancelled booking.
CREATE TABLE reminders (
  booking_id      text PRIMARY KEY,
  user_id         text NOT NULL,
  tour_id         text NOT NULL,
  tour_start_time timestamptz,
  due_at          timestamptz,
  status          text NOT NULL CHECK (status IN ('scheduled', 'sent', 'missed', 'cancelled')),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (status <> 'scheduled' OR (due_at IS NOT NULL AND tour_start_time IS NOT NULL))
);

CREATE INDEX reminders_due ON reminders (due_at) WHERE status = 'scheduled';

-- Down Migration
DROP TABLE reminders;
DROP TABLE notifications;
