-- Up Migration
-- Whether a BookingPaymentRequested has been recorded for the booking's current work. A new booking's first
-- attempt runs inside CreateBooking and mostly settles it there, so it records none up front: the attempt
-- records one only when it leaves the work owed, and the sweep records one for work whose attempt died with
-- its process (its lease ran out with nobody asking for a retry). Bookings from before all had theirs.
ALTER TABLE bookings ADD COLUMN retry_requested boolean NOT NULL DEFAULT true;

-- The sweep's queue: owed work that nobody has asked to retry, by when its attempt's lease ends.
CREATE INDEX bookings_unrequested_work ON bookings (next_attempt_at)
  WHERE work IS NOT NULL AND NOT retry_requested;

-- Down Migration
DROP INDEX bookings_unrequested_work;
ALTER TABLE bookings DROP COLUMN retry_requested;
