import {
  AlreadyExistsError,
  FailedPreconditionError,
  inTransaction,
  NotFoundError,
  type Pool,
  type PoolClient,
} from "@tourmesh/platform";
import {
  isSameReservation,
  type Reservation,
  type ReservationStatus,
  ratingAverage,
  type Tour,
  type TourFilter,
  type TourPosition,
} from "./tours.js";

interface TourRow {
  tour_id: string;
  title: string;
  description: string;
  destination: string;
  start_time: Date;
  duration_minutes: number;
  price_currency: string;
  price_minor: string;
  capacity: number;
  seats_available: number;
  rating_sum: string;
  rating_count: number;
}

interface ReservationRow {
  reservation_id: string;
  tour_id: string;
  seats: number;
  status: ReservationStatus;
}

const tourColumns = `tour_id, title, description, destination, start_time, duration_minutes, price_currency,
  price_minor, capacity, seats_available, rating_sum, rating_count`;

function toTour(row: TourRow): Tour {
  const ratingSum = Number(row.rating_sum);
  return {
    tourId: row.tour_id,
    title: row.title,
    description: row.description,
    destination: row.destination,
    startTime: row.start_time,
    durationMinutes: row.duration_minutes,
    price: { currencyCode: row.price_currency, minorUnits: Number(row.price_minor) },
    capacity: row.capacity,
    seatsAvailable: row.seats_available,
    ratingAverage: ratingAverage(ratingSum, row.rating_count),
    ratingCount: row.rating_count,
  };
}

function toReservation(row: ReservationRow): Reservation {
  return { reservationId: row.reservation_id, tourId: row.tour_id, seats: row.seats, status: row.status };
}

const tourNotFound = (tourId: string) => new NotFoundError(`tour ${tourId} does not exist`, "tour_id");

/** The catalog's tables: tours and the seat reservations held on them. */
export class TourStore {
  constructor(private readonly db: Pool) {}

  /** One page of tours after `after`, plus whether another page follows. */
  async listTours(
    filter: TourFilter,
    after: TourPosition | undefined,
    pageSize: number,
  ): Promise<{ tours: Tour[]; more: boolean }> {
    const { rows } = await this.db.query<TourRow>(
      `SELECT ${tourColumns} FROM tours
        WHERE ($1 = '' OR lower(destination) = $1)
          AND (NOT $2 OR seats_available > 0)
          AND ($3::timestamptz IS NULL OR (start_time, tour_id) > ($3::timestamptz, $4))
        ORDER BY start_time, tour_id
        LIMIT $5`,
      [filter.destination, filter.availableOnly, after?.startTime ?? null, after?.tourId ?? "", pageSize + 1],
    );
    return { tours: rows.slice(0, pageSize).map(toTour), more: rows.length > pageSize };
  }

  async getTour(tourId: string): Promise<Tour> {
    const { rows } = await this.db.query<TourRow>({
      name: "get-tour",
      text: `SELECT ${tourColumns} FROM tours WHERE tour_id = $1`,
      values: [tourId],
    });
    const row = rows[0];
    if (!row) throw tourNotFound(tourId);
    return toTour(row);
  }

  /**
   * Holds seats, at most once per reservation id. The seat count drops in one conditional UPDATE, which
   * Postgres serialises on the tour's row: concurrent reservations can never take more seats than are free.
   */
  async reserveSeats(request: {
    tourId: string;
    seats: number;
    reservationId: string;
  }): Promise<{ reservation: Reservation; seatsAvailable: number }> {
    return inTransaction(this.db, async (client) => {
      const inserted = await client
        .query<ReservationRow>(
          `INSERT INTO reservations (reservation_id, tour_id, seats, status) VALUES ($1, $2, $3, 'held')
           ON CONFLICT (reservation_id) DO NOTHING
           RETURNING reservation_id, tour_id, seats, status`,
          [request.reservationId, request.tourId, request.seats],
        )
        .catch((error: { code?: string }) => {
          throw error.code === "23503" ? tourNotFound(request.tourId) : error;
        });
      const reservation = inserted.rows[0];
      if (!reservation) return this.replayReservation(client, request);

      const updated = await client.query<{ seats_available: number }>(
        `UPDATE tours SET seats_available = seats_available - $2
          WHERE tour_id = $1 AND seats_available >= $2
          RETURNING seats_available`,
        [request.tourId, request.seats],
      );
      const seatsAvailable = updated.rows[0]?.seats_available;
      if (seatsAvailable === undefined) {
        const left = await client.query<{ seats_available: number }>(
          "SELECT seats_available FROM tours WHERE tour_id = $1",
          [request.tourId],
        );
        throw new FailedPreconditionError(
          `tour ${request.tourId} has ${left.rows[0]?.seats_available ?? 0} seats left, ${request.seats} asked for`,
        );
      }
      return { reservation: toReservation(reservation), seatsAvailable };
    });
  }

