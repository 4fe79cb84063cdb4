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
  type TourDraft,
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
  operator_id: string;
  revision: number;
}

interface ReservationRow {
  reservation_id: string;
  tour_id: string;
  seats: number;
  status: ReservationStatus;
}

const tourColumns = `tour_id, title, description, destination, start_time, duration_minutes, price_currency,
  price_minor, capacity, seats_available, rating_sum, rating_count, operator_id, revision`;

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
    operatorId: row.operator_id,
    revision: row.revision,
  };
}

function toReservation(row: ReservationRow): Reservation {
  return { reservationId: row.reservation_id, tourId: row.tour_id, seats: row.seats, status: row.status };
}

const FOREIGN_KEY_VIOLATION = "23503";
/** The CHECK that keeps tours.seats_available between 0 and capacity (see migration 002). */
const SEATS_CHECK = "tours_seats_within_capacity";

const tourNotFound = (tourId: string) => new NotFoundError(`tour ${tourId} does not exist`, "tour_id");

/**
 * Where a read goes: "primary", or "replica" for a read that may be a little stale (the read replica's pool
 * when one is configured, else the primary's).
 */
export type ReadSource = "primary" | "replica";

/** The catalog's tables: tours and the seat reservations held on them. Writes always go to the primary. */
export class TourStore {
  constructor(
    private readonly db: Pool,
    private readonly replica: Pool = db,
  ) {}

  private pool(source: ReadSource): Pool {
    return source === "primary" ? this.db : this.replica;
  }

