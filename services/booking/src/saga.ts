import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import {
  type Payment,
  type PaymentService,
  PaymentStatus,
} from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import {
  AlreadyExistsError,
  currentCallContext,
  FailedPreconditionError,
  type Logger,
  NotFoundError,
  type ServiceClient,
} from "@tourmesh/platform";
import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from "cockatiel";
import { LRUCache } from "lru-cache";
import type { BookingFlags } from "./booking-flags.js";
import type { BookingMetrics, SettleOutcome } from "./booking-metrics.js";
import { type BookingEvent, needsRefund } from "./booking-state.js";
import type { BookingStore, StoredBooking } from "./booking-store.js";
import {
  type BookingRequest,
  chargeKey,
  isSameBookingRequest,
  promoForNewBooking,
  type QuoteRequest,
  refundKey,
} from "./bookings.js";
import { priceQuote, type Quote } from "./quote.js";
import { afterUnansweredAttempt, type RetrySchedule, retryDelayMs } from "./retry-schedule.js";
import { TourFactsCache } from "./tour-facts.js";

export interface SagaOptions {
  /** Deadline of one Charge (and Refund) call. */
  chargeTimeoutMs: number;
  /** Deadline of one catalog call. */
  catalogTimeoutMs: number;
  /** How long a tour's price and start time, once read from the catalog, are used without asking again. */
  tourFactsTtlMs: number;
  schedule: RetrySchedule;
  /** The breaker around Charge opens after this many failures in a row... */
  breakerThreshold: number;
  /** ...and lets one trial call through after this long. */
  breakerHalfOpenAfterMs: number;
}

/**
 * Bookings whose recorded charge is remembered. Payment's PaymentSucceeded mostly arrives within milliseconds
 * of the charge's answer, so a few thousand cover many seconds of bookings at the rates one process serves;
 * a later one (NATS was down) costs one read of the booking. Each entry holds a few hundred bytes of heap,
 * so the bound keeps the memory to about a megabyte.
 */
const RECORDED_CHARGES_KEPT = 4_096;

/** Time kept back from CreateBooking's deadline to record an unanswered charge and answer. */
const ANSWER_MARGIN_MS = 400;

/** Statuses that say the request itself is wrong, not that the service failed: they do not trip the breaker. */
const requestErrors = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.FailedPrecondition,
  Code.PermissionDenied,
  Code.Unauthenticated,
  Code.OutOfRange,
]);

const isServiceFailure = (error: unknown) =>
  !(error instanceof ConnectError && requestErrors.has(error.code));
const hasCode = (error: unknown, code: Code) => error instanceof ConnectError && error.code === code;
const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The booking saga. Its log is the booking row: written PENDING_PAYMENT first, then seats are held (catalog
 * ReserveSeats, reservation id = booking id), then the charge is made (payment Charge, idempotency key derived
 * from the booking id) and the booking is CONFIRMED. A decline ends it PAYMENT_FAILED and gives the seats back.
 * When a step gets no answer, the booking stays PENDING_PAYMENT and the retries (woken by the
 * BookingPaymentRequested that the unanswered attempt records, or that the sweep records when the attempt's
 * process died; see payment-retries.ts) repeat the steps later with backoff; since every step is idempotent by
 * the booking id, a repeat never holds seats twice or charges twice, even when the unanswered call did go
 * through. Each change of state records its events in the booking's outbox.
 */
export class BookingSaga {
  /** How long a settle or compensation attempt may take before another process may take it over. */
  readonly leaseMs: number;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly tours: TourFactsCache;
  /**
   * The charge each booking recorded by this process holds. A booking has at most one (every charge of it
   * has the booking's key), so a PaymentSucceeded that names it is already known here.
   */
  private readonly recordedCharges = new LRUCache<string, string>({ max: RECORDED_CHARGES_KEPT });
  /**
   * This process's settle attempts in progress, by booking. Payment's PaymentSucceeded usually gets here before
   * the Charge call's own answer has been recorded (the event path is quicker than the reply and the write):
   * waiting for the attempt lets its answer record the charge once, instead of a read and a second write
   * racing it for the same row.
   */
  private readonly settling = new Map<string, Promise<StoredBooking>>();

