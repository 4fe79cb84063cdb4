import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { PaymentFaultService } from "@tourmesh/gen/tourmesh/payment/v1/payment_faults_pb.js";
import {
  type PaymentSchema,
  type PaymentService,
  PaymentStatus,
} from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { type ServiceHandlers, UnavailableError } from "@tourmesh/platform";
import { chargeOutcome, type FaultSettings } from "./faults.js";
import type { PaymentStore } from "./payment-store.js";
import { checkCharge, checkPaymentId, checkRefund, type Payment } from "./payments.js";

const paymentStatus: Record<Payment["status"], PaymentStatus> = {
  succeeded: PaymentStatus.SUCCEEDED,
  declined: PaymentStatus.DECLINED,
  refunded: PaymentStatus.REFUNDED,
};

function toProtoPayment(payment: Payment): MessageInitShape<typeof PaymentSchema> {
  return {
    paymentId: payment.paymentId,
    bookingId: payment.bookingId,
    amount: { currencyCode: payment.amount.currencyCode, minorUnits: BigInt(payment.amount.minorUnits) },
    status: paymentStatus[payment.status],
    declineReason: payment.declineReason,
    createTime: timestampFromDate(payment.createTime),
    ...(payment.refundTime ? { refundTime: timestampFromDate(payment.refundTime) } : {}),
  };
}

/**
 * The injected faults every PaymentService call goes through first: an outage fails it at once, before
 * anything is read or written; latency delays it. The delay is not cut short when the caller gives up: a
 * slow processor still charges the card, which is exactly the case charge idempotency keys exist for.
 */
async function underFaults(faults: FaultSettings): Promise<void> {
  const { outage, latencyMs } = faults.get();
  if (outage) throw new UnavailableError("the payment processor is unavailable (injected outage)");
  if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
}

/** PaymentService over gRPC: injected faults first, then the request check, then the store. */
export function paymentHandlers(
  store: PaymentStore,
  faults: FaultSettings,
): ServiceHandlers<typeof PaymentService> {
  return {
    async charge(request) {
      await underFaults(faults);
      const command = checkCharge(request);
      const payment = await store.charge(command, chargeOutcome(faults.get(), command.idempotencyKey));
      return { payment: toProtoPayment(payment) };
    },

    async refund(request) {
      await underFaults(faults);
      checkRefund(request);
      return { payment: toProtoPayment(await store.refund(request.paymentId, request.idempotencyKey)) };
    },

    async getPayment(request) {
      await underFaults(faults);
      checkPaymentId(request.paymentId);
      return { payment: toProtoPayment(await store.getPayment(request.paymentId)) };
    },
  };
}

/** PaymentFaultService: reads and changes the faults of this process. */
export function paymentFaultHandlers(faults: FaultSettings): ServiceHandlers<typeof PaymentFaultService> {
  return {
    async getFaults() {
      return { faults: faults.get() };
    },

    async setFaults(request) {
      return {
        faults: faults.update({
          declineRate: request.declineRate,
          latencyMs: request.latencyMs,
          outage: request.outage,
          seed: request.seed,
        }),
      };
    },
  };
}
