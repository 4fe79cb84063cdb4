import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type CatalogService,
  type ReservationStatus as ProtoReservationStatus,
  ReservationStatus,
  type TourSchema,
} from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { pageTokenCodec, type ServiceHandlers } from "@tourmesh/platform";
import type { CachedTours } from "./cached-tours.js";
import { invalidationsForSeats } from "./tour-cache.js";
import type { TourStore } from "./tour-store.js";
import {
  checkListTours,
  checkReleaseSeats,
  checkReserveSeats,
  checkTourId,
  isTourPosition,
  type Reservation,
  type Tour,
} from "./tours.js";

const pageTokens = pageTokenCodec(isTourPosition);

function toProtoTour(tour: Tour): MessageInitShape<typeof TourSchema> {
  return {
    ...tour,
    startTime: timestampFromDate(tour.startTime),
    price: { currencyCode: tour.price.currencyCode, minorUnits: BigInt(tour.price.minorUnits) },
  };
}

const reservationStatus: Record<Reservation["status"], ProtoReservationStatus> = {
  held: ReservationStatus.HELD,
  released: ReservationStatus.RELEASED,
};

function toProtoReservation(reservation: Reservation) {
  return { ...reservation, status: reservationStatus[reservation.status] };
}

/**
 * CatalogService over gRPC: checks each request, asks the store (reads through the cache), and shapes the
 * answer. A change is invalidated in the cache before its answer returns, so its caller reads its own write.
 */
export function catalogHandlers(
  store: TourStore,
  tours: CachedTours,
): ServiceHandlers<typeof CatalogService> {
  return {
    async listTours(request) {
      const { filter, pageSize } = checkListTours(request);
      const after = pageTokens.decode(request.pageToken, filter);
      const page = await tours.listTours(filter, after, pageSize);
      const last = page.tours.at(-1);
      return {
        tours: page.tours.map(toProtoTour),
        nextPageToken:
          page.more && last
            ? pageTokens.encode({ startTime: last.startTime.toISOString(), tourId: last.tourId }, filter)
            : "",
      };
    },

    async getTour(request) {
      checkTourId(request.tourId);
      return { tour: toProtoTour(await tours.getTour(request.tourId)) };
    },

    async reserveSeats(request) {
      checkReserveSeats(request);
      const { reservation, seatsAvailable } = await store.reserveSeats(request);
      await tours.invalidate(
        invalidationsForSeats(request.tourId, seatsAvailable + request.seats, seatsAvailable),
      );
      return { reservation: toProtoReservation(reservation), seatsAvailable };
    },

    async releaseSeats(request) {
      checkReleaseSeats(request);
      const { reservation, seatsAvailable } = await store.releaseSeats(request.reservationId);
      if (seatsAvailable !== undefined)
        await tours.invalidate(
          invalidationsForSeats(reservation.tourId, seatsAvailable - reservation.seats, seatsAvailable),
        );
      return { reservation: toProtoReservation(reservation) };
    },
  };
}
