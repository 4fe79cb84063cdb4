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
import type { CachedTours } from "./cached-tours.js";
import { ALL_PAGES, invalidationsForSeats, tourTag } from "./tour-cache.js";
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

/**
 * CatalogService v1 over gRPC: the operations, shaped as v1's messages, and tour management. The management
 * methods act for the verified caller (their scopes checked by the server): a tour is created as the caller's,
 * and only its operator may edit it or see its occupancy. An edit is invalidated in the cache before it answers.
 */
export function catalogHandlers(
  operations: CatalogOperations,
  store: TourStore,
  tours: CachedTours,
  clock: () => Date = () => new Date(),
): ServiceHandlers<typeof CatalogService> {
  const edited = async (tour: Tour) => {
    await tours.invalidate([tourTag(tour.tourId), ALL_PAGES]);
    return { tour: toProtoTour(tour) };
  };
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

    async createTour(request, context) {
      const caller = signedInCaller(context);
      // The id comes from the request's tour_id (AIP-133), and an etag means nothing for a tour not yet made.
      const { tourId: _tourId, etag: _etag, ...tour } = fromProtoTour(request.tour);
      const draft = checkCreateTour({ tourId: request.tourId, tour }, clock(), newTourId);
      return edited(await store.createTour(draft, caller.userId));
    },

    async updateTour(request, context) {
      const caller = signedInCaller(context);
      const { tourId, etag, changes } = checkUpdateTour(
        { tour: fromProtoTour(request.tour), paths: request.updateMask?.paths ?? [] },
        clock(),
      );
      return edited(await store.updateTour(tourId, { etag, changes }, caller.userId));
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
