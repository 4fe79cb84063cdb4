/**
 * What the catalog caches and what each change makes stale: plain functions, no Redis, no SQL.
 *
 * A cached answer carries tags, one per thing it shows or depends on: the tours it shows, and for a page of
 * ListTours the set of tours its filter selects. A change names the tags it touches; every answer carrying one
 * of them is stale from then on (redis-cache.ts keeps that promise).
 *
 * A page is selected by keyset: the first `pageSize` tours after a position, in (start_time, tour_id) order,
 * among those its filter matches, plus whether another follows. So a page changes when a tour it shows
 * changes, or when the set of tours its filter matches changes around it: a tour added or removed, moved in
 * time or to another destination (every page), or, for pages of available tours only, a tour selling out or
 * getting seats back. Other seat and rating changes only touch the pages that show the tour.
 */
import type { TourFilter, TourPosition } from "./tours.js";

export type CacheTag = string;

/** Every answer that shows this tour: its GetTour answer and the pages that list it. */
export const tourTag = (tourId: string): CacheTag => `tour:${tourId}`;
/** Every page: the set of tours any filter matches, and their order. */
export const ALL_PAGES: CacheTag = "pages";
/** Every page of available tours only: which tours have seats left. */
export const AVAILABLE_ONLY_PAGES: CacheTag = "pages:available-only";

export interface CacheEntry {
  key: string;
  tags: CacheTag[];
}

/** The GetTour answer for a tour, also when it does not exist (a negative entry), so that its creation clears it. */
export function tourEntry(tourId: string): CacheEntry {
  return { key: `tour:${tourId}`, tags: [tourTag(tourId)] };
}

/**
 * The key of a page of ListTours: the decoded query, never the page token's text, so that every token for one
 * position reads one entry (and a token the codec refuses never reaches the cache).
 */
export function tourPageKey(filter: TourFilter, after: TourPosition | undefined, pageSize: number): string {
  return `tours:${JSON.stringify([filter.destination, filter.availableOnly, after?.startTime ?? "", after?.tourId ?? "", pageSize])}`;
}

/** A page's entry, once it is known which tours it shows. */
export function tourPageEntry(
  filter: TourFilter,
  after: TourPosition | undefined,
  pageSize: number,
  shownTourIds: readonly string[],
): CacheEntry {
  return {
    key: tourPageKey(filter, after, pageSize),
    tags: [ALL_PAGES, ...(filter.availableOnly ? [AVAILABLE_ONLY_PAGES] : []), ...shownTourIds.map(tourTag)],
  };
}

/** What a tour's row holds that decides which pages list it, and where. */
export interface TourListing {
  destination: string;
  startTime: string;
  seatsAvailable: number;
}

/** A committed change to one row of `tours`, as the database announces it: no `before` for an insert, no `after` for a delete. */
export interface TourRowChange {
  tourId: string;
  before: TourListing | null;
  after: TourListing | null;
}

/** The tags a change of a tour's free seats touches: the tour, and the available-only pages when it sold out or got seats back. */
export function invalidationsForSeats(tourId: string, seatsBefore: number, seatsAfter: number): CacheTag[] {
  return seatsBefore > 0 === seatsAfter > 0 ? [tourTag(tourId)] : [tourTag(tourId), AVAILABLE_ONLY_PAGES];
}

/** The tags any committed change to a tour's row touches (seats, rating, or an edit of the tour). */
export function invalidationsForRow(change: TourRowChange): CacheTag[] {
  const { tourId, before, after } = change;
  if (!before || !after || before.destination !== after.destination || before.startTime !== after.startTime)
    return [tourTag(tourId), ALL_PAGES];
  return invalidationsForSeats(tourId, before.seatsAvailable, after.seatsAvailable);
}

/** Reads a change announced on the database's channel (see migration 003); undefined when it is not one. */
export function parseTourRowChange(payload: string): TourRowChange | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { tourId, before, after } = value as Record<string, unknown>;
  if (typeof tourId !== "string" || !isListingOrNull(before) || !isListingOrNull(after)) return undefined;
  return { tourId, before, after };
}

function isListingOrNull(value: unknown): value is TourListing | null {
  if (value === null) return true;
  if (typeof value !== "object") return false;
  const { destination, startTime, seatsAvailable } = value as Record<string, unknown>;
  return (
    typeof destination === "string" && typeof startTime === "string" && typeof seatsAvailable === "number"
  );
}
