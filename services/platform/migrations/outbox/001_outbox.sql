-- Up Migration
-- Events a service has decided to publish, written in the same transaction as the state change they describe;
-- the relay publishes them to NATS JetStream in order per aggregate and marks them published (the
-- transactional outbox). Published rows are kept for a while to look at, then pruned.
CREATE TABLE outbox (
  position     bigserial PRIMARY KEY,
  event_id     uuid NOT NULL UNIQUE,
  aggregate_id text NOT NULL,
  -- Relative to the stream's subject prefix, e.g. "booking.confirmed".
  subject      text NOT NULL,
  event_type   text NOT NULL,
  payload      bytea NOT NULL,
  -- The W3C trace context of the change that recorded the event (traceparent, tracestate).
  trace        jsonb NOT NULL DEFAULT '{}',
  -- clock_timestamp(), not now(): when the row was written, not when its transaction began.
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz
);

-- The relay's queue, oldest first.
CREATE INDEX outbox_unpublished ON outbox (position) WHERE published_at IS NULL;
-- What pruning deletes.
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Down Migration
DROP TABLE outbox;
