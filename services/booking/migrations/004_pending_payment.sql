-- Up Migration
-- Bookings waiting for their payment, oldest first: what the pending-payment metrics read at every scrape
-- (how many, and how long the oldest has waited) without scanning every booking. Bookings leave it as they settle.
CREATE INDEX bookings_pending_payment ON bookings (created_at) WHERE status = 'PENDING_PAYMENT';

-- Down Migration
DROP INDEX bookings_pending_payment;
