/**
 * What payment tells the rest of the system: one event per new charge (succeeded or declined) and per
 * refund, recorded in the payment's outbox with the change (see PaymentStore).
 */
import type { DescMessage } from "@bufbuild/protobuf";
import {
  PaymentFailedSchema,
  PaymentRefundedSchema,
  PaymentSucceededSchema,
} from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import type { NewEvent } from "@tourmesh/platform";
import type { Payment } from "./payments.js";

const about = (payment: Payment) => ({
  paymentId: payment.paymentId,
  bookingId: payment.bookingId,
  amount: { currencyCode: payment.amount.currencyCode, minorUnits: BigInt(payment.amount.minorUnits) },
});

/** PaymentSucceeded (subject payment.succeeded) or PaymentFailed (payment.failed) for a new charge. */
export function chargeEvent(payment: Payment): NewEvent<DescMessage> {
  return payment.status === "declined"
    ? {
        subject: "payment.failed",
        schema: PaymentFailedSchema,
        message: { ...about(payment), reason: payment.declineReason },
        aggregateId: payment.paymentId,
      }
    : {
        subject: "payment.succeeded",
        schema: PaymentSucceededSchema,
        message: about(payment),
        aggregateId: payment.paymentId,
      };
}

/** PaymentRefunded (subject payment.refunded). */
export function refundEvent(payment: Payment): NewEvent<DescMessage> {
  return {
    subject: "payment.refunded",
    schema: PaymentRefundedSchema,
    message: about(payment),
    aggregateId: payment.paymentId,
  };
}
