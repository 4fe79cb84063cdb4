/**
 * The catalog's domain: what a tour and a reservation are, and what makes a request to list, reserve or
 * release valid. Plain types and functions; no transport, no SQL.
 */
import { RequestCheck } from "@tourmesh/platform";

export interface Money {
  currencyCode: string;
  minorUnits: number;
}

export interface Tour {
  tourId: string;
  title: string;
  description: string;
  destination: string;
  startTime: Date;
  durationMinutes: number;
  price: Money;
  capacity: number;
  seatsAvailable: number;
  ratingAverage: number;
  ratingCount: number;
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
