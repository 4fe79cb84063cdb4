import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type CatalogService,
  type ReservationStatus as ProtoReservationStatus,
  ReservationStatus,
  type TourSchema,
} from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { pageTokenCodec, type ServiceHandlers } from "@tourmesh/platform";
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

/** One page of ListTours, whichever version of the contract asked: the checked filter, the tours, the next token. */
export async function listTourPage(
  store: TourStore,
  request: Parameters<typeof checkListTours>[0] & { pageToken: string },
  destinationField?: string,
): Promise<{ tours: Tour[]; nextPageToken: string }> {
  const { filter, pageSize } = checkListTours(request, destinationField);
  const after = pageTokens.decode(request.pageToken, filter);
  const { tours, more } = await store.listTours(filter, after, pageSize);
  const last = tours.at(-1);
  return {
    tours,
    nextPageToken:
      more && last
        ? pageTokens.encode({ startTime: last.startTime.toISOString(), tourId: last.tourId }, filter)
        : "",
  };
}

/** CatalogService over gRPC: checks each request, asks the store, and shapes the answer. */
export function catalogHandlers(store: TourStore): ServiceHandlers<typeof CatalogService> {
  return {
    async listTours(request) {
      const { tours, nextPageToken } = await listTourPage(store, request);
      return { tours: tours.map(toProtoTour), nextPageToken };
    },

    async getTour(request) {
      checkTourId(request.tourId);
      return { tour: toProtoTour(await store.getTour(request.tourId)) };
    },

    async reserveSeats(request) {
      checkReserveSeats(request);
      const { reservation, seatsAvailable } = await store.reserveSeats(request);
      return { reservation: toProtoReservation(reservation), seatsAvailable };
    },

    async releaseSeats(request) {
      checkReleaseSeats(request);
      return { reservation: toProtoReservation(await store.releaseSeats(request.reservationId)) };
    },
  };
}
