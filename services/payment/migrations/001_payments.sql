-- Up Migration
CREATE TABLE payments (
  payment_id             text PRIMARY KEY,
  -- One payment per charge key, enforced by the database: a replayed or concurrent Charge with the same key
  -- finds this row instead of charging again.
  idempotency_key        text NOT NULL UNIQUE,
  booking_id             text NOT NULL,
  currency               char(3) NOT NULL,
  amount_minor           bigint NOT NULL CHECK (amount_minor > 0),
  status                 text NOT NULL CHECK (status IN ('succeeded', 'declined', 'refunded')),
  decline_reason         text NOT NULL DEFAULT '',
  -- The key of the refund that refunded the payment; a key refunds at most one payment.
  refund_idempotency_key text UNIQUE,
  created_at             timestamptz NOT NULL DEFAULT now(),
  refunded_at            timestamptz,
  CHECK ((status = 'declined') = (decline_reason <> '')),
  CHECK ((status = 'refunded') = (refund_idempotency_key IS NOT NULL AND refunded_at IS NOT NULL))
);

CREATE INDEX payments_by_booking ON payments (booking_id);

-- Down Migration
DROP TABLE payments;
