/**
 * The catalog's domain: what a tour and a reservation are, what makes a request to list, reserve, release,
 * create or update valid, and who may change a tour. Plain types and functions; no transport, no SQL.
 */
import {
  AbortedError,
  FailedPreconditionError,
  PermissionDeniedError,
  RequestCheck,
} from "@tourmesh/platform";

export interface Money {
  currencyCode: string;
  minorUnits: number;
}

/** What whoever creates a tour says about it; its seats start all free and its ratings empty. */
export interface TourDraft {
  tourId: string;
  title: string;
  description: string;
  destination: string;
  startTime: Date;
  durationMinutes: number;
  price: Money;
  capacity: number;
}

export interface Tour extends TourDraft {
  seatsAvailable: number;
  ratingAverage: number;
  ratingCount: number;
  /** The user who runs the tour; '' for the catalog's own tours. */
  operatorId: string;
  /** Bumped by every operator's edit: what the tour's etag is made of. */
  revision: number;
}

/** The etag of a tour at a revision (AIP-154): opaque to clients, compared as is. */
export function etagOf(tour: { revision: number }): string {
  return String(tour.revision);
}

export type ReservationStatus = "held" | "released";

export interface Reservation {
  reservationId: string;
  tourId: string;
  seats: number;
  status: ReservationStatus;
}

/** Tours are listed soonest first; the id breaks ties so that pages never skip or repeat a tour. */
export interface TourPosition {
  startTime: string;
  tourId: string;
}

