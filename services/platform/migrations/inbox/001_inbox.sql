-- Up Migration
-- Events a consumer has handled, recorded in the same transaction as the handler's effect: a redelivered or
-- duplicated event (same ce-id) finds its id here and changes nothing.
CREATE TABLE inbox (
  consumer   text NOT NULL,
  event_id   text NOT NULL,
  event_type text NOT NULL,
  handled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

-- What pruning deletes: ids older than the stream keeps messages cannot come back.
CREATE INDEX inbox_by_age ON inbox (handled_at);

-- Why a delivery last failed, per consumer and stream message, so that a message that exhausts its deliveries
-- reaches the dead-letter stream with its reason, even when the process that failed it is gone.
CREATE TABLE event_failures (
  consumer        text NOT NULL,
  stream_sequence bigint NOT NULL,
  event_id        text NOT NULL,
  reason          text NOT NULL,
  deliveries      integer NOT NULL,
  failed_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, stream_sequence)
);

-- Down Migration
DROP TABLE event_failures;
DROP TABLE inbox;
