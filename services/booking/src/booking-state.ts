/**
 * A booking's life as a small state machine. Plain data and one function; the saga and the store ask it what
 * an event does to a booking and carry that out.
 *
 *   PENDING_PAYMENT ──charged──────────────► CONFIRMED ──cancel──► CANCELLED
 *         ├──declined / payment gave up──► PAYMENT_FAILED
 *         └──sold out / cancel───────────► CANCELLED
 *
 * Besides its status a booking may owe work: `settle` (hold its seats and charge: the saga's forward steps)
 * while PENDING_PAYMENT, and `compensate` (refund the charge if there was one, give the seats back) once it
 * has ended without being CONFIRMED. The work is written with the status in one statement, so it is never
 * lost: what is not finished at once is finished later by the retries (see payment-retries.ts).
 */
import { FailedPreconditionError } from "@tourmesh/platform";

export type BookingStatus = "PENDING_PAYMENT" | "CONFIRMED" | "PAYMENT_FAILED" | "CANCELLED";

export type PendingWork = "settle" | "compensate" | null;

export interface BookingState {
  status: BookingStatus;
  /** The succeeded payment; empty until one is known. */
  paymentId: string;
  /** Why the booking did not go through; empty otherwise. */
  failureReason: string;
  work: PendingWork;
}

/** What can happen to a booking. All but `cancel` are outcomes of a settle attempt (the saga's forward steps). */
export type BookingEvent =
  /** Payment succeeded (a new charge, or the replay of one made earlier). */
  | { type: "charged"; paymentId: string }
  /** Payment declined the charge: a business outcome, final. */
  | { type: "declined"; reason: string }
  /** A settle attempt got no answer (payment or catalog unreachable, too slow, circuit open). */
  | { type: "attempt_unanswered" }
  /** Attempts got no answer until the retry budget ran out. */
  | { type: "retries_exhausted"; reason: string }
  /** The tour had no seats left when the saga tried to hold them. */
  | { type: "sold_out"; reason: string }
  /** The traveller cancels. */
  | { type: "cancel" };

/** The state a booking starts in: written before any other service is called. */
export const newBookingState: BookingState = {
  status: "PENDING_PAYMENT",
  paymentId: "",
  failureReason: "",
  work: "settle",
};

/**
 * What `event` does to a booking in `state`.
 *
 * A settle attempt can still be running when the booking ends (the traveller cancels a pending booking while
 * its charge is in flight). Such an attempt may have held seats or charged after the compensation ran, so
 * its outcome, whatever it is, arms the compensation again (and a charge is recorded so that it is refunded).
 * Compensating twice is harmless: refunds and releases are idempotent.
 */
export function nextState(state: BookingState, event: BookingEvent): BookingState {
  const ended = (status: BookingStatus, failureReason: string): BookingState => ({
    ...state,
    status,
    failureReason,
    work: "compensate",
  });
  const lateOutcome = (paymentId = state.paymentId): BookingState =>
    state.status === "CONFIRMED" ? state : { ...state, paymentId, work: "compensate" };

  if (event.type === "cancel") {
    switch (state.status) {
      case "PENDING_PAYMENT":
      case "CONFIRMED":
        return ended("CANCELLED", "");
      case "CANCELLED":
        return state;
      case "PAYMENT_FAILED":
        throw new FailedPreconditionError(
          "the booking's payment failed, so there is nothing to cancel: nothing was charged and its seats are released",
        );
    }
  }
  if (state.status !== "PENDING_PAYMENT") {
    return lateOutcome(event.type === "charged" ? event.paymentId : state.paymentId);
  }
  switch (event.type) {
    case "charged":
      return { ...state, status: "CONFIRMED", paymentId: event.paymentId, work: null };
    case "declined":
    case "retries_exhausted":
      return ended("PAYMENT_FAILED", event.reason);
    case "sold_out":
      return ended("CANCELLED", event.reason);
    case "attempt_unanswered":
      return state;
  }
}

/** A booking that ended without being confirmed must not keep a charge. */
export function needsRefund(state: BookingState): boolean {
  return state.paymentId !== "" && state.status !== "CONFIRMED";
}
