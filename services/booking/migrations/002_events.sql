-- Up Migration
-- When the booked tour starts, as catalog said when the booking was made: BookingConfirmed carries it, so
-- that notification can remind the traveller the day before. NULL for bookings made before it was kept.
ALTER TABLE bookings ADD COLUMN tour_start_time timestamptz;

-- Retries are woken by BookingPaymentRequested events on JetStream and take their booking by id: nothing
-- scans the table for due work any more.
DROP INDEX bookings_due;

-- Down Migration
CREATE INDEX bookings_due ON bookings (next_attempt_at) WHERE work IS NOT NULL;
ALTER TABLE bookings DROP COLUMN tour_start_time;
