-- Up Migration
-- Operators are told of reviews of the tours they run: a notification about no booking.
ALTER TABLE notifications ALTER COLUMN booking_id DROP NOT NULL;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
  CHECK (kind IN ('booking_confirmed', 'booking_cancelled', 'payment_failed', 'tour_reminder', 'tour_reviewed'));
-- Every kind but a review's is about a booking.
ALTER TABLE notifications ADD CONSTRAINT notifications_booking_check
  CHECK ((booking_id IS NULL) = (kind = 'tour_reviewed'));

-- Down Migration
DELETE FROM notifications WHERE kind = 'tour_reviewed';
ALTER TABLE notifications DROP CONSTRAINT notifications_booking_check;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
  CHECK (kind IN ('booking_confirmed', 'booking_cancelled', 'payment_failed', 'tour_reminder'));
ALTER TABLE notifications ALTER COLUMN booking_id SET NOT NULL;
