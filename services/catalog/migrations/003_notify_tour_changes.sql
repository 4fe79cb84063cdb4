-- Up Migration
-- Every committed change to a tour is announced on the channel catalog_tour_changes, with what decides where
-- the tour is listed before and after it (no "before" for an insert, no "after" for a delete). Postgres delivers
-- a notification only when its transaction commits, to every listening session: each catalog process hears
-- of every change, whoever made it, and invalidates the cached answers it touches (src/tour-changes.ts).
CREATE FUNCTION notify_tour_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('catalog_tour_changes', json_build_object(
    'tourId', CASE WHEN TG_OP = 'DELETE' THEN OLD.tour_id ELSE NEW.tour_id END,
    'before', CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE json_build_object(
      'destination', OLD.destination, 'startTime', OLD.start_time, 'seatsAvailable', OLD.seats_available) END,
    'after', CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE json_build_object(
      'destination', NEW.destination, 'startTime', NEW.start_time, 'seatsAvailable', NEW.seats_available) END
  )::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER tours_notify_insert_or_delete AFTER INSERT OR DELETE ON tours
  FOR EACH ROW EXECUTE FUNCTION notify_tour_change();
-- An UPDATE that changes nothing shows nothing new.
CREATE TRIGGER tours_notify_update AFTER UPDATE ON tours
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION notify_tour_change();

-- Down Migration
DROP TRIGGER tours_notify_update ON tours;
DROP TRIGGER tours_notify_insert_or_delete ON tours;
DROP FUNCTION notify_tour_change();
