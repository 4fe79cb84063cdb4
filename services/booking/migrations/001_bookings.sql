-- Up Migration
CREATE TABLE bookings (
  booking_id       text PRIMARY KEY,
  -- Insertion order: ListBookings pages newest first by it.
  seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  user_id          text NOT NULL,
  idempotency_key  text NOT NULL,
  tour_id          text NOT NULL,
  travelers        integer NOT NULL CHECK (travelers BETWEEN 1 AND 50),
  -- The quote agreed when the booking was made.
  promo_code       text NOT NULL,
  country_code     char(2) NOT NULL,
  currency         char(3) NOT NULL,
  unit_price_minor bigint NOT NULL CHECK (unit_price_minor > 0),
  base_minor       bigint NOT NULL,
  discount_minor   bigint NOT NULL,
  discount_rate_bp integer NOT NULL,
  tax_minor        bigint NOT NULL,
  tax_rate_bp      integer NOT NULL,
  total_minor      bigint NOT NULL CHECK (total_minor > 0),
  status           text NOT NULL
                   CHECK (status IN ('PENDING_PAYMENT', 'CONFIRMED', 'PAYMENT_FAILED', 'CANCELLED')),
  payment_id       text NOT NULL DEFAULT '',
  failure_reason   text NOT NULL DEFAULT '',
  -- Work the booking still owes (see booking-state.ts), how often it was tried, and when it is next due.
  work             text CHECK (work IN ('settle', 'compensate')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  -- One booking per user and idempotency key, however many requests race to create it.
  UNIQUE (user_id, idempotency_key),
  CHECK ((work IS NULL) = (next_attempt_at IS NULL)),
  CHECK (work IS DISTINCT FROM 'settle' OR status = 'PENDING_PAYMENT'),
  CHECK (status <> 'CONFIRMED' OR payment_id <> '')
);

CREATE INDEX bookings_by_user ON bookings (user_id, seq DESC);
-- The worker's queue: bookings with work due, soonest first.
CREATE INDEX bookings_due ON bookings (next_attempt_at) WHERE work IS NOT NULL;

-- Down Migration
DROP TABLE bookings;
