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
 * What every version of the contract does, whichever asked: checks each request, reads through the cache, and
 * invalidates a change in the cache before its answer returns, so that its caller reads its own write.
 */
export function catalogOperations(store: TourStore, tours: CachedTours) {
  return {
    /** One page of ListTours: the tours and the next token; `destinationField` names the field in violations. */
    async listTours(
      request: Parameters<typeof checkListTours>[0] & { pageToken: string },
      destinationField?: string,
    ): Promise<{ tours: Tour[]; nextPageToken: string }> {
      const { filter, pageSize } = checkListTours(request, destinationField);
      const after = pageTokens.decode(request.pageToken, filter);
      const page = await tours.listTours(filter, after, pageSize);
      const last = page.tours.at(-1);
      return {
        tours: page.tours,
        nextPageToken:
          page.more && last
            ? pageTokens.encode({ startTime: last.startTime.toISOString(), tourId: last.tourId }, filter)
            : "",
      };
    },

    async getTour(tourId: string): Promise<Tour> {
      checkTourId(tourId);
      return tours.getTour(tourId);
    },

    async reserveSeats(
      request: Parameters<typeof checkReserveSeats>[0] & Parameters<TourStore["reserveSeats"]>[0],
    ) {
      checkReserveSeats(request);
      const { reservation, seatsAvailable } = await store.reserveSeats(request);
      await tours.invalidate(
        invalidationsForSeats(request.tourId, seatsAvailable + request.seats, seatsAvailable),
      );
      return { reservation, seatsAvailable };
    },

    async releaseSeats(request: { reservationId: string }) {
      checkReleaseSeats(request);
      const { reservation, seatsAvailable } = await store.releaseSeats(request.reservationId);
      if (seatsAvailable !== undefined)
        await tours.invalidate(
          invalidationsForSeats(reservation.tourId, seatsAvailable - reservation.seats, seatsAvailable),
        );
      return reservation;
    },
  };
}

export type CatalogOperations = ReturnType<typeof catalogOperations>;

/** CatalogService v1 over gRPC: the operations, shaped as v1's messages. */
export function catalogHandlers(operations: CatalogOperations): ServiceHandlers<typeof CatalogService> {
  return {
    async listTours(request) {
      const { tours, nextPageToken } = await operations.listTours(request);
      return { tours: tours.map(toProtoTour), nextPageToken };
    },

    async getTour(request) {
      return { tour: toProtoTour(await operations.getTour(request.tourId)) };
    },

    async reserveSeats(request) {
      const { reservation, seatsAvailable } = await operations.reserveSeats(request);
      return { reservation: toProtoReservation(reservation), seatsAvailable };
    },

    async releaseSeats(request) {
      return { reservation: toProtoReservation(await operations.releaseSeats(request)) };
    },
  };
}
