/** One booked tour, placed in time. */
export interface PlannedTour {
  bookingId: string;
  title: string;
  start: Date;
  durationMinutes: number;
}

export interface TripStop extends PlannedTour {
  end: Date;
  /** The titles of the other stops that take place, at least partly, at the same time. */
  clashesWith: string[];
}

export interface TripDay {
  /** The day, as the traveller's calendar shows it (YYYY-MM-DD in the given time zone). */
  day: string;
  stops: TripStop[];
}

/**
 * The traveller's booked tours as an itinerary: by day, in order of their start, each with the stops it
 * clashes with (two tours clash when each starts before the other ends; one ending as the other starts does
 * not clash).
 */
export function planTrip(tours: PlannedTour[], timeZone?: string): TripDay[] {
  const dayOf = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });
  const stops = tours
    .map((tour) => ({
      ...tour,
      end: new Date(tour.start.getTime() + tour.durationMinutes * 60_000),
      clashesWith: [] as string[],
    }))
    .sort((a, b) => a.start.getTime() - b.start.getTime());
  for (const [index, stop] of stops.entries()) {
    for (const later of stops.slice(index + 1)) {
      if (later.start >= stop.end) break;
      stop.clashesWith.push(later.title);
      later.clashesWith.push(stop.title);
    }
  }
  const days = new Map<string, TripStop[]>();
  for (const stop of stops) {
    const day = dayOf.format(stop.start);
    days.set(day, [...(days.get(day) ?? []), stop]);
  }
  return [...days].map(([day, dayStops]) => ({ day, stops: dayStops }));
}
