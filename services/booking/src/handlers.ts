import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type BookingSchema,
  type BookingService,
  BookingStatus as ProtoBookingStatus,
  type QuoteSchema,
} from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { pageTokenCodec, type ServiceHandlers, signedInCaller } from "@tourmesh/platform";
import type { BookingFlagsFor } from "./booking-flags.js";
import type { BookingStatus } from "./booking-state.js";
import type { BookingStore, StoredBooking } from "./booking-store.js";
import {
  checkBookingId,
  checkCreateBooking,
  checkListBookings,
  checkQuoteRequest,
  isBookingPosition,
} from "./bookings.js";
import type { Money, Quote } from "./quote.js";
import type { BookingSaga } from "./saga.js";

const pageTokens = pageTokenCodec(isBookingPosition);

const bookingStatus: Record<BookingStatus, ProtoBookingStatus> = {
  PENDING_PAYMENT: ProtoBookingStatus.PENDING_PAYMENT,
  CONFIRMED: ProtoBookingStatus.CONFIRMED,
  PAYMENT_FAILED: ProtoBookingStatus.PAYMENT_FAILED,
  CANCELLED: ProtoBookingStatus.CANCELLED,
};

const toProtoMoney = (money: Money) => ({
  currencyCode: money.currencyCode,
  minorUnits: BigInt(money.minorUnits),
});

function toProtoQuote(quote: Quote): MessageInitShape<typeof QuoteSchema> {
  return {
    tourId: quote.tourId,
    travelers: quote.travelers,
    unitPrice: toProtoMoney(quote.unitPrice),
    base: toProtoMoney(quote.base),
    discount: toProtoMoney(quote.discount),
    tax: toProtoMoney(quote.tax),
    total: toProtoMoney(quote.total),
    taxRateBasisPoints: quote.taxRateBasisPoints,
    promoCode: quote.promoCode,
    countryCode: quote.countryCode,
  };
}

function toProtoBooking(booking: StoredBooking): MessageInitShape<typeof BookingSchema> {
  return {
    bookingId: booking.bookingId,
    tourId: booking.tourId,
    travelers: booking.travelers,
    quote: toProtoQuote(booking.quote),
    status: bookingStatus[booking.status],
    paymentId: booking.paymentId,
    failureReason: booking.failureReason,
    createTime: timestampFromDate(booking.createTime),
    updateTime: timestampFromDate(booking.updateTime),
  };
}

/**
 * BookingService over gRPC. The caller is the one of the verified JWT (checked with the method's scopes by the
 * server before the handler runs; never a request field); each method checks the request; a booking of another
 * user is NOT_FOUND, as if it did not exist. A quote and a new booking are priced by the rules the feature flags
 * give this caller and country.
 */
export function bookingHandlers(
  store: BookingStore,
  saga: BookingSaga,
  flagsFor: BookingFlagsFor,
  clock: () => Date = () => new Date(),
): ServiceHandlers<typeof BookingService> {
  return {
    async quotePrice(request, context) {
      const caller = signedInCaller(context);
      const checked = checkQuoteRequest(request, clock());
      const quote = await saga.quote(checked, flagsFor(caller, checked.countryCode));
      return { quote: toProtoQuote(quote) };
    },

    async createBooking(request, context) {
      const caller = signedInCaller(context);
      const checked = checkCreateBooking(request);
      const booking = await saga.create(
        caller.userId,
        checked,
        clock(),
        flagsFor(caller, checked.countryCode),
      );
      return { booking: toProtoBooking(booking) };
    },

    async getBooking(request, context) {
      const caller = signedInCaller(context);
      checkBookingId(request.bookingId);
      return { booking: toProtoBooking(await store.get(request.bookingId, caller.userId)) };
    },

    async listBookings(request, context) {
      const caller = signedInCaller(context);
      const pageSize = checkListBookings(request);
      const filters = { userId: caller.userId };
      const after = pageTokens.decode(request.pageToken, filters);
      const { bookings, more } = await store.list(caller.userId, after, pageSize);
      const last = bookings.at(-1);
      return {
        bookings: bookings.map(toProtoBooking),
        nextPageToken: more && last ? pageTokens.encode({ seq: last.seq }, filters) : "",
      };
    },

    async cancelBooking(request, context) {
      const caller = signedInCaller(context);
      checkBookingId(request.bookingId);
      return { booking: toProtoBooking(await saga.cancel(caller.userId, request.bookingId)) };
    },
  };
}
