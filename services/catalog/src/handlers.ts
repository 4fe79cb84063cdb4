import { randomUUID } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type CatalogService,
  type ReservationStatus as ProtoReservationStatus,
  type Tour as ProtoTour,
  ReservationStatus,
  type TourSchema,
} from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import {
  PermissionDeniedError,
  pageTokenCodec,
  type ServiceHandlers,
  signedInCaller,
} from "@tourmesh/platform";
import type { TourStore } from "./tour-store.js";
import {
  checkCreateTour,
  checkListTours,
  checkReleaseSeats,
  checkReserveSeats,
  checkTourId,
  checkUpdateTour,
  etagOf,
  isTourPosition,
  type Reservation,
  type Tour,
} from "./tours.js";

const pageTokens = pageTokenCodec(isTourPosition);

function toProtoTour({ revision, ...tour }: Tour): MessageInitShape<typeof TourSchema> {
  return {
    ...tour,
    etag: etagOf({ revision }),
    startTime: timestampFromDate(tour.startTime),
    price: { currencyCode: tour.price.currencyCode, minorUnits: BigInt(tour.price.minorUnits) },
  };
}

/** The fields of a request's tour as the domain reads them; a message field left out is undefined. */
function fromProtoTour(tour: ProtoTour | undefined) {
  return {
    tourId: tour?.tourId ?? "",
    etag: tour?.etag ?? "",
    title: tour?.title,
    description: tour?.description,
    destination: tour?.destination,
    startTime: tour?.startTime && timestampDate(tour.startTime),
    durationMinutes: tour?.durationMinutes,
    price: tour?.price && {
      currencyCode: tour.price.currencyCode,
      minorUnits: Number(tour.price.minorUnits),
    },
    capacity: tour?.capacity,
  };
}

/** A tour id for a tour created without one, e.g. tour_5e0c8a2f41b7. */
const newTourId = () => `tour_${randomUUID().replaceAll("-", "").slice(0, 12)}`;

const reservationStatus: Record<Reservation["status"], ProtoReservationStatus> = {
  held: ReservationStatus.HELD,
  released: ReservationStatus.RELEASED,
};

function toProtoReservation(reservation: Reservation) {
  return { ...reservation, status: reservationStatus[reservation.status] };
}

/**
 * CatalogService over gRPC: checks each request, asks the store, and shapes the answer. The tour management
 * methods act for the verified caller (their scopes checked by the server): a tour is created as the caller's,
 * and only its operator may edit it or see its occupancy.
 */
export function catalogHandlers(
  store: TourStore,
  clock: () => Date = () => new Date(),
): ServiceHandlers<typeof CatalogService> {
  return {
    async listTours(request) {
      const { filter, pageSize } = checkListTours(request);
      const after = pageTokens.decode(request.pageToken, filter);
      const { tours, more } = await store.listTours(filter, after, pageSize);
      const last = tours.at(-1);
      return {
        tours: tours.map(toProtoTour),
        nextPageToken:
          more && last
            ? pageTokens.encode({ startTime: last.startTime.toISOString(), tourId: last.tourId }, filter)
            : "",
      };
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

    async createTour(request, context) {
      const caller = signedInCaller(context);
      // The id comes from the request's tour_id (AIP-133), and an etag means nothing for a tour not yet made.
      const { tourId: _tourId, etag: _etag, ...tour } = fromProtoTour(request.tour);
      const draft = checkCreateTour({ tourId: request.tourId, tour }, clock(), newTourId);
      return { tour: toProtoTour(await store.createTour(draft, caller.userId)) };
    },

    async updateTour(request, context) {
      const caller = signedInCaller(context);
      const { tourId, etag, changes } = checkUpdateTour(
        { tour: fromProtoTour(request.tour), paths: request.updateMask?.paths ?? [] },
        clock(),
      );
      return { tour: toProtoTour(await store.updateTour(tourId, { etag, changes }, caller.userId)) };
    },

    async getTourOccupancy(request, context) {
      const caller = signedInCaller(context);
      checkTourId(request.tourId);
      const { operatorId, ...occupancy } = await store.occupancy(request.tourId);
      if (operatorId !== caller.userId) {
        throw new PermissionDeniedError(`tour ${request.tourId} is not one of yours`);
      }
      return { occupancy: { tourId: request.tourId, ...occupancy } };
    },
  };
}
