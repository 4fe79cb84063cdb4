/** What the traveller asks to book: the CreateBooking request but its key. */
export interface Order {
  tourId: string;
  travelers: number;
  countryCode: string;
  promoCode: string;
}

interface Attempt extends Order {
  idempotencyKey: string;
}

/**
 * One idempotency key per booking attempt. The key is kept in sessionStorage with the order it was made
 * for until that attempt has its booking: a second click, a Retry after a lost answer, or a reload of the
 * page followed by Book again send the same key, so the booking service returns the booking it already
 * made instead of making another. A changed order, or a new attempt after a booking was made, gets a new key.
 */
const STORAGE_KEY = "tourmesh.booking-attempt";

function saved(): Attempt | undefined {
  const raw = sessionStorage.getItem(STORAGE_KEY);
  return raw === null ? undefined : (JSON.parse(raw) as Attempt);
}

const sameOrder = (a: Order, b: Order) =>
  a.tourId === b.tourId &&
  a.travelers === b.travelers &&
  a.countryCode === b.countryCode &&
  a.promoCode === b.promoCode;

export function idempotencyKeyFor(order: Order): string {
  const attempt = saved();
  if (attempt !== undefined && sameOrder(attempt, order)) return attempt.idempotencyKey;
  const idempotencyKey = crypto.randomUUID();
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ ...order, idempotencyKey }));
  return idempotencyKey;
}

/** The order of an unfinished attempt on this tour, to fill the form with after a reload. */
export function unfinishedOrder(tourId: string): Order | undefined {
  const attempt = saved();
  return attempt?.tourId === tourId ? attempt : undefined;
}

/** The attempt has its booking: the next Book is a new attempt. */
export function attemptFinished(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
