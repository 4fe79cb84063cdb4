-- Up Migration
-- The table itself wakes the relay: every insert NOTIFYs (delivered on commit, once per transaction), so that
-- a service can record events inside its own statement (see recordingEvents) instead of a statement of their own.
CREATE FUNCTION outbox_notify_relay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tourmesh_outbox', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify_relay AFTER INSERT ON outbox
  FOR EACH ROW EXECUTE FUNCTION outbox_notify_relay();

-- Down Migration
DROP TRIGGER outbox_notify_relay ON outbox;
DROP FUNCTION outbox_notify_relay();