  /** One page of tours after `after`, plus whether another page follows. */
  async listTours(
    filter: TourFilter,
    after: TourPosition | undefined,
    pageSize: number,
    source: ReadSource,
  ): Promise<{ tours: Tour[]; more: boolean }> {
    const { rows } = await this.pool(source).query<TourRow>(
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

  async findTour(tourId: string, source: ReadSource): Promise<Tour | undefined> {
    const { rows } = await this.pool(source).query<TourRow>({
      name: "get-tour",
      text: `SELECT ${tourColumns} FROM tours WHERE tour_id = $1`,
      values: [tourId],
    });
    const row = rows[0];
    return row && toTour(row);
  }

  /**
   * Holds seats, at most once per reservation id, in one statement: the reservation row is inserted and the
   * tour's seat count taken down together. The count's CHECK (0 ≤ seats_available ≤ capacity) makes an
   * oversell fail the whole statement, reservation included, and Postgres serialises the statements on the
   * tour's row: concurrent reservations can never take more seats than are free. A reservation id that
   * exists already inserts nothing and takes no seats: that is a replay.
   */
  async reserveSeats(request: {
    tourId: string;
    seats: number;
    reservationId: string;
  }): Promise<{ reservation: Reservation; seatsAvailable: number }> {
    const { rows } = await this.db
      .query<ReservationRow & { seats_available: number }>(
        `WITH reservation AS (
           INSERT INTO reservations (reservation_id, tour_id, seats, status) VALUES ($1, $2, $3, 'held')
           ON CONFLICT (reservation_id) DO NOTHING
           RETURNING reservation_id, tour_id, seats, status
         ), tour AS (
           UPDATE tours SET seats_available = tours.seats_available - reservation.seats
             FROM reservation WHERE tours.tour_id = reservation.tour_id
           RETURNING tours.seats_available
         )
         SELECT reservation.*, tour.seats_available FROM reservation, tour`,
        [request.reservationId, request.tourId, request.seats],
      )
      .catch(async (error: { code?: string; constraint?: string }) => {
        if (error.code === FOREIGN_KEY_VIOLATION) throw tourNotFound(request.tourId);
        if (error.constraint === SEATS_CHECK) throw await this.notEnoughSeats(request);
        throw error;
      });
    const row = rows[0];
    if (!row) return this.replayReservation(request);
    return { reservation: toReservation(row), seatsAvailable: row.seats_available };
  }

  private async notEnoughSeats(request: { tourId: string; seats: number }): Promise<FailedPreconditionError> {
    const { rows } = await this.db.query<{ seats_available: number }>(
      "SELECT seats_available FROM tours WHERE tour_id = $1",
      [request.tourId],
    );
    return new FailedPreconditionError(
      `tour ${request.tourId} has ${rows[0]?.seats_available ?? 0} seats left, ${request.seats} asked for`,
    );
  }

  private async replayReservation(request: {
    tourId: string;
    seats: number;
    reservationId: string;
  }): Promise<{ reservation: Reservation; seatsAvailable: number }> {
    const { rows } = await this.db.query<ReservationRow & { seats_available: number }>(
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

  /**
   * Gives a reservation's seats back once, in one statement; releasing it again returns it unchanged.
   * `seatsAvailable` is the tour's count after this release, undefined when this call released nothing.
   */
  async releaseSeats(
    reservationId: string,
  ): Promise<{ reservation: Reservation; seatsAvailable: number | undefined }> {
    const released = await this.db.query<ReservationRow & { seats_available: number }>(
      `WITH released AS (
         UPDATE reservations SET status = 'released', released_at = now()
          WHERE reservation_id = $1 AND status = 'held'
          RETURNING reservation_id, tour_id, seats, status
       ), tour AS (
         UPDATE tours SET seats_available = tours.seats_available + released.seats
           FROM released WHERE tours.tour_id = released.tour_id
         RETURNING tours.seats_available
       )
       SELECT released.*, tour.seats_available FROM released, tour`,
      [reservationId],
    );
    const releasedNow = released.rows[0];
    if (releasedNow)
      return { reservation: toReservation(releasedNow), seatsAvailable: releasedNow.seats_available };
    const row = (
      await this.db.query<ReservationRow>(
        "SELECT reservation_id, tour_id, seats, status FROM reservations WHERE reservation_id = $1",
        [reservationId],
      )
    ).rows[0];
    if (!row) throw new NotFoundError(`reservation ${reservationId} does not exist`, "reservation_id");
    return { reservation: toReservation(row), seatsAvailable: undefined };
  }

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

  /** Adds tours that are not there yet, run by `operatorId`; existing tours are left as they are. */
  async addTours(tours: readonly TourDraft[], operatorId = ""): Promise<Tour[]> {
    const added: Tour[] = [];
    for (const tour of tours) {
      const { rows } = await this.db.query<TourRow>(
        `INSERT INTO tours (${tourColumns})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 0, 0, $10, 1)
         ON CONFLICT (tour_id) DO NOTHING
         RETURNING ${tourColumns}`,
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
          operatorId,
        ],
      );
      added.push(...rows.map(toTour));
    }
    return added;
  }

  /** Creates a tour run by `operatorId`; ALREADY_EXISTS when its id is taken. */
  async createTour(tour: TourDraft, operatorId: string): Promise<Tour> {
    const [created] = await this.addTours([tour], operatorId);
    if (!created) throw new AlreadyExistsError(`tour ${tour.tourId} already exists`);
    return created;
  }

  /**
   * Writes what `edit` (an operator's edit, applyTourUpdate) makes of the tour as it is now: its row is locked
   * from the read to the write, so that no reservation or other edit slips in between and the seats held stay
   * counted.
   */
  async updateTour(tourId: string, edit: (current: Tour) => Tour): Promise<Tour> {
    return inTransaction(this.db, async (tx) => {
      const { rows } = await tx.query<TourRow>(
        `SELECT ${tourColumns} FROM tours WHERE tour_id = $1 FOR UPDATE`,
        [tourId],
      );
      const row = rows[0];
      if (!row) throw tourNotFound(tourId);
      const next = edit(toTour(row));
      const updated = await tx.query<TourRow>(
        `UPDATE tours SET title = $2, description = $3, destination = $4, start_time = $5,
           duration_minutes = $6, price_currency = $7, price_minor = $8, capacity = $9, seats_available = $10,
           revision = $11
         WHERE tour_id = $1
         RETURNING ${tourColumns}`,
        [
          tourId,
          next.title,
          next.description,
          next.destination,
          next.startTime,
          next.durationMinutes,
          next.price.currencyCode,
          next.price.minorUnits,
          next.capacity,
          next.seatsAvailable,
          next.revision,
        ],
      );
      return toTour(updated.rows[0] as TourRow);
    });
  }

  /** The tour's operator and how it is booked: the reservations holding seats, and those seats. */
  async occupancy(
    tourId: string,
  ): Promise<{ operatorId: string; capacity: number; bookings: number; seatsHeld: number }> {
    const { rows } = await this.db.query<{
      operator_id: string;
      capacity: number;
      bookings: number;
      seats_held: number;
    }>(
      `SELECT t.operator_id, t.capacity,
              count(r.reservation_id)::int AS bookings, coalesce(sum(r.seats), 0)::int AS seats_held
         FROM tours t LEFT JOIN reservations r ON r.tour_id = t.tour_id AND r.status = 'held'
        WHERE t.tour_id = $1
        GROUP BY t.tour_id`,
      [tourId],
    );
    const row = rows[0];
    if (!row) throw tourNotFound(tourId);
    return {
      operatorId: row.operator_id,
      capacity: row.capacity,
      bookings: row.bookings,
      seatsHeld: row.seats_held,
    };
  }
}
