import { randomUUID } from "node:crypto";
import {
  AlreadyExistsError,
  changeWithEvents,
  inTransaction,
  NotFoundError,
  type Pool,
  recordEvent,
} from "@tourmesh/platform";
import type { ChargeOutcome } from "./faults.js";
import { chargeEvent, refundEvent } from "./payment-events.js";
import {
  type ChargeCommand,
  type Payment,
  type PaymentStatus,
  refundDecision,
  replayedCharge,
} from "./payments.js";

interface PaymentRow {
  payment_id: string;
  idempotency_key: string;
  booking_id: string;
  currency: string;
  amount_minor: string;
  status: PaymentStatus;
  decline_reason: string;
  refund_idempotency_key: string | null;
  created_at: Date;
  refunded_at: Date | null;
}

const paymentColumns = `payment_id, idempotency_key, booking_id, currency, amount_minor, status, decline_reason,
  refund_idempotency_key, created_at, refunded_at`;

function toPayment(row: PaymentRow): Payment {
  return {
    paymentId: row.payment_id,
    idempotencyKey: row.idempotency_key,
    bookingId: row.booking_id,
    amount: { currencyCode: row.currency, minorUnits: Number(row.amount_minor) },
    status: row.status,
    declineReason: row.decline_reason,
    createTime: row.created_at,
    ...(row.refund_idempotency_key === null ? {} : { refundIdempotencyKey: row.refund_idempotency_key }),
    ...(row.refunded_at === null ? {} : { refundTime: row.refunded_at }),
  };
}

const UNIQUE_VIOLATION = "23505";

/**
 * The payments table: one row per charge key, refunded in place. Each new charge and each refund records its
 * event in the payment's outbox in the same transaction.
 */
export class PaymentStore {
  constructor(private readonly db: Pool) {}

  /**
   * Records a charge at most once per idempotency key. The insert and the unique key decide in one statement
   * which of several concurrent charges with a key wins, and that statement records the winner's event; the
   * others read and replay the winner (and record no event: a replay is not a new charge).
   */
  async charge(command: ChargeCommand, outcome: ChargeOutcome): Promise<Payment> {
    const charge: Payment = {
      paymentId: `pay_${randomUUID().replaceAll("-", "")}`,
      idempotencyKey: command.idempotencyKey,
      bookingId: command.bookingId,
      amount: command.amount,
      status: outcome.declined ? "declined" : "succeeded",
      declineReason: outcome.declined ? outcome.reason : "",
      createTime: new Date(),
    };
    const [row] = await changeWithEvents<PaymentRow>(
      this.db,
      `INSERT INTO payments (payment_id, idempotency_key, booking_id, currency, amount_minor, status,
         decline_reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING ${paymentColumns}`,
      [
        charge.paymentId,
        charge.idempotencyKey,
        charge.bookingId,
        charge.amount.currencyCode,
        charge.amount.minorUnits,
        charge.status,
        charge.declineReason,
      ],
      [chargeEvent(charge)],
    );
    const charged = row && toPayment(row);
    if (charged) return charged;
    const existing = await this.db.query<PaymentRow>(
      `SELECT ${paymentColumns} FROM payments WHERE idempotency_key = $1`,
      [command.idempotencyKey],
    );
    const existingRow = existing.rows[0];
    if (!existingRow) throw new Error(`charge key ${command.idempotencyKey} conflicted but cannot be read`);
    return replayedCharge(toPayment(existingRow), command);
  }

  async getPayment(paymentId: string): Promise<Payment> {
    const { rows } = await this.db.query<PaymentRow>(
      `SELECT ${paymentColumns} FROM payments WHERE payment_id = $1`,
      [paymentId],
    );
    const row = rows[0];
    if (!row) throw paymentNotFound(paymentId);
    return toPayment(row);
  }

  /** Refunds a payment in full, once; the row lock serialises concurrent refunds of one payment. */
  async refund(paymentId: string, idempotencyKey: string): Promise<Payment> {
    return inTransaction(this.db, async (client) => {
      const { rows } = await client.query<PaymentRow>(
        `SELECT ${paymentColumns} FROM payments WHERE payment_id = $1 FOR UPDATE`,
        [paymentId],
      );
      const row = rows[0];
      if (!row) throw paymentNotFound(paymentId);
      const payment = toPayment(row);
      if (refundDecision(payment, idempotencyKey) === "replay") return payment;
      const updated = await client
        .query<PaymentRow>(
          `UPDATE payments SET status = 'refunded', refund_idempotency_key = $2, refunded_at = now()
            WHERE payment_id = $1
            RETURNING ${paymentColumns}`,
          [paymentId, idempotencyKey],
        )
        .catch((error: { code?: string }) => {
          if (error.code !== UNIQUE_VIOLATION) throw error;
          throw new AlreadyExistsError(
            `refund idempotency key ${idempotencyKey} was already used to refund another payment`,
          );
        });
      const refunded = toPayment(updated.rows[0] as PaymentRow);
      await recordEvent(client, refundEvent(refunded));
      return refunded;
    });
  }
}

const paymentNotFound = (paymentId: string) =>
  new NotFoundError(`payment ${paymentId} does not exist`, "payment_id");
