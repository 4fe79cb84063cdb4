/**
 * The payment domain: what a payment is, what makes a charge or refund request valid, and when a replayed
 * or repeated request is the same one. Plain types and functions; no transport, no SQL.
 */
import { AlreadyExistsError, FailedPreconditionError, RequestCheck } from "@tourmesh/platform";

export interface Money {
  /** ISO 4217, upper case. */
  currencyCode: string;
  /** Minor units (cents for EUR); a positive safe integer. */
  minorUnits: number;
}

export type PaymentStatus = "succeeded" | "declined" | "refunded";

export interface Payment {
  paymentId: string;
  /** The charge's idempotency key: at most one payment per key, ever. */
  idempotencyKey: string;
  bookingId: string;
  amount: Money;
  status: PaymentStatus;
  /** Why the charge was declined; empty unless declined. */
  declineReason: string;
  createTime: Date;
  /** The key of the refund that refunded this payment, when refunded. */
  refundIdempotencyKey?: string;
  refundTime?: Date;
}

export interface ChargeCommand {
  idempotencyKey: string;
  bookingId: string;
  amount: Money;
}

export const MAX_KEY_LENGTH = 128;
const MAX_ID_LENGTH = 128;
/** 10 billion in major units: far above any tour, and far below Number.MAX_SAFE_INTEGER. */
export const MAX_AMOUNT_MINOR_UNITS = 1_000_000_000_000;

const currencyCodePattern = /^[A-Z]{3}$/;

export function checkCharge(request: {
  idempotencyKey: string;
  bookingId: string;
  amount?: { currencyCode: string; minorUnits: bigint } | undefined;
}): ChargeCommand {
  const check = new RequestCheck()
    .text("idempotency_key", request.idempotencyKey, { max: MAX_KEY_LENGTH })
    .text("booking_id", request.bookingId, { max: MAX_ID_LENGTH })
    .that(request.amount !== undefined, "amount", "is required");
  const amount = request.amount;
  if (amount) {
    check
      .that(
        currencyCodePattern.test(amount.currencyCode),
        "amount.currency_code",
        "must be 3 upper-case letters (ISO 4217), e.g. EUR",
      )
      .that(amount.minorUnits > 0n, "amount.minor_units", "must be positive")
      .that(
        amount.minorUnits <= BigInt(MAX_AMOUNT_MINOR_UNITS),
        "amount.minor_units",
        `must be at most ${MAX_AMOUNT_MINOR_UNITS}`,
      );
  }
  check.done();
  return {
    idempotencyKey: request.idempotencyKey,
    bookingId: request.bookingId,
    amount: { currencyCode: amount?.currencyCode ?? "", minorUnits: Number(amount?.minorUnits ?? 0n) },
  };
}

export function checkRefund(request: { paymentId: string; idempotencyKey: string }): void {
  new RequestCheck()
    .text("payment_id", request.paymentId, { max: MAX_ID_LENGTH })
    .text("idempotency_key", request.idempotencyKey, { max: MAX_KEY_LENGTH })
    .done();
}

export function checkPaymentId(paymentId: string): void {
  new RequestCheck().text("payment_id", paymentId, { max: MAX_ID_LENGTH }).done();
}

/**
 * A charge key names one charge. Replaying it with the same booking and amount returns the first payment;
 * reusing it for anything else is a client bug, refused rather than silently answered with another charge.
 */
export function replayedCharge(existing: Payment, command: ChargeCommand): Payment {
  const same =
    existing.bookingId === command.bookingId &&
    existing.amount.currencyCode === command.amount.currencyCode &&
    existing.amount.minorUnits === command.amount.minorUnits;
  if (!same) {
    throw new AlreadyExistsError(
      `idempotency key ${command.idempotencyKey} was already used to charge ${formatMoney(existing.amount)} ` +
        `for booking ${existing.bookingId}; use a new key for a different charge`,
    );
  }
  return existing;
}

/**
 * What a refund request does to a payment: refund it, or replay the refund that already happened under the
 * same key. Payments are refunded in full, once.
 */
export function refundDecision(payment: Payment, idempotencyKey: string): "refund" | "replay" {
  switch (payment.status) {
    case "succeeded":
      return "refund";
    case "declined":
      throw new FailedPreconditionError(
        `payment ${payment.paymentId} was declined; nothing was charged, so nothing can be refunded`,
      );
    case "refunded":
      if (payment.refundIdempotencyKey === idempotencyKey) return "replay";
      throw new FailedPreconditionError(
        `payment ${payment.paymentId} was already refunded by another request (a different idempotency key)`,
      );
  }
}

export function formatMoney(money: Money): string {
  return `${money.currencyCode} ${money.minorUnits} (minor units)`;
}