  constructor(
    private readonly store: BookingStore,
    private readonly catalog: ServiceClient<typeof CatalogService>,
    private readonly payment: ServiceClient<typeof PaymentService>,
    private readonly options: SagaOptions,
    private readonly logger: Logger,
    private readonly metrics: BookingMetrics,
  ) {
    this.leaseMs = options.chargeTimeoutMs * 2 + options.catalogTimeoutMs * 2 + 1_000;
    this.tours = new TourFactsCache(catalog, options.tourFactsTtlMs, options.catalogTimeoutMs);
    this.breaker = circuitBreaker(handleWhen(isServiceFailure), {
      halfOpenAfter: options.breakerHalfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.breakerThreshold),
    });
    this.breaker.onStateChange((state) =>
      this.logger.warn({ circuit: CircuitState[state] }, "payment circuit breaker changed state"),
    );
    metrics.watchPaymentCircuit(() => this.breaker.state);
  }

  async quote(request: QuoteRequest, flags: BookingFlags): Promise<Quote> {
    const tour = await this.tours.get(request.tourId, { cached: flags.tourFactsCache });
    return priceQuote({ ...request, unitPrice: tour.price, rules: flags.pricing });
  }

  /**
   * CreateBooking: makes the booking and runs its first settle attempt, or replays the user's booking with this
   * key. The unique key decides (the insert writes nothing when the key is taken), so a new booking costs no
   * lookup first; only when a new booking cannot be made (its promo code has expired since, the catalog cannot
   * be asked) is the key looked up, since a replay must still find its booking then.
   */
  async create(
    userId: string,
    request: BookingRequest,
    now: Date,
    flags: BookingFlags,
  ): Promise<StoredBooking> {
    let quote: Quote;
    let tourStartTime: Date | undefined;
    try {
      const promo = promoForNewBooking(request, now);
      const tour = await this.tours.get(request.tourId, { cached: flags.tourFactsCache });
      quote = priceQuote({ ...request, promo, unitPrice: tour.price, rules: flags.pricing });
      tourStartTime = tour.startTime;
    } catch (error) {
      const existing = await this.store.findByKey(userId, request.idempotencyKey);
      if (existing) return replay(existing, request);
      throw error;
    }
    const { booking, created } = await this.store.insert(
      {
        bookingId: `bkg_${randomUUID().replaceAll("-", "")}`,
        userId,
        idempotencyKey: request.idempotencyKey,
        quote,
        tourStartTime,
      },
      this.leaseMs,
    );
    if (!created) return replay(booking, request);
    return this.settle(booking, "request");
  }

  /**
   * One settle attempt: hold the seats, charge, record the outcome. Run by CreateBooking for a new booking
   * (where a sold-out tour removes the booking and fails the call) and by the retries.
   */
  async settle(booking: StoredBooking, runBy: "request" | "retry"): Promise<StoredBooking> {
    const { bookingId } = booking;
    const attempt = this.attemptSettle(booking, runBy);
    this.settling.set(bookingId, attempt);
    let outcome: SettleOutcome = "error";
    try {
      const settled = await attempt;
      outcome = settled.status;
      return settled;
    } catch (error) {
      if (error instanceof FailedPreconditionError) outcome = "sold_out";
      throw error;
    } finally {
      this.metrics.settled(runBy, outcome);
      if (this.settling.get(bookingId) === attempt) this.settling.delete(bookingId);
    }
  }

  private async attemptSettle(booking: StoredBooking, runBy: "request" | "retry"): Promise<StoredBooking> {
    try {
      await this.catalog.reserveSeats(
        { tourId: booking.tourId, seats: booking.travelers, reservationId: booking.bookingId },
        { timeoutMs: this.options.catalogTimeoutMs },
      );
    } catch (error) {
      if (!hasCode(error, Code.FailedPrecondition) && !hasCode(error, Code.NotFound))
        return this.unanswered(booking, "holding the seats", error);
      const reason = `no seats could be held: ${(error as ConnectError).rawMessage}`;
      if (runBy === "request") {
        await this.store.deleteUnsettled(booking.bookingId);
        throw new FailedPreconditionError(reason);
      }
      return this.record(booking, { type: "sold_out", reason });
    }

    let payment: Payment | undefined;
    try {
      payment = (await this.breaker.execute(() => this.charge(booking))).payment;
    } catch (error) {
      return this.unanswered(booking, "charging", error);
    }
    if (!payment) return this.unanswered(booking, "charging", new Error("Charge answered without a payment"));
    if (payment.status === PaymentStatus.DECLINED)
      return this.record(booking, { type: "declined", reason: `payment declined: ${payment.declineReason}` });
    return this.record(booking, { type: "charged", paymentId: payment.paymentId });
  }

  /** CancelBooking: ends the caller's booking and gives back what it held. */
  async cancel(userId: string, bookingId: string): Promise<StoredBooking> {
    const booking = await this.store.apply(bookingId, { type: "cancel" }, { userId, leaseMs: this.leaseMs });
    return booking.work === "compensate" ? this.compensate(booking) : booking;
  }

  /**
   * Gives the booking's seats back, then refunds its charge if it must not keep it. Seats go first so that
   * others can book them even while payment is down. Both steps are idempotent, so a retry after a failure
   * (or a second compensation after a late charge) is safe.
   */
  async compensate(booking: StoredBooking): Promise<StoredBooking> {
    try {
      await this.catalog
        .releaseSeats({ reservationId: booking.bookingId }, { timeoutMs: this.options.catalogTimeoutMs })
        .catch((error: unknown) => {
          // No reservation: the seats were never held, so there is nothing to give back.
          if (!hasCode(error, Code.NotFound)) throw error;
        });
      if (needsRefund(booking)) await this.refund(booking);
      return await this.store.compensated(booking.bookingId, booking.paymentId);
    } catch (error) {
      const delayMs = retryDelayMs(this.options.schedule, booking.attempts);
      this.logger.warn(
        { booking_id: booking.bookingId, attempt: booking.attempts, retry_in_ms: delayMs, err: error },
        "compensation failed; will retry",
      );
      return this.store.retryLater(booking, "compensate", delayMs);
    }
  }

  /**
   * Payment reports a charge for one of our bookings (its PaymentSucceeded event). Mostly the booking already
   * knows it (the saga recorded the charge's answer; when this process did, it remembers, and nothing need be
   * read; when this process's attempt is still recording it, the event waits for that). When it does not,
   * the charge was made by a call whose answer never came back: a pending booking is confirmed; one that has
   * ended meanwhile (given up, or cancelled while pending) must not keep the money, and its compensation
   * refunds it.
   */
  async chargeReported(bookingId: string, paymentId: string): Promise<"known" | "unknown_booking"> {
    // Whatever the attempt's outcome, what the booking holds is decided below.
    await this.settling.get(bookingId)?.catch(() => undefined);
    if (this.recordedCharges.get(bookingId) === paymentId) return "known";
    const booking = await this.store.get(bookingId).catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
    if (!booking) return "unknown_booking";
    if (booking.paymentId !== paymentId) await this.record(booking, { type: "charged", paymentId });
    return "known";
  }

  /** Carries out the work a retry claimed. */
  run(booking: StoredBooking): Promise<StoredBooking> {
    return booking.work === "settle" ? this.settle(booking, "retry") : this.compensate(booking);
  }

  /**
   * Charges the booking's total. Inside CreateBooking the charge also leaves ANSWER_MARGIN_MS of the
   * caller's deadline unused, so that an unanswered charge can still be recorded and the booking returned
   * as PENDING_PAYMENT before the caller gives up.
   */
  private charge(booking: StoredBooking) {
    const { total } = booking.quote;
    const served = currentCallContext()?.deadline.getTime();
    const timeoutMs =
      served === undefined
        ? this.options.chargeTimeoutMs
        : Math.min(this.options.chargeTimeoutMs, served - Date.now() - ANSWER_MARGIN_MS);
    return this.payment.charge(
      {
        idempotencyKey: chargeKey(booking.bookingId),
        bookingId: booking.bookingId,
        amount: { currencyCode: total.currencyCode, minorUnits: BigInt(total.minorUnits) },
      },
      { timeoutMs },
    );
  }

  private async refund(booking: StoredBooking): Promise<void> {
    try {
      await this.payment.refund(
        { paymentId: booking.paymentId, idempotencyKey: refundKey(booking.bookingId) },
        { timeoutMs: this.options.chargeTimeoutMs },
      );
    } catch (error) {
      if (isServiceFailure(error)) throw error;
      // Payment refuses this refund for good (e.g. the payment is unknown or was refunded by another
      // request); retrying cannot change that, so it is reported for a person to look at.
      this.logger.error(
        { booking_id: booking.bookingId, payment_id: booking.paymentId, err: error },
        "refund refused; needs attention",
      );
    }
  }

  /** Records an outcome and, when it leaves a compensation to do, does it at once. */
  private async record(booking: StoredBooking, event: BookingEvent): Promise<StoredBooking> {
    const after = await this.store.apply(booking.bookingId, event, { leaseMs: this.leaseMs, known: booking });
    if (after.paymentId !== "") this.recordedCharges.set(after.bookingId, after.paymentId);
    return after.work === "compensate" ? this.compensate(after) : after;
  }

  /** A step got no answer: try again later, or, with the retry budget spent, fail the booking. */
  private async unanswered(booking: StoredBooking, step: string, error: unknown): Promise<StoredBooking> {
    const failedForGood = afterUnansweredAttempt(this.options.schedule, booking.attempts) === "give_up";
    const delayMs = retryDelayMs(this.options.schedule, booking.attempts);
    this.logger.warn(
      {
        booking_id: booking.bookingId,
        attempt: booking.attempts,
        step,
        ...(failedForGood ? {} : { retry_in_ms: delayMs }),
        err: describe(error),
      },
      failedForGood
        ? "settle attempt unanswered; retry budget spent"
        : "settle attempt unanswered; will retry",
    );
    if (failedForGood) {
      return this.record(booking, {
        type: "retries_exhausted",
        reason: `gave up ${step} after ${booking.attempts} attempts: ${describe(error)}`,
      });
    }
    const later = await this.store.retryLater(booking, "settle", delayMs);
    return later.work === "settle" ? later : this.record(later, { type: "attempt_unanswered" });
  }
}

function replay(booking: StoredBooking, request: BookingRequest): StoredBooking {
  if (!isSameBookingRequest(booking, request)) {
    throw new AlreadyExistsError(
      `idempotency key ${request.idempotencyKey} was already used for booking ${booking.bookingId} ` +
        `(${booking.travelers} travellers on ${booking.tourId}); use a new key for a different booking`,
    );
  }
  return booking;
}
