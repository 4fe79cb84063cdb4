import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { PaymentFaultService } from "@tourmesh/gen/tourmesh/payment/v1/payment_faults_pb.js";
import {
  type PaymentSchema,
  type PaymentService,
  PaymentStatus,
} from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { type Followed, type ServiceHandlers, UnavailableError } from "@tourmesh/platform";
import {
  chargeOutcome,
  type FaultSettings,
  type FleetFaults,
  faultsInForce,
  type PaymentFaults,
} from "./faults.js";
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
 * Where the faults in force come from: this process's own settings, and the fleet's flags (followed: their
 * rules see nothing of a call, so they are evaluated when the flag file changes, not on every call).
 */
export interface FaultSources {
  own: FaultSettings;
  fleet: Followed<FleetFaults>;
}

const currentFaults = ({ own, fleet }: FaultSources) => faultsInForce(own.get(), fleet.current());

/**
 * The injected faults every PaymentService call goes through first: an outage fails it at once, before
 * anything is read or written; latency delays it. The delay is not cut short when the caller gives up: a
 * slow processor still charges the card, which is exactly the case charge idempotency keys exist for.
 * Returns the faults, for the decline decision.
 */
async function underFaults(sources: FaultSources): Promise<PaymentFaults> {
  const faults = currentFaults(sources);
  if (faults.outage) throw new UnavailableError("the payment processor is unavailable (injected outage)");
  if (faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
  return faults;
}

/** PaymentService over gRPC: injected faults first, then the request check, then the store. */
export function paymentHandlers(
  store: PaymentStore,
  faults: FaultSources,
): ServiceHandlers<typeof PaymentService> {
  return {
    async charge(request) {
      const inForce = await underFaults(faults);
      const command = checkCharge(request);
      const payment = await store.charge(command, chargeOutcome(inForce, command.idempotencyKey));
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

/**
 * PaymentFaultService: changes this process's own faults, and answers with the faults in force (its own
 * combined with the fleet's flags).
 */
export function paymentFaultHandlers(faults: FaultSources): ServiceHandlers<typeof PaymentFaultService> {
  return {
    async getFaults() {
      return { faults: currentFaults(faults) };
    },

    async setFaults(request) {
      faults.own.update({
        declineRate: request.declineRate,
        latencyMs: request.latencyMs,
        outage: request.outage,
        seed: request.seed,
      });
      return { faults: currentFaults(faults) };
    },
  };
}