  private async replayReservation(
    client: PoolClient,
    request: { tourId: string; seats: number; reservationId: string },
  ): Promise<{ reservation: Reservation; seatsAvailable: number }> {
    const { rows } = await client.query<ReservationRow & { seats_available: number }>(
      `SELECT r.reservation_id, r.tour_id, r.seats, r.status, t.seats_available
         FROM reservations r JOIN tours t USING (tour_id) WHERE r.reservation_id = $1`,
      [request.reservationId],
    );
    const row = rows[0];
    if (!row) throw new Error(`reservation ${request.reservationId} conflicted but cannot be read`);
    const reservation = toReservation(row);
    if (!isSameReservation(reservation, request)) {
      throw new AlreadyExistsError(
        `reservation ${request.reservationId} already exists for ${reservation.seats} seats on tour ${reservation.tourId}`,
      );
    }
    return { reservation, seatsAvailable: row.seats_available };
  }

  /** Gives a reservation's seats back once; releasing it again returns it unchanged. */
  async releaseSeats(reservationId: string): Promise<Reservation> {
    return inTransaction(this.db, async (client) => {
      const released = await client.query<ReservationRow>(
        `UPDATE reservations SET status = 'released', released_at = now()
          WHERE reservation_id = $1 AND status = 'held'
          RETURNING reservation_id, tour_id, seats, status`,
        [reservationId],
      );
      const reservation = released.rows[0];
      if (reservation) {
        await client.query("UPDATE tours SET seats_available = seats_available + $2 WHERE tour_id = $1", [
          reservation.tour_id,
          reservation.seats,
        ]);
        return toReservation(reservation);
      }
      const existing = await client.query<ReservationRow>(
        "SELECT reservation_id, tour_id, seats, status FROM reservations WHERE reservation_id = $1",
        [reservationId],
      );
      const row = existing.rows[0];
      if (!row) throw new NotFoundError(`reservation ${reservationId} does not exist`, "reservation_id");
      return toReservation(row);
    });
  }

  /** Adds tours that are not there yet; existing tours are left as they are. */
  /**
   * Counts one review's rating into the tour's average, in `tx`: the transaction that also marks the
   * ReviewCreated event handled, so a redelivered event is never counted twice.
   */
  async addRating(tx: PoolClient, tourId: string, rating: number): Promise<void> {
    const { rowCount } = await tx.query(
      "UPDATE tours SET rating_sum = rating_sum + $2, rating_count = rating_count + 1 WHERE tour_id = $1",
      [tourId, rating],
    );
    if (rowCount === 0) throw tourNotFound(tourId);
  }

  async addTours(tours: readonly Tour[]): Promise<number> {
    let added = 0;
    for (const tour of tours) {
      const { rowCount } = await this.db.query(
        `INSERT INTO tours (${tourColumns})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 0)
         ON CONFLICT (tour_id) DO NOTHING`,
        [
          tour.tourId,
          tour.title,
          tour.description,
          tour.destination,
          tour.startTime,
          tour.durationMinutes,
          tour.price.currencyCode,
          tour.price.minorUnits,
          tour.capacity,
          tour.seatsAvailable,
        ],
      );
      added += rowCount ?? 0;
    }
    return added;
  }
}