export interface TourFilter {
  /** Lower-cased; empty for every destination. */
  destination: string;
  availableOnly: boolean;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const MAX_SEATS_PER_RESERVATION = 50;
const MAX_ID_LENGTH = 128;

export function isTourPosition(value: unknown): value is TourPosition {
  if (typeof value !== "object" || value === null) return false;
  const { startTime, tourId } = value as Record<string, unknown>;
  return (
    typeof startTime === "string" &&
    !Number.isNaN(Date.parse(startTime)) &&
    typeof tourId === "string" &&
    tourId.length > 0
  );
}

export interface ListToursQuery {
  filter: TourFilter;
  pageSize: number;
}

/** `destinationField` names the destination in a bad request's field violation: v2 nests it in `filter`. */
export function checkListTours(
  request: {
    destination: string;
    availableOnly: boolean;
    pageSize: number;
  },
  destinationField = "destination",
): ListToursQuery {
  new RequestCheck()
    .text(destinationField, request.destination, { max: 100, required: false })
    .pageSize("page_size", request.pageSize, MAX_PAGE_SIZE)
    .done();
  return {
    filter: { destination: request.destination.trim().toLowerCase(), availableOnly: request.availableOnly },
    pageSize: request.pageSize === 0 ? DEFAULT_PAGE_SIZE : request.pageSize,
  };
}

export function checkTourId(tourId: string): void {
  new RequestCheck().text("tour_id", tourId, { max: MAX_ID_LENGTH }).done();
}

export function checkReserveSeats(request: { tourId: string; seats: number; reservationId: string }): void {
  new RequestCheck()
    .text("tour_id", request.tourId, { max: MAX_ID_LENGTH })
    .intRange("seats", request.seats, 1, MAX_SEATS_PER_RESERVATION)
    .text("reservation_id", request.reservationId, { max: MAX_ID_LENGTH })
    .done();
}

export function checkReleaseSeats(request: { reservationId: string }): void {
  new RequestCheck().text("reservation_id", request.reservationId, { max: MAX_ID_LENGTH }).done();
}

/** A replayed reservation id must describe the same reservation; anything else is a client bug. */
export function isSameReservation(
  existing: Reservation,
  request: { tourId: string; seats: number },
): boolean {
  return existing.tourId === request.tourId && existing.seats === request.seats;
}

export function ratingAverage(ratingSum: number, ratingCount: number): number {
  return ratingCount === 0 ? 0 : Math.round((ratingSum / ratingCount) * 100) / 100;
}

/** The fields an operator sets on a tour: by CreateTour all of them, by UpdateTour those its mask names. */
export type EditableTourField = Exclude<keyof TourDraft, "tourId">;

const editableTourFields: readonly EditableTourField[] = [
  "title",
  "description",
  "destination",
  "startTime",
  "durationMinutes",
  "price",
  "capacity",
];

/**
 * How a version of the contract names each editable field of its Tour message: the field's path in
 * UpdateTour's update_mask, which is also its name after `tour.` in a bad request's field violation (v1's
 * `capacity`, v2's `seats.capacity`). One table per version, so that a caller is answered in its own terms.
 */
export type TourFieldPaths = Readonly<Record<EditableTourField, string>>;

export const MAX_CAPACITY = 1_000;
const MAX_DURATION_MINUTES = 14 * 24 * 60;
const TOUR_ID_PATTERN = /^tour_[a-z0-9_]{1,60}$/;

/** The values a request gives for a tour's fields; a message field the request left out is undefined. */
export type GivenTourFields = Partial<Omit<TourDraft, "tourId">>;

/** Checks `fields` of a tour, naming each violation `tour.` and the field's path in `paths`. */
function checkTourFields(
  check: RequestCheck,
  tour: GivenTourFields,
  fields: readonly EditableTourField[],
  now: Date,
  paths: TourFieldPaths,
): void {
  for (const field of fields) {
    const name = `tour.${paths[field]}`;
    switch (field) {
      case "title":
        check.text(name, tour.title ?? "", { max: 200 });
        break;
      case "description":
        check.text(name, tour.description ?? "", { max: 2_000 });
        break;
      case "destination":
        check.text(name, tour.destination ?? "", { max: 100 });
        break;
      case "startTime":
        check.that(tour.startTime !== undefined && tour.startTime > now, name, "must be in the future");
        break;
      case "durationMinutes":
        check.intRange(name, tour.durationMinutes ?? 0, 1, MAX_DURATION_MINUTES);
        break;
      case "price":
        check
          .that(
            /^[A-Z]{3}$/.test(tour.price?.currencyCode ?? ""),
            `${name}.currency_code`,
            "must be an ISO 4217 code, e.g. EUR",
          )
          .that(
            Number.isSafeInteger(tour.price?.minorUnits) && (tour.price?.minorUnits ?? 0) > 0,
            `${name}.minor_units`,
            "must be more than 0",
          );
        break;
      case "capacity":
        check.intRange(name, tour.capacity ?? 0, 1, MAX_CAPACITY);
        break;
    }
  }
}

/** A CreateTour request as the catalog reads it: the id asked for (or '') and the tour's fields. */
export interface CreateTourInput {
  tourId: string;
  tour: GivenTourFields;
}

/**
 * The tour of a CreateTour request; `newTourId` makes its id when the request gives none, and `paths` names
 * its fields in violations.
 */
export function checkCreateTour(
  request: CreateTourInput,
  now: Date,
  newTourId: () => string,
  paths: TourFieldPaths,
): TourDraft {
  const check = new RequestCheck().that(
    request.tourId === "" || TOUR_ID_PATTERN.test(request.tourId),
    "tour_id",
    'must be "tour_" then 1-60 lower-case letters, digits or "_"',
  );
  checkTourFields(check, request.tour, editableTourFields, now, paths);
  check.done();
  // Every field was checked present just above.
  return { ...(request.tour as Omit<TourDraft, "tourId">), tourId: request.tourId || newTourId() };
}

/** An UpdateTour request as the catalog reads it: the tour's id, etag and new values, and the mask's paths. */
export interface UpdateTourInput {
  tour: GivenTourFields & { tourId: string; etag: string };
  paths: readonly string[];
}

/** What an UpdateTour request changes: the fields its mask names, with their new values. */
export interface TourUpdate {
  etag: string;
  changes: GivenTourFields;
}

/**
 * The tour to change and the update; throws INVALID_ARGUMENT for a bad mask or value. The mask's paths are
 * read, and violations named, by `paths`.
 */
export function checkUpdateTour(
  request: UpdateTourInput,
  now: Date,
  paths: TourFieldPaths,
): TourUpdate & { tourId: string } {
  const check = new RequestCheck()
    .text("tour.tour_id", request.tour.tourId, { max: MAX_ID_LENGTH })
    .that(request.paths.length > 0, "update_mask", "must name the fields to change");
  const fields: EditableTourField[] = [];
  for (const path of request.paths) {
    const field = editableTourFields.find((editable) => paths[editable] === path);
    check.that(
      field !== undefined,
      "update_mask",
      `${path} cannot be changed; the fields that can: ${editableTourFields.map((editable) => paths[editable]).join(", ")}`,
    );
    if (field !== undefined) fields.push(field);
  }
  checkTourFields(check, request.tour, fields, now, paths);
  check.done();
  const changes: GivenTourFields = {};
  for (const field of fields) Object.assign(changes, { [field]: request.tour[field] });
  return { tourId: request.tour.tourId, etag: request.tour.etag, changes };
}

/** Only a tour's operator may edit it or see how it is booked: PERMISSION_DENIED for anyone else. */
export function checkOperator(tour: { tourId: string; operatorId: string }, callerId: string): void {
  if (tour.operatorId !== callerId) {
    throw new PermissionDeniedError(`tour ${tour.tourId} is not one of yours`);
  }
}

/**
 * What an operator's edit makes of `current`: only the tour's operator may edit it; an etag given must be the
 * current one (ABORTED otherwise: the tour changed since the caller read it); the capacity never drops below
 * the seats already held, whose count the free seats keep (FAILED_PRECONDITION naming the capacity by
 * `paths`).
 */
export function applyTourUpdate(
  current: Tour,
  update: TourUpdate,
  callerId: string,
  paths: TourFieldPaths,
): Tour {
  checkOperator(current, callerId);
  if (update.etag !== "" && update.etag !== etagOf(current)) {
    throw new AbortedError(
      `tour ${current.tourId} has changed since it was read (etag ${update.etag}, now ${etagOf(current)}): read it again`,
    );
  }
  const seatsHeld = current.capacity - current.seatsAvailable;
  const capacity = update.changes.capacity ?? current.capacity;
  if (capacity < seatsHeld) {
    throw new FailedPreconditionError(
      `tour ${current.tourId} has ${seatsHeld} seats held: its capacity cannot be ${capacity}`,
      `tour.${paths.capacity}`,
    );
  }
  return {
    ...current,
    ...update.changes,
    capacity,
    seatsAvailable: capacity - seatsHeld,
    revision: current.revision + 1,
  };
}

/** How a tour is booked, for its operator. */
export interface TourOccupancy {
  tourId: string;
  /** Reservations holding seats on the tour. */
  bookings: number;
  seatsHeld: number;
  capacity: number;
}
